"""optimize_drawing: no ink lost, layers kept, statistics honest."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from aikon.drawing import Drawing, Layer, Page, drawing_stats, pen_down_length, pen_up_travel
from aikon.geometry.optimize import optimize_drawing


def hatching(seed: int, n_strokes: int = 400) -> tuple[np.ndarray, ...]:
    """Sketch-like strokes: short wobbly polylines, some touching end to end, one closed."""
    rng = np.random.default_rng(seed)
    paths = []
    for _ in range(n_strokes):
        start = rng.uniform(10, 190, 2)
        direction = rng.normal(size=2)
        direction /= np.linalg.norm(direction)
        steps = rng.integers(2, 30)
        t = np.arange(steps)[:, None] * 0.4
        wobble = rng.normal(0, 0.02, (steps, 2))
        pts = start + t * direction + wobble
        paths.append(pts)
        if rng.random() < 0.3:  # a continuation drawn from its far end, touching this one
            more = pts[-1] + np.arange(1, 6)[:, None] * 0.4 * direction
            paths.append(np.vstack([more[::-1], pts[-1:]]))
    t = np.linspace(0, 2 * np.pi, 200)
    ring = np.c_[100 + 20 * np.cos(t), 100 + 20 * np.sin(t)]
    ring[-1] = ring[0]
    paths.append(ring)
    order = rng.permutation(len(paths))
    return tuple(paths[i] for i in order)


def sample_along(paths, step: float) -> np.ndarray:
    """Points every ``step`` mm along every segment (and every vertex)."""
    out = []
    for p in paths:
        if len(p) == 1:
            out.append(p)
            continue
        for a, b in zip(p[:-1], p[1:]):
            n = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
            t = np.linspace(0, 1, n + 1)[:, None]
            out.append(a + t * (b - a))
    return np.concatenate(out)


def distance_to_paths(points: np.ndarray, paths, step: float = 0.01) -> np.ndarray:
    """Distance from each point to the polylines, via a dense resampling (error <= step / 2)."""
    dense = sample_along(paths, step)
    d, _ = cKDTree(dense).query(points)
    return d


@pytest.fixture(scope="module")
def drawing() -> Drawing:
    return Drawing(Page(210, 297), (
        Layer("lines", hatching(1, 200), pen_width=0.4, color="black"),
        Layer("shade", hatching(2, 300), pen_width=0.2, color="gray"),
    ))


def test_optimisation_loses_no_ink(drawing):
    merge_tol, simplify_tol = 0.05, 0.05
    result, report = optimize_drawing(drawing, merge_tol=merge_tol, simplify_tol=simplify_tol,
                                      time_budget_s=None, max_moves=20000)
    for before, after in zip(drawing.layers, result.layers):
        assert before.name == after.name and before.pen_width == after.pen_width
        # Every original segment is still covered: points sampled along the
        # originals are within the tolerance of the optimised geometry.
        samples = sample_along(before.paths, 0.1)
        d = distance_to_paths(samples, after.paths)
        assert d.max() <= simplify_tol + 0.01
        # ... and nothing was drawn that was not there (merge gaps are <= merge_tol).
        back = distance_to_paths(sample_along(after.paths, 0.1), before.paths)
        assert back.max() <= merge_tol + 0.01
    # Pen-down length: the joins made by merging add at most merge_tol each;
    # simplification only shortens the line, by cutting corners no deeper than
    # simplify_tol (at most 2 * simplify_tol per vertex removed), here only
    # the 0.02 mm wobble of the strokes.
    joins = drawing.path_count - result.path_count
    removed_points = drawing.point_count - result.point_count
    before_len, after_len = pen_down_length(drawing), pen_down_length(result)
    assert after_len <= before_len + joins * merge_tol + 1e-9
    assert before_len - after_len <= 2 * simplify_tol * removed_points
    assert after_len >= before_len * 0.995


def test_report_matches_the_drawings_and_travel_improves(drawing):
    result, report = optimize_drawing(drawing, time_budget_s=None, max_moves=20000)
    for stats, d in ((report.before, drawing), (report.after, result)):
        reference = drawing_stats(d, start=(0, 0))
        assert stats.keys() == reference.keys()
        for key, value in reference.items():
            assert stats[key] == pytest.approx(value, abs=2e-3)
    assert report.after["pen_up_mm"] < 0.2 * report.before["pen_up_mm"]
    assert report.after["pen_lifts"] < report.before["pen_lifts"]  # touching strokes were merged
    assert report.after["points"] < report.before["points"]  # wobble within pen_width / 4 simplified away
    assert pen_up_travel(result, start=(0, 0)) == pytest.approx(report.after["pen_up_mm"], abs=1e-3)
    table = report.table()
    assert "pen-up travel (mm)" in table and "pen lifts" in table
    assert f"{report.before['paths']}" in table and f"{report.after['paths']}" in table


def test_default_tolerances_follow_the_pen_width(drawing):
    _, report = optimize_drawing(drawing, time_budget_s=0)
    layers = report.settings["layers"]
    assert layers["lines"]["simplify_tol"] == pytest.approx(0.1)
    assert layers["shade"]["simplify_tol"] == pytest.approx(0.05)
    assert layers["lines"]["merge_tol"] == pytest.approx(0.2)


def test_input_is_unchanged_and_layer_order_kept(drawing):
    copies = [[p.copy() for p in layer.paths] for layer in drawing.layers]
    result, _ = optimize_drawing(drawing, time_budget_s=None, max_moves=2000)
    assert [layer.name for layer in result.layers] == ["lines", "shade"]
    for layer, saved in zip(drawing.layers, copies):
        assert all(np.array_equal(a, b) for a, b in zip(layer.paths, saved))


def test_min_length_drops_fragments_and_merge_can_be_switched_off():
    paths = (np.array([[0, 0], [0.2, 0]]), np.array([[0.2, 0], [5, 0]]), np.array([[10, 0], [10.1, 0]]))
    d = Drawing(Page(50, 50), (Layer("a", paths),))
    merged, _ = optimize_drawing(d, min_length=0.5, time_budget_s=None)
    assert [p.tolist() for p in merged.layers[0].paths] == [[[0, 0], [5, 0]]]  # joined, then simplified
    unmerged, _ = optimize_drawing(d, merge_tol=-1, simplify_tol=0, min_length=0.5, time_budget_s=None)
    assert [p.tolist() for p in unmerged.layers[0].paths] == [[[0.2, 0], [5, 0]]]


def test_deterministic_given_a_move_cap(drawing):
    one, _ = optimize_drawing(drawing, time_budget_s=None, max_moves=300, seed=4)
    two, _ = optimize_drawing(drawing, time_budget_s=None, max_moves=300, seed=4)
    for a, b in zip(one.layers, two.layers):
        assert len(a.paths) == len(b.paths)
        assert all(np.array_equal(p, q) for p, q in zip(a.paths, b.paths))
