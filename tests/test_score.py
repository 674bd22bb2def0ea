"""Drawing-quality score: rendering, tone, SSIM, placement, framing, and the ``aikon score`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aikon.drawing import Drawing, Layer, Page
from aikon.score import (frame_from_report, frame_photo, ink_coverage, linear_to_lightness, multiscale_ssim,
                         normalize_tones, photo_luminance, placement_box, plot_time_s, score_drawing,
                         srgb_to_linear, ssim_map, tone_maps)

PAGE = Page(120.0, 120.0)
BOX = (10.0, 10.0, 100.0, 100.0)  # the photo's rectangle on the page in these tests


def hatch(x0: float, y0: float, x1: float, y1: float, spacing: float, *, angle_deg: float = 0.0) -> list[np.ndarray]:
    """Parallel lines filling a rectangle at 0 or 90 degrees; other angles: long lines through its centre."""
    if angle_deg == 0.0:
        return [np.array([[x0, y], [x1, y]]) for y in np.arange(y0 + spacing / 2, y1, spacing)]
    if angle_deg == 90.0:
        return [np.array([[x, y0], [x, y1]]) for x in np.arange(x0 + spacing / 2, x1, spacing)]
    a = np.radians(angle_deg)
    d = np.array([np.cos(a), np.sin(a)])
    n = np.array([-d[1], d[0]])
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    reach = float(np.hypot(x1 - x0, y1 - y0))
    return [np.array([c + n * k - d * reach, c + n * k + d * reach]) for k in np.arange(-reach, reach, spacing)]


def drawing_of(paths, pen_width: float = 0.3, page: Page = PAGE) -> Drawing:
    return Drawing(page, (Layer("ink", tuple(paths), pen_width=pen_width),))


def face_like_drawing() -> Drawing:
    """Some structure to compare: two dark 'eyes', a 'mouth' bar and outlines."""
    paths = hatch(30, 35, 45, 50, 0.5) + hatch(75, 35, 90, 50, 0.5) + hatch(40, 75, 80, 82, 0.8)
    paths += [np.array([[20.0, 20.0], [100.0, 20.0], [100.0, 100.0], [20.0, 100.0], [20.0, 20.0]])]
    paths += [np.array([[60.0, 45.0], [55.0, 65.0], [65.0, 65.0]])]
    return drawing_of(paths)


def rendered_photo(drawing: Drawing, box=BOX, px_per_mm: float = 4.0) -> np.ndarray:
    """The drawing's own reflectance as a linear-luminance 'photo'."""
    return 1.0 - ink_coverage(drawing, box, px_per_mm=px_per_mm)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("angle", [0.0, 30.0, 45.0, 90.0])
def test_ink_coverage_matches_pen_width_over_spacing_at_every_angle(angle):
    spacing, pen = 1.0, 0.3
    drawing = drawing_of(hatch(-50, -50, 170, 170, spacing, angle_deg=angle), pen_width=pen)
    coverage = ink_coverage(drawing, BOX, px_per_mm=4.0)
    assert coverage.shape == (400, 400)
    assert coverage.mean() == pytest.approx(pen / spacing, rel=0.05)


def test_ink_coverage_scales_with_pen_width_and_honours_override():
    paths = hatch(0, 0, 120, 120, 2.0)
    thin = ink_coverage(drawing_of(paths, pen_width=0.2), BOX).mean()
    thick = ink_coverage(drawing_of(paths, pen_width=0.6), BOX).mean()
    override = ink_coverage(drawing_of(paths, pen_width=0.2), BOX, pen_width=0.6).mean()
    assert thin == pytest.approx(0.1, rel=0.06)
    assert thick == pytest.approx(0.3, rel=0.06)
    assert override == pytest.approx(thick)


def test_ink_coverage_sees_only_the_box_and_overlaps_do_not_add_ink():
    inside = [np.array([[50.0, 60.0], [70.0, 60.0]])]
    outside = [np.array([[0.0, 5.0], [120.0, 5.0]])]  # 5 mm above the box
    assert ink_coverage(drawing_of(outside), BOX).sum() == 0
    once = ink_coverage(drawing_of(inside), BOX).sum()
    twice = ink_coverage(drawing_of(inside * 2), BOX).sum()
    assert twice == once
    # 20 mm x 0.3 mm of ink plus round-ish ends, in pixels of 0.25 mm
    assert once / 16 == pytest.approx(20 * 0.3, rel=0.08)


def test_a_single_point_path_inks_a_dot():
    dot = ink_coverage(drawing_of([np.array([[60.0, 60.0]])], pen_width=1.0), BOX)
    assert dot.sum() / 16 == pytest.approx(np.pi * 0.25, rel=0.25)


# --------------------------------------------------------------------------- tone conversions


def test_lightness_of_black_mid_grey_and_white():
    assert linear_to_lightness(np.array([0.0, 0.18418651851244416, 1.0])) == pytest.approx([0.0, 0.5, 1.0], abs=1e-6)
    assert srgb_to_linear(np.array([0.0, 1.0])) == pytest.approx([0.0, 1.0])
    grey = np.full((2, 2, 3), 119, np.uint8)  # sRGB 119 is about L* 50
    assert linear_to_lightness(photo_luminance(grey)) == pytest.approx(np.full((2, 2), 0.5), abs=0.01)


def test_normalize_tones_stretches_range_but_not_a_flat_photo():
    ramp = np.linspace(0.2, 0.8, 1001)
    stretched, (lo, hi) = normalize_tones(ramp, percentiles=(0, 100))
    assert (lo, hi) == pytest.approx((0.2, 0.8))
    assert stretched.min() == 0.0 and stretched.max() == 1.0
    flat = np.full(100, 0.4) + np.linspace(0, 0.01, 100)
    kept, rng = normalize_tones(flat)
    assert rng == (0.0, 1.0)
    assert np.array_equal(kept, flat)


# --------------------------------------------------------------------------- SSIM


def test_ssim_is_one_for_identical_images_and_lower_for_noise():
    rng = np.random.default_rng(0)
    image = rng.random((64, 64))
    assert np.all(ssim_map(image, image) == 1.0)
    noisy = np.clip(image + rng.normal(0, 0.2, image.shape), 0, 1)
    assert 0 < ssim_map(image, noisy).mean() < 0.9
    assert ssim_map(image, 1 - image).mean() < 0


def test_multiscale_ssim_has_three_scales():
    image = np.random.default_rng(1).random((128, 96))
    assert multiscale_ssim(image, image) == [1.0, 1.0, 1.0]


# --------------------------------------------------------------------------- the score


def test_a_render_compared_with_itself_scores_perfectly():
    drawing = face_like_drawing()
    scores = score_drawing(drawing, rendered_photo(drawing), frame_box_mm=BOX, normalize=False, profile=None)
    assert scores["ssim"] == 1.0
    assert scores["ssim_scales"] == [1.0, 1.0, 1.0]
    assert scores["tone_error"] == 0.0
    assert scores["tone_bias"] == 0.0


def test_a_blank_page_against_a_dark_photo_has_a_large_tone_error():
    dark = np.full((200, 200, 3), 40, np.uint8)
    blank = Drawing(PAGE, (Layer("ink", ()),))
    scores = score_drawing(blank, dark, frame_box_mm=BOX, profile=None)
    expected = 1.0 - float(linear_to_lightness(srgb_to_linear(np.array(40 / 255))))
    assert scores["tone_error"] == pytest.approx(expected, abs=1e-4)  # the flat photo is not stretched
    assert scores["tone_error"] > 0.8
    assert scores["tone_bias"] == pytest.approx(expected, abs=1e-4)
    assert scores["ink_m"] == 0 and scores["pen_lifts"] == 0


def test_denser_hatching_of_a_dark_square_has_lower_tone_error():
    photo = np.full((400, 400, 3), 255, np.uint8)
    photo[100:300, 100:300] = 0  # a black square over page mm 35..85
    scores = {}
    for spacing in (0.35, 0.6, 1.5):
        drawing = drawing_of(hatch(35, 35, 85, 85, spacing) + hatch(35, 35, 85, 85, spacing, angle_deg=90))
        scores[spacing] = score_drawing(drawing, photo, frame_box_mm=BOX, profile=None)
    assert scores[0.35]["tone_error"] < scores[0.6]["tone_error"] < scores[1.5]["tone_error"]
    assert scores[0.35]["ssim"] > scores[1.5]["ssim"]
    assert scores[0.35]["ink_m"] > scores[1.5]["ink_m"]
    # the sparse hatching leaves the square far too light
    assert scores[1.5]["tone_bias"] > scores[0.35]["tone_bias"] > 0


def test_ssim_decreases_as_the_drawing_is_shifted():
    drawing = face_like_drawing()
    photo = rendered_photo(drawing)
    ssims = []
    for shift in (0.0, 1.0, 3.0, 8.0):
        moved = drawing.map_layers(lambda layer: layer.with_paths(p + [shift, 0.0] for p in layer.paths))
        ssims.append(score_drawing(moved, photo, frame_box_mm=BOX, normalize=False, profile=None)["ssim"])
    assert ssims[0] == 1.0
    assert ssims[0] > ssims[1] > ssims[2] > ssims[3]


def test_score_reports_ink_lifts_travel_and_plot_time():
    paths = [np.array([[20.0, 20.0], [60.0, 20.0]]), np.array([[60.0, 30.0], [20.0, 30.0], [20.0, 60.0]])]
    drawing = drawing_of(paths)
    scores = score_drawing(drawing, np.full((50, 50, 3), 200, np.uint8), frame_box_mm=BOX)
    assert scores["ink_m"] == pytest.approx(0.11)
    assert scores["pen_down_mm"] == pytest.approx(110.0)
    assert scores["pen_up_mm"] == pytest.approx(10.0)
    assert scores["pen_lifts"] == 2 and scores["paths"] == 2
    assert scores["profile"] == "grbl-servo"
    assert scores["plot_time_s"] == pytest.approx(round(plot_time_s(drawing), 1))
    # at least drawing 110 mm at 50 mm/s plus four pen moves of 0.15 s dwell
    assert scores["plot_time_s"] > 110 / 50 + 4 * 0.15
    assert score_drawing(drawing, np.zeros((5, 5, 3), np.uint8), frame_box_mm=BOX, profile=None)["plot_time_s"] is None


def test_default_placement_grows_the_bounds_to_the_photo_aspect():
    drawing = drawing_of([np.array([[20.0, 30.0], [80.0, 50.0]])])  # bounds 60 x 20 mm
    assert placement_box(drawing, 1.5) == pytest.approx((20.0, 20.0, 60.0, 40.0))
    assert placement_box(drawing, 6.0) == pytest.approx((-10.0, 30.0, 120.0, 20.0))
    maps = tone_maps(drawing, np.zeros((40, 60, 3), np.uint8))
    assert maps.box_mm == pytest.approx((20.0, 20.0, 60.0, 40.0))
    assert maps.drawing.shape == maps.photo.shape == (160, 240)
    with pytest.raises(ValueError):
        placement_box(Drawing(PAGE, ()), 1.0)


# --------------------------------------------------------------------------- framing like aikon sketch


def test_frame_photo_crops_and_rotates_like_the_framing_stage():
    from aikon.framing import Frame  # noqa: F401  (the stage whose output this reproduces)
    import cv2

    rng = np.random.default_rng(2)
    photo = rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)
    assert np.array_equal(frame_photo(photo, (10, 5, 40, 50)), photo[5:55, 10:50])
    rotated = frame_photo(photo, (10, 5, 40, 50), rotation_deg=12.0, center=(30.0, 40.0))
    matrix = cv2.getRotationMatrix2D((30.0, 40.0), 12.0, 1.0)
    expected = cv2.warpAffine(photo, matrix, (100, 80), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(rotated, expected[5:55, 10:50])
    with pytest.raises(ValueError):
        frame_photo(photo, (60, 5, 50, 50))


def test_frame_from_report_places_the_crop_as_the_pipeline_lays_it_out():
    photo = np.zeros((400, 300, 3), np.uint8)
    report = {"framing": {"crop_box": [50, 20, 200, 250], "rotation_deg": 0.0}, "page_mm": [210.0, 297.0],
              "options": {"margin_mm": 15.0}}
    framed, box = frame_from_report(report, photo)
    assert framed.shape == (250, 200, 3)
    # 200x250 px fitted into 180x267 mm: 180 mm wide, 225 mm tall, centred
    assert box == pytest.approx((15.0, 36.0, 180.0, 225.0))
    report["framing"]["frame_box_mm"] = [1, 2, 3, 4]
    assert frame_from_report(report, photo)[1] == (1.0, 2.0, 3.0, 4.0)


# --------------------------------------------------------------------------- command line


def _write_case(tmp_path):
    import cv2

    from aikon.output.svg import write_svg

    drawing = face_like_drawing()
    svg = tmp_path / "d.svg"
    write_svg(drawing, svg)
    reflectance = 1.0 - ink_coverage(drawing, BOX, px_per_mm=2.0)
    srgb = np.where(reflectance <= 0.0031308, 12.92 * reflectance, 1.055 * reflectance ** (1 / 2.4) - 0.055)
    photo = np.round(255 * srgb).astype(np.uint8)
    png = tmp_path / "p.png"
    cv2.imwrite(str(png), photo)
    return svg, png


def test_cli_score_prints_json(tmp_path, capsys):
    from aikon.cli import main

    svg, png = _write_case(tmp_path)
    code = main(["score", str(svg), "--image", str(png), "--frame", "10,10,100,100", "--json", "--no-normalize"])
    assert code == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["frame_box_mm"] == [10.0, 10.0, 100.0, 100.0]
    # the photo is the drawing itself, 8-bit and at half the resolution
    assert scores["ssim"] > 0.97
    assert scores["tone_error"] < 0.03
    assert scores["plot_time_s"] > 0


def test_cli_score_with_a_report_and_plain_text(tmp_path, capsys):
    from aikon.cli import main

    svg, png = _write_case(tmp_path)
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"input": str(png), "framing": {"crop_box": [0, 0, 200, 200], "rotation_deg": 0},
                                  "page_mm": [120, 120], "options": {"margin_mm": 10}}))
    assert main(["score", str(svg), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "SSIM" in out and "tone error" in out and "plot time" in out
    assert "photo at 10.0,10.0 mm, 100.0x100.0 mm" in out


@pytest.mark.parametrize("argv_tail, message", [
    (["--frame", "1,2,3"], "--frame"),
    (["--frame", "1,2,0,4"], "--frame"),
    (["--blur", "-1"], "--blur"),
    (["--image", "missing.png"], "missing.png"),
    (["--report", "missing.json"], "missing.json"),
])
def test_cli_score_bad_input_is_one_line_exit_2(tmp_path, capsys, argv_tail, message):
    from aikon.cli import main

    svg, png = _write_case(tmp_path)
    argv = ["score", str(svg)] + ([] if "--image" in argv_tail else ["--image", str(png)]) + argv_tail
    if "missing" in message:
        argv = [a if not a.startswith("missing") else str(tmp_path / a) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
