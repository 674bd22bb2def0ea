"""SVG import golden tests: units, viewBox, nested transforms, curves, layers, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from aikon.drawing import Drawing, Layer, Page
from aikon.errors import InputError
from aikon.geometry.svgimport import read_svg

HEAD = ('<svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" ')


def svg(attrs: str, body: str) -> str:
    return f"{HEAD}{attrs}>\n{body}\n</svg>\n"


def only_path(drawing: Drawing) -> np.ndarray:
    (layer,) = drawing.layers
    (path,) = layer.paths
    return path


def test_mm_document_is_read_at_true_size(tmp_path):
    f = tmp_path / "a.svg"
    f.write_text(svg('width="210mm" height="297mm" viewBox="0 0 210 297"',
                     '<line x1="10" y1="20" x2="110" y2="20" stroke="black"/>'))
    d = read_svg(f)
    assert d.page.width == pytest.approx(210, abs=1e-6) and d.page.height == pytest.approx(297, abs=1e-6)
    assert only_path(d) == pytest.approx(np.array([[10, 20], [110, 20]]), abs=1e-6)
    assert d.metadata["source"] == str(f)


@pytest.mark.parametrize("width, height, expected", [
    ("4in", "2in", (101.6, 50.8)),
    ("10cm", "5cm", (100.0, 50.0)),
    ("384px", "192px", (101.6, 50.8)),  # 96 px per inch
    ("384", "192", (101.6, 50.8)),  # unitless = px
])
def test_units_and_viewbox_scaling(width, height, expected):
    # viewBox 0 0 200 100 mapped onto the page: user unit = page width / 200.
    d = read_svg(svg(f'width="{width}" height="{height}" viewBox="0 0 200 100"',
                     '<polyline points="0,0 200,100" fill="none"/>'))
    assert (d.page.width, d.page.height) == pytest.approx(expected, rel=1e-5)
    assert only_path(d) == pytest.approx(np.array([[0, 0], list(expected)]), rel=1e-5, abs=1e-5)


def test_viewbox_offset_and_no_size_given():
    d = read_svg(svg('viewBox="-50 -50 100 100"', '<line x1="-50" y1="0" x2="50" y2="0"/>'))
    px = 25.4 / 96
    assert d.page.width == pytest.approx(100 * px, rel=1e-5)
    assert only_path(d) == pytest.approx(np.array([[0, 50 * px], [100 * px, 50 * px]]), rel=1e-5)


def test_nested_translate_scale_rotate():
    body = ('<g transform="translate(100,50)"><g transform="scale(2)">'
            '<g transform="rotate(90)"><line x1="0" y1="0" x2="10" y2="0"/></g></g></g>')
    d = read_svg(svg('width="200mm" height="100mm" viewBox="0 0 200 100"', body))
    # (10, 0) -> rotate 90 -> (0, 10) -> scale 2 -> (0, 20) -> translate -> (100, 70)
    assert only_path(d) == pytest.approx(np.array([[100, 50], [100, 70]]), abs=1e-5)


def test_transform_on_the_shape_and_matrix():
    body = '<rect x="0" y="0" width="10" height="5" transform="matrix(1 0 0 1 20 30)"/>'
    p = only_path(read_svg(svg('width="100mm" height="100mm" viewBox="0 0 100 100"', body)))
    assert np.array_equal(p[0], p[-1])  # a rect is closed
    corners = {tuple(np.round(v, 6)) for v in p}
    assert corners == {(20, 30), (30, 30), (30, 35), (20, 35)}


@pytest.mark.parametrize("tol", [0.01, 0.1])
def test_circle_flattened_within_tolerance(tol):
    body = '<circle cx="50" cy="40" r="20"/>'
    p = only_path(read_svg(svg('width="100mm" height="100mm" viewBox="0 0 100 100"', body), tolerance_mm=tol))
    assert np.allclose(p[0], p[-1], atol=1e-9)  # closed
    r = np.hypot(p[:, 0] - 50, p[:, 1] - 40)
    assert np.all(np.abs(r - 20) <= 1e-5)  # vertices on the circle
    # Chord midpoints are the farthest from the circle: the sagitta.
    mid = (p[:-1] + p[1:]) / 2
    sag = 20 - np.hypot(mid[:, 0] - 50, mid[:, 1] - 40)
    assert sag.max() <= tol + 1e-9
    assert sag.max() > tol / 4  # not wastefully dense
    # Full turn: the angles cover the circle.
    assert len(p) >= 8


def test_ellipse_under_nonuniform_scale_and_arc_command():
    body = ('<ellipse cx="0" cy="0" rx="10" ry="5" transform="translate(50,50) scale(2,1)"/>'
            '<path d="M 10 80 A 10 10 0 0 1 30 80" fill="none"/>')
    d = read_svg(svg('width="100mm" height="100mm" viewBox="0 0 100 100"', body), tolerance_mm=0.01)
    ellipse, arc = d.layers[0].paths
    u = (ellipse[:, 0] - 50) / 20
    v = (ellipse[:, 1] - 50) / 5
    assert np.allclose(u ** 2 + v ** 2, 1, atol=1e-4)
    assert arc[0] == pytest.approx([10, 80]) and arc[-1] == pytest.approx([30, 80], abs=1e-6)
    # A half circle of radius 10 centred on (20, 80), bulging up (sweep flag 1, y down).
    assert np.allclose(np.hypot(arc[:, 0] - 20, arc[:, 1] - 80), 10, atol=1e-4)
    assert arc[:, 1].min() == pytest.approx(70, abs=0.01)


def test_cubic_and_quadratic_beziers_within_tolerance():
    body = '<path d="M 0 0 C 0 50 100 50 100 0 Q 150 -50 200 0" fill="none"/>'
    tol = 0.02
    p = only_path(read_svg(svg('width="200mm" height="100mm" viewBox="0 0 200 100"', body), tolerance_mm=tol))
    t = np.linspace(0, 1, 4001)[:, None]
    c = np.array([[0, 0], [0, 50], [100, 50], [100, 0]], dtype=float)
    cubic = ((1 - t) ** 3 * c[0] + 3 * (1 - t) ** 2 * t * c[1] + 3 * (1 - t) * t ** 2 * c[2] + t ** 3 * c[3])
    q = np.array([[100, 0], [150, -50], [200, 0]], dtype=float)
    quad = (1 - t) ** 2 * q[0] + 2 * (1 - t) * t * q[1] + t ** 2 * q[2]
    truth = np.vstack([cubic, quad])
    # every true curve point is within tol of the polyline (dense vertex sampling of the polyline)
    from scipy.spatial import cKDTree
    dense = np.concatenate([a + np.linspace(0, 1, 200)[:, None] * (b - a) for a, b in zip(p[:-1], p[1:])])
    d, _ = cKDTree(dense).query(truth)
    assert d.max() <= tol + 0.005
    assert p[0] == pytest.approx([0, 0]) and p[-1] == pytest.approx([200, 0])
    assert 10 < len(p) < 400


def test_subpaths_and_close_and_polygon():
    body = ('<path d="M 0 0 L 10 0 L 10 10 Z M 20 20 l 5 0" fill="none"/>'
            '<polygon points="40,40 50,40 45,50"/>')
    d = read_svg(svg('width="100mm" height="100mm" viewBox="0 0 100 100"', body))
    tri, seg, poly = d.layers[0].paths
    assert np.allclose(tri, [[0, 0], [10, 0], [10, 10], [0, 0]], atol=1e-9)
    assert np.allclose(seg, [[20, 20], [25, 20]], atol=1e-9)
    assert np.allclose(poly, [[40, 40], [50, 40], [45, 50], [40, 40]], atol=1e-9)


def test_inkscape_layers_names_order_and_default_layer():
    body = '''
    <line x1="0" y1="0" x2="1" y2="0"/>
    <g inkscape:groupmode="layer" inkscape:label="Outline" id="layer1" style="stroke:#ff0000;stroke-width:0.5">
      <line x1="0" y1="1" x2="1" y2="1"/>
      <g id="plain-group"><line x1="0" y1="2" x2="1" y2="2"/></g>
      <g inkscape:groupmode="layer" inkscape:label="Sub"><line x1="0" y1="3" x2="1" y2="3"/></g>
    </g>
    <g inkscape:groupmode="layer" id="layer7"><line x1="0" y1="4" x2="1" y2="4"/></g>
    <g id="not-a-layer"><line x1="0" y1="5" x2="1" y2="5"/></g>'''
    d = read_svg(svg('width="10mm" height="10mm" viewBox="0 0 10 10"', body))
    names = [layer.name for layer in d.layers]
    assert names == ["default", "Outline", "Sub", "layer7"]
    ys = {layer.name: sorted(p[0, 1] for p in layer.paths) for layer in d.layers}
    assert ys == {"default": [0, 5], "Outline": [1, 2], "Sub": [3], "layer7": [4]}
    outline = d.layers[1]
    assert outline.color == "#ff0000" and outline.pen_width == pytest.approx(0.5)


def test_top_level_groups_become_layers_without_inkscape_layers():
    body = ('<g id="first"><line x1="0" y1="0" x2="1" y2="0"/></g>'
            '<g><g><line x1="0" y1="1" x2="1" y2="1"/></g></g>')
    d = read_svg(svg('width="10mm" height="10mm" viewBox="0 0 10 10"', body))
    assert [layer.name for layer in d.layers] == ["first", "layer2"]


def test_round_trip_through_aikon_svg_writer(tmp_path):
    from aikon.output.svg import write_svg

    paths = (np.array([[1.5, 2.25], [30.0, 40.125], [10.0, 5.0]]), np.array([[100.0, 100.0], [150.0, 120.0]]))
    drawing = Drawing(Page(210, 297), (Layer("lines", paths, pen_width=0.35, color="#112233"),
                                       Layer("shade", paths[:1], pen_width=0.5)))
    out = tmp_path / "rt.svg"
    write_svg(drawing, out)
    back = read_svg(out)
    assert back.page.width == pytest.approx(210, abs=1e-6) and back.page.height == pytest.approx(297, abs=1e-6)
    assert len(back.layers) == 2
    assert [layer.name for layer in back.layers] == ["lines", "shade"]  # writer's "1-" prefix dropped
    write_svg(back, tmp_path / "again.svg")
    again = (tmp_path / "again.svg").read_text()
    assert 'inkscape:label="1-lines"' in again and 'inkscape:label="2-shade"' in again
    for a, b in zip(paths, back.layers[0].paths):
        assert b == pytest.approx(a, abs=1e-3)
    assert back.layers[0].pen_width == pytest.approx(0.35, abs=1e-4)
    assert back.layers[0].color == "#112233"


def test_use_instances_are_drawn_where_placed():
    body = ('<defs><line id="l" x1="0" y1="0" x2="10" y2="0"/></defs>'
            '<use xlink:href="#l" x="5" y="5"/><use href="#l" transform="translate(0,20) scale(2)"/>')
    d = read_svg(svg('xmlns:xlink="http://www.w3.org/1999/xlink" width="100mm" height="100mm" viewBox="0 0 100 100"',
                     body))
    assert [p.tolist() for p in d.layers[0].paths] == [[[5, 5], [15, 5]], [[0, 20], [20, 20]]]


def test_layer_label_numbering_only_stripped_at_its_own_position():
    body = ('<g inkscape:groupmode="layer" inkscape:label="2-first"><line x1="0" y1="0" x2="1" y2="0"/></g>'
            '<g inkscape:groupmode="layer" inkscape:label="2-second"><line x1="0" y1="1" x2="1" y2="1"/></g>')
    d = read_svg(svg('width="10mm" height="10mm" viewBox="0 0 10 10"', body))
    assert [layer.name for layer in d.layers] == ["2-first", "second"]


def test_hidden_and_text_elements_are_ignored():
    body = ('<line x1="0" y1="0" x2="1" y2="0" style="display:none"/>'
            '<text x="1" y="1">hello</text><line x1="0" y1="1" x2="1" y2="1"/>')
    d = read_svg(svg('width="10mm" height="10mm" viewBox="0 0 10 10"', body))
    assert [p.tolist() for p in d.layers[0].paths] == [[[0, 1], [1, 1]]]


@pytest.mark.parametrize("content, message", [
    ("hello, world", "not a readable SVG"),
    ("<html><body/></html>", "not an SVG document"),
    ("", "not a readable SVG"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><line', "not a readable SVG"),
])
def test_invalid_input_raises_input_error(tmp_path, content, message):
    f = tmp_path / "bad.svg"
    f.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_svg(f)
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_svg(tmp_path / "nope.svg")
    with pytest.raises(InputError, match="directory"):
        read_svg(tmp_path)
