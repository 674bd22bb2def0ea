"""The portrait pipeline end to end on the bundled sample, as a user checks it."""

from __future__ import annotations

import numpy as np
import pytest

from aikon.drawing import Page, drawing_bounds, pen_down_length
from aikon.framing import frame_portrait, head_and_shoulders_box
from aikon.pipeline import SketchOptions, sketch


@pytest.fixture(scope="module")
def astronaut(sample_photo):
    from aikon.imaging import load_image

    return load_image(sample_photo)


@pytest.fixture(scope="module")
def result(astronaut):
    return sketch(astronaut, SketchOptions(seed=1))


def test_face_found_where_it_is(result):
    assert len(result.faces) == 1
    x, y, w, h = result.faces[0].box
    # Eileen Collins' face in the 512x512 astronaut photo: about x=177, y=82, 95x95.
    assert abs(x + w / 2 - 225) < 20 and abs(y + h / 2 - 130) < 25
    assert 70 < w < 140
    assert result.subject == (0,)


def test_frame_contains_the_face_with_room_for_hair_and_shoulders(result):
    fx, fy, fw, fh = result.frame.crop_box
    x, y, w, h = result.faces[0].box
    assert fx <= x and fy <= y - 0.3 * h
    assert fx + fw >= x + w and fy + fh >= y + 2 * h


def test_geometry_inside_page_margins(result):
    page = result.drawing.page
    assert page == Page(210.0, 297.0)
    xmin, ymin, xmax, ymax = drawing_bounds(result.drawing)
    margin = SketchOptions().margin
    tol = 1e-6
    assert xmin >= margin - tol and ymin >= margin - tol
    assert xmax <= page.width - margin + tol and ymax <= page.height - margin + tol
    # Fitted: the drawing fills the page in at least one direction.
    assert max((xmax - xmin) / (page.width - 2 * margin), (ymax - ymin) / (page.height - 2 * margin)) > 0.95


def test_layers_one_per_kind_and_all_have_ink(result):
    names = [layer.name for layer in result.drawing.layers]
    assert names == ["shade-1", "shade-2", "shade-3", "shade-4", "lines"]
    for layer in result.drawing.layers:
        assert len(layer.paths) > 0, layer.name
        for path in layer.paths:
            assert path.dtype == np.float64 and path.ndim == 2 and path.shape[1] == 2
    assert 5_000 < pen_down_length(result.drawing) < 500_000  # 5 m .. 500 m of ink on A4


def test_same_seed_same_svg(astronaut):
    from aikon.output.svg import drawing_to_svg

    a = drawing_to_svg(sketch(astronaut, SketchOptions(seed=7)).drawing)
    b = drawing_to_svg(sketch(astronaut, SketchOptions(seed=7)).drawing)
    assert a == b


def test_no_face_warns_and_uses_whole_image():
    rng = np.random.default_rng(0)
    image = (rng.random((120, 160, 3)) * 40 + 100).astype(np.uint8)
    image[40:80, 60:100] = 20
    res = sketch(image, SketchOptions(detector="haar", optimize=False))
    assert res.frame.whole_image and res.warnings and "no face" in res.warnings[0]


def test_require_face_is_an_error():
    from aikon.errors import NoFaceError

    image = np.full((100, 100, 3), 200, np.uint8)
    with pytest.raises(NoFaceError):
        sketch(image, SketchOptions(require_face=True))


def test_head_and_shoulders_box_stays_inside_image():
    box = head_and_shoulders_box((0, 0, 50, 50), (200, 300))
    x, y, w, h = box
    assert x >= 0 and y >= 0 and x + w <= 200 and y + h <= 300
    assert w >= 50 and h >= 50


def test_eyes_levelled_when_keypoints_tilted():
    from dataclasses import dataclass, field

    @dataclass
    class F:
        box: tuple
        score: float = 1.0
        keypoints: dict = field(default_factory=dict)

    image = np.zeros((400, 400, 3), np.uint8)
    face = F((150, 150, 100, 100), keypoints={"left_eye": (175, 180), "right_eye": (225, 190)})
    frame = frame_portrait(image, [face])
    assert frame.rotation_deg == pytest.approx(np.degrees(np.arctan2(10, 50)))
    untilted = F((150, 150, 100, 100), keypoints={"left_eye": (175, 180), "right_eye": (225, 180)})
    assert frame_portrait(image, [untilted]).rotation_deg == 0.0
