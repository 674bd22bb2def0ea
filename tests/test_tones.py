"""Tone regions: k-means levels ordered by lightness, seeded, cleaned of specks."""

from __future__ import annotations

import numpy as np
import pytest

from aikon.tones import merge_small_regions, rgb_to_lab, segment_tones

GREYS = (230, 170, 100, 30)  # lightest first


def four_patches(size: int = 40) -> np.ndarray:
    """A 2x2 grid of grey patches, shuffled so the order is not the raster order."""
    image = np.zeros((2 * size, 2 * size, 3), np.uint8)
    image[:size, :size] = GREYS[2]
    image[:size, size:] = GREYS[0]
    image[size:, :size] = GREYS[3]
    image[size:, size:] = GREYS[1]
    return image


def expected_levels(size: int = 40) -> np.ndarray:
    labels = np.zeros((2 * size, 2 * size), np.int32)
    labels[:size, :size] = 2
    labels[:size, size:] = 0
    labels[size:, :size] = 3
    labels[size:, size:] = 1
    return labels


def load_rgb(path) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_four_grey_patches_give_four_levels_in_lightness_order():
    seg = segment_tones(four_patches(), levels=4, seed=3)
    assert seg.levels == 4
    np.testing.assert_array_equal(seg.labels, expected_levels())
    assert np.all(np.diff(seg.level_lightness) < 0), seg.level_lightness
    # L* of the grey patches, lightest first.
    expected_l = rgb_to_lab(np.array([[[g, g, g] for g in GREYS]], np.uint8))[0, :, 0]
    np.testing.assert_allclose(seg.level_lightness, expected_l, atol=1.0)


def test_levels_follow_tone_more_than_hue():
    # Two hues at the same lightness and one darker patch: with 2 levels the
    # split must be by tone, grouping the two hues together.
    image = np.zeros((30, 90, 3), np.uint8)
    image[:, :30] = (200, 120, 120)  # pinkish
    image[:, 30:60] = (120, 150, 200)  # bluish, about the same L*
    image[:, 60:] = (40, 40, 40)
    l_values = rgb_to_lab(image[0, [0, 45, 80]][None])[0, :, 0]
    assert abs(l_values[0] - l_values[1]) < 8  # the premise of the test
    seg = segment_tones(image, levels=2, seed=0, min_region_px=0)
    assert (seg.labels[:, :60] == 0).all()
    assert (seg.labels[:, 60:] == 1).all()


def test_same_seed_same_labels_and_different_input_untouched(sample_photo):
    image = load_rgb(sample_photo)
    before = image.copy()
    first = segment_tones(image, levels=5, seed=7)
    second = segment_tones(image, levels=5, seed=7)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.level_lightness, second.level_lightness)
    np.testing.assert_array_equal(image, before)


def test_astronaut_levels_are_ordered_and_all_used(sample_photo):
    image = load_rgb(sample_photo)
    seg = segment_tones(image, levels=5, seed=0)
    assert seg.labels.shape == image.shape[:2]
    assert seg.labels.min() == 0 and seg.labels.max() == 4
    assert np.all(np.diff(seg.level_lightness) < 0)
    fractions = seg.pixel_fraction()
    assert fractions.sum() == pytest.approx(1.0)
    assert (fractions > 0.02).all(), fractions


def test_specks_are_merged_into_the_surrounding_level():
    image = np.full((60, 60, 3), 220, np.uint8)
    image[30:, :] = 40
    image[10:13, 10:13] = 40  # a 9-pixel dark speck in the light half
    image[45:47, 45:47] = 220  # a 4-pixel light speck in the dark half
    seg = segment_tones(image, levels=2, seed=0, min_region_px=20, smooth=False)
    expected = np.zeros((60, 60), np.int32)
    expected[30:, :] = 1
    np.testing.assert_array_equal(seg.labels, expected)
    kept = segment_tones(image, levels=2, seed=0, min_region_px=0, smooth=False)
    assert kept.labels[11, 11] == 1 and kept.labels[45, 45] == 0


def test_merge_small_regions_does_not_modify_its_input():
    labels = np.zeros((20, 20), np.int32)
    labels[5, 5] = 1
    copy = labels.copy()
    merged = merge_small_regions(labels, 4, levels=2)
    np.testing.assert_array_equal(labels, copy)
    assert (merged == 0).all()


def test_mask_limits_the_labelled_pixels():
    image = four_patches()
    mask = np.zeros(image.shape[:2], bool)
    mask[:, 40:] = True  # only the two right patches (lightest and second)
    seg = segment_tones(image, levels=2, seed=0, mask=mask)
    assert (seg.labels[:, :40] == -1).all()
    assert (seg.labels[:40, 40:] == 0).all()
    assert (seg.labels[40:, 40:] == 1).all()


def test_flat_image_gives_fewer_levels_and_grey_input_is_accepted():
    seg = segment_tones(np.full((16, 16), 128, np.uint8), levels=5)
    assert seg.levels == 1
    assert (seg.labels == 0).all()


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        segment_tones(four_patches(), levels=1)
    with pytest.raises(ValueError):
        segment_tones(four_patches().astype(np.float32), levels=3)
    with pytest.raises(ValueError):
        segment_tones(four_patches(), levels=3, mask=np.zeros((80, 80), bool))


def test_rgb_to_lab_matches_known_values():
    lab = rgb_to_lab(np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], np.uint8))[0]
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=0.2)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=0.2)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.3)
