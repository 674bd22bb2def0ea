"""Strokes: hatching clipped to regions with density rising with darkness; salient lines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aikon.strokes import (
    hatch_angles_for_levels,
    hatch_mask,
    hatch_regions,
    hatch_spacing_for_levels,
    ink_length,
    salient_lines,
    smooth_polyline,
    trace_skeleton,
)


def dilate1(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1)
    out = np.zeros_like(mask)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out |= padded[1 + dy : 1 + dy + mask.shape[0], 1 + dx : 1 + dx + mask.shape[1]]
    return out


def points_inside(paths, mask: np.ndarray) -> bool:
    """Every vertex of every path falls in the mask dilated by one pixel."""
    grown = dilate1(mask)
    pts = np.concatenate(paths)
    cols = np.round(pts[:, 0]).astype(int)
    rows = np.round(pts[:, 1]).astype(int)
    if cols.min() < 0 or rows.min() < 0 or cols.max() >= mask.shape[1] or rows.max() >= mask.shape[0]:
        return False
    return bool(grown[rows, cols].all())


def segments_inside(paths, mask: np.ndarray, step: float = 0.25) -> bool:
    """Every point along every segment (sampled every ``step`` px) is in the one-pixel-dilated mask."""
    grown = dilate1(mask)
    for path in paths:
        for p, q in zip(path[:-1], path[1:]):
            n = max(2, int(math.ceil(np.hypot(*(q - p)) / step)) + 1)
            t = np.linspace(0, 1, n)[:, None]
            pts = p + (q - p) * t
            r = np.round(pts[:, 1]).astype(int)
            c = np.round(pts[:, 0]).astype(int)
            if not grown[r, c].all():
                return False
    return True


def stripes(levels: int = 4, width: int = 60, height: int = 90) -> np.ndarray:
    """Labels with one vertical band per level, 0 at the left."""
    labels = np.zeros((height, width * levels), np.int32)
    for level in range(levels):
        labels[:, level * width : (level + 1) * width] = level
    return labels


def directions(paths) -> list[float]:
    """Distinct directions (degrees mod 180, merged within 2 degrees) of the segments longer than 5 px."""
    found: list[float] = []
    for path in paths:
        d = np.diff(path, axis=0)
        long = np.hypot(d[:, 0], d[:, 1]) > 5
        for dx, dy in d[long]:
            angle = math.degrees(math.atan2(dy, dx)) % 180.0
            if not any(min(abs(angle - f), 180 - abs(angle - f)) < 2 for f in found):
                found.append(angle)
    return found


# --- spacing and angles ---------------------------------------------------------


def test_default_spacing_decreases_with_darkness_and_respects_the_pen():
    spacing = hatch_spacing_for_levels(5, 1.2)
    assert math.isinf(spacing[0])
    assert np.all(np.diff(spacing[1:]) < 0)
    assert spacing[-1] >= 1.2
    same_tone = hatch_spacing_for_levels(5, 1.0, level_lightness=[90, 60, 59.5, 30, 5])
    assert np.all(np.diff(same_tone[1:]) < 0)
    # Levels 2 and 3 of almost the same tone are spaced closer together than by rank alone.
    by_rank = hatch_spacing_for_levels(5, 1.0)
    assert same_tone[1] / same_tone[2] < by_rank[1] / by_rank[2]


def test_default_angles_differ_per_level_and_darkest_is_crossed():
    angles = hatch_angles_for_levels(5)
    assert angles[0] == ()
    singles = [a[0] for a in angles[1:]]
    assert len(set(singles)) == 4
    assert len(angles[-1]) == 2 and abs(angles[-1][1] - angles[-1][0]) % 180 == 90


# --- clipping -------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 90.0, 123.0])
def test_hatch_lines_stay_inside_a_disc_and_reach_its_edge(angle):
    yy, xx = np.mgrid[:80, :80]
    disc = np.hypot(xx - 40, yy - 38) <= 25
    paths = hatch_mask(disc, spacing_px=3.0, angle_deg=angle, link=False)
    assert paths
    assert points_inside(paths, disc)
    assert segments_inside(paths, disc)
    # Exact clipping: segment ends lie on the pixel-edge outline of the
    # digitised disc (pixel centres up to radius 25, so its staircase edge
    # runs between radius ~24.5 and ~26), not inside it.
    ends = np.concatenate(paths)
    radius = np.hypot(ends[:, 0] - 40, ends[:, 1] - 38)
    assert radius.min() > 24.4 and radius.max() < 26.0, (radius.min(), radius.max())
    # and each end sits between an inside pixel and an outside one.
    for x, y in ends:
        near = disc[int(math.floor(y)) : int(math.floor(y)) + 2, int(math.floor(x)) : int(math.floor(x)) + 2]
        assert near.any() and not near.all()


def test_hatch_of_a_rectangle_has_exact_ends_and_spacing():
    mask = np.zeros((40, 50), bool)
    mask[10:30, 5:45] = True  # pixels 5..44 -> edges at x = 4.5 and 44.5
    paths = hatch_mask(mask, spacing_px=4.0, angle_deg=0.0, link=False)
    ys = sorted(p[0, 1] for p in paths)
    np.testing.assert_allclose(ys, [12, 16, 20, 24, 28])
    for p in paths:
        np.testing.assert_allclose(sorted(p[:, 0]), [4.5, 44.5], atol=0.05)


def test_every_level_is_hatched_inside_its_own_region():
    yy, xx = np.mgrid[:120, :160]
    labels = np.zeros((120, 160), np.int32)
    labels[np.hypot(xx - 50, yy - 60) < 40] = 1
    labels[np.hypot(xx - 50, yy - 60) < 20] = 3
    labels[20:100, 100:150] = 2
    hatch = hatch_regions(labels, [95.0, 70.0, 45.0, 10.0], pen_width_px=1.0)
    for level in (1, 2, 3):
        assert hatch[level]
        assert points_inside(hatch[level], labels == level)
        assert segments_inside(hatch[level], labels == level)


# --- tone ----------------------------------------------------------------------


def test_density_rises_strictly_with_darkness_lightest_empty_darkest_crossed():
    labels = stripes(levels=5)
    lightness = [92.0, 75.0, 55.0, 35.0, 12.0]
    hatch = hatch_regions(labels, lightness, pen_width_px=1.0)
    assert hatch[0] == []
    area = np.bincount(labels.ravel())
    density = [ink_length(hatch[level]) / area[level] for level in range(5)]
    assert density[0] == 0
    assert all(b > a for a, b in zip(density, density[1:])), density
    # Darkest level: two hatch directions 90 degrees apart; others: one.
    hatch = hatch_regions(labels, lightness, pen_width_px=1.0, link=False)
    crossed = directions(hatch[4])
    assert len(crossed) == 2
    a, b = sorted(crossed)
    assert b - a == pytest.approx(90, abs=0.01)
    for level in (1, 2, 3):
        assert len(directions(hatch[level])) == 1
    # Each shaded level has its own direction.
    singles = [directions(hatch[level])[0] for level in (1, 2, 3)]
    assert min(abs(p - q) for i, p in enumerate(singles) for q in singles[i + 1 :]) > 20


def test_spacing_below_pen_width_is_refused():
    with pytest.raises(ValueError):
        hatch_regions(stripes(2), [80.0, 20.0], pen_width_px=2.0, spacing_px_for_level=[np.inf, 1.5])


def test_labels_are_not_modified():
    labels = stripes(3)
    copy = labels.copy()
    hatch_regions(labels, [90.0, 50.0, 10.0], pen_width_px=1.0)
    np.testing.assert_array_equal(labels, copy)


# --- linking -------------------------------------------------------------------


def segment_set(paths, spacing: float, angle_deg: float):
    """The hatch segments (pieces along the hatch direction) of linked paths, as rounded end pairs."""
    theta = math.radians(angle_deg)
    direction = np.array([math.cos(theta), math.sin(theta)])
    found = set()
    for path in paths:
        for p, q in zip(path[:-1], path[1:]):
            d = q - p
            length = np.hypot(*d)
            if length > 0 and abs(abs(d @ direction) - length) < 1e-6 * max(1.0, length):
                found.add(tuple(sorted([tuple(np.round(p, 4)), tuple(np.round(q, 4))])))
    return found


@pytest.mark.parametrize("angle", [0.0, 30.0, 45.0, 60.0])
def test_linking_a_square_joins_all_lines_and_keeps_every_segment(angle):
    mask = np.zeros((100, 100), bool)
    mask[10:90, 10:90] = True
    loose = hatch_mask(mask, spacing_px=2.5, angle_deg=angle, link=False)
    linked = hatch_mask(mask, spacing_px=2.5, angle_deg=angle, link=True)
    assert len(loose) > 30
    assert len(linked) * 10 <= len(loose), (len(linked), len(loose))
    assert segment_set(linked, 2.5, angle) == segment_set(loose, 2.5, angle)
    assert points_inside(linked, mask)
    assert segments_inside(linked, mask)
    # Connectors are short: at most a few spacings.
    for path in linked:
        steps = np.hypot(*np.diff(path, axis=0).T)
        along = np.abs(np.diff(path, axis=0) @ np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))]))
        connectors = steps[np.abs(along - steps) > 1e-6]
        assert np.all(connectors <= 3 * 2.5 + 1e-9)


def test_linking_never_bridges_two_separate_regions():
    mask = np.zeros((60, 100), bool)
    mask[5:55, 5:45] = True
    mask[5:55, 48:95] = True  # a 3-pixel gap between the two rectangles
    linked = hatch_mask(mask, spacing_px=2.0, angle_deg=0.0)
    assert len(linked) == 2
    for path in linked:
        assert np.all(path[:, 0] < 46) or np.all(path[:, 0] > 47)


def test_linking_follows_a_ring_inside():
    yy, xx = np.mgrid[:200, :200]
    radius = np.hypot(xx - 100, yy - 100)
    ring = (radius < 80) & (radius > 40)
    loose = hatch_mask(ring, spacing_px=3.0, angle_deg=30.0, link=False)
    linked = hatch_mask(ring, spacing_px=3.0, angle_deg=30.0)
    assert len(linked) * 3 < len(loose)
    assert segments_inside(linked, ring)
    # Every hatch segment is kept (the join pass may add a connector along
    # the hatch direction, across a notch narrower than a pixel).
    assert segment_set(loose, 3.0, 30.0) <= segment_set(linked, 3.0, 30.0)


def test_hatching_a_huge_mask_falls_back_from_cv2_remap():
    # cv2.remap refuses images 32767 px or more a side; the result must not change.
    wide = np.zeros((4, 33000), bool)
    wide[1:3, :] = True
    paths = hatch_mask(wide, spacing_px=2.0, angle_deg=90.0, link=False)
    assert len(paths) == 16500
    assert all(np.allclose(sorted(p[:, 1]), [0.5, 2.5]) for p in paths[:: 97])
    xs = np.sort(np.array([p[0, 0] for p in paths]))
    np.testing.assert_allclose(xs, np.arange(0, 33000, 2.0), atol=1e-6)


# --- salient lines -------------------------------------------------------------


def test_trace_skeleton_gives_one_open_polyline_per_line_and_closes_loops():
    skeleton = np.zeros((30, 40), bool)
    skeleton[5, 3:30] = True  # a straight line
    rr = [10, 10, 10, 11, 12, 12, 12, 11]
    cc = [20, 21, 22, 22, 22, 21, 20, 20]
    skeleton[np.array(rr) + 10, cc] = True  # a small loop
    paths = trace_skeleton(skeleton)
    assert len(paths) == 2
    line = next(p for p in paths if np.all(p[:, 1] == 5))
    assert len(line) == 27  # each pixel once, not out and back
    assert sorted([line[0, 0], line[-1, 0]]) == [3, 29]
    loop = next(p for p in paths if p is not line)
    np.testing.assert_array_equal(loop[0], loop[-1])
    # The L-shaped corners are redundant for 8-connectivity and left out; the
    # rest of the ring is traced once, closed.
    assert len(loop) == 5
    assert {tuple(map(int, pt)) for pt in loop} == {(20, 21), (21, 20), (22, 21), (21, 22)}


def test_trace_skeleton_joins_branches_at_a_junction():
    skeleton = np.zeros((30, 30), bool)
    skeleton[15, 2:28] = True
    skeleton[3:15, 15] = True  # a T
    paths = trace_skeleton(skeleton)
    covered = {tuple(map(int, pt)) for p in paths for pt in p}
    assert covered == {(int(c), int(r)) for r, c in zip(*np.nonzero(skeleton))}
    assert len(paths) <= 3
    # The branches meet: every path end touches another path or is a free end.
    free_ends = {(2, 15), (27, 15), (15, 3)}
    for p in paths:
        for end in (p[0], p[-1]):
            end_t = (int(end[0]), int(end[1]))
            assert end_t in free_ends or end_t == (15, 15) or max(abs(end_t[0] - 15), abs(end_t[1] - 15)) <= 1


def test_smooth_polyline_keeps_ends_and_closure():
    path = np.array([[0, 0], [1, 0], [1, 1], [2, 1], [2, 2]], float)
    smooth = smooth_polyline(path)
    np.testing.assert_array_equal(smooth[0], path[0])
    np.testing.assert_array_equal(smooth[-1], path[-1])
    loop = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], float)
    smooth_loop = smooth_polyline(loop)
    np.testing.assert_array_equal(smooth_loop[0], smooth_loop[-1])


def test_dark_disc_gives_a_closed_contour_near_its_edge():
    image = np.full((120, 120), 235, np.uint8)
    yy, xx = np.mgrid[:120, :120]
    image[np.hypot(xx - 60, yy - 58) <= 30] = 25
    lines = salient_lines(image, None, pen_width_px=1.0)
    longest = max(lines, key=lambda p: ink_length([p]))
    radius = np.hypot(longest[:, 0] - 60, longest[:, 1] - 58)
    assert np.all(np.abs(radius - 30) < 2.5), (radius.min(), radius.max())
    # It goes round: covers all angles and ends near where it began.
    angles = np.degrees(np.arctan2(longest[:, 1] - 58, longest[:, 0] - 60))
    assert np.histogram(angles, bins=12, range=(-180, 180))[0].min() > 0
    assert np.hypot(*(longest[0] - longest[-1])) < 4
    assert ink_length([longest]) == pytest.approx(2 * math.pi * 30, rel=0.1)
    # Nothing else of substance: the disc is the only feature.
    assert ink_length(lines) < 1.3 * ink_length([longest])


def test_mask_keeps_lines_inside_it():
    image = np.full((100, 100), 235, np.uint8)
    image[20:80, 20:80] = 20
    mask = np.zeros((100, 100), bool)
    mask[:, :50] = True
    lines = salient_lines(image, None, pen_width_px=1.0, mask=mask)
    pts = np.concatenate(lines)
    assert pts[:, 0].max() <= 50.5
    assert ink_length(lines) > 100  # the left half of the square's outline


def test_flat_image_has_no_lines():
    assert salient_lines(np.full((50, 50, 3), 128, np.uint8), None, pen_width_px=1.0) == []


def test_thin_dark_line_is_drawn_once_not_doubled():
    image = np.full((80, 120), 230, np.uint8)
    image[39:41, 10:110] = 30  # a 2-pixel dark line
    lines = salient_lines(image, None, pen_width_px=1.0)
    total = ink_length(lines)
    assert 85 <= total <= 115, total  # one stroke along the line, not two
    pts = np.concatenate(lines)
    assert np.all(np.abs(pts[:, 1] - 39.5) <= 2)


def test_astronaut_lines_are_neither_empty_nor_absurd(sample_photo):
    import cv2

    from aikon.tones import segment_tones

    image = cv2.cvtColor(cv2.imread(str(sample_photo)), cv2.COLOR_BGR2RGB)
    before = image.copy()
    seg = segment_tones(image, levels=5, seed=0)
    lines = salient_lines(image, seg.labels, pen_width_px=1.0)
    np.testing.assert_array_equal(image, before)
    assert 50 <= len(lines) <= 1500, len(lines)
    total = ink_length(lines)
    diagonal = math.hypot(*image.shape[:2])
    assert 10 * diagonal <= total <= 120 * diagonal, total / diagonal
    for path in lines:
        assert path.shape[1] == 2 and len(path) >= 2
        assert np.all(path >= 0) and np.all(path[:, 0] <= image.shape[1] - 1) and np.all(path[:, 1] <= image.shape[0] - 1)
    # Lines concentrate on the face, not spread as noise: the face box
    # (found by hand in the sample) has a much higher line density than the
    # plain studio backdrop above the flag and shuttle.
    face = (slice(40, 190), slice(150, 300))
    backdrop = (slice(0, 60), slice(300, 380))

    def density(box):
        rows, cols = box
        pts = np.concatenate(lines)
        inside = (pts[:, 1] >= rows.start) & (pts[:, 1] < rows.stop) & (pts[:, 0] >= cols.start) & (pts[:, 0] < cols.stop)
        return inside.sum() / ((rows.stop - rows.start) * (cols.stop - cols.start))

    assert density(face) > 5 * density(backdrop) + 1e-3
