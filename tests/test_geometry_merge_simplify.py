"""Merging, simplification and filtering on small hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from aikon.geometry.filter import filter_short
from aikon.geometry.merge import merge_paths
from aikon.geometry.simplify import simplify_path, simplify_paths


def P(*pts):
    return np.array(pts, dtype=float)


def point_to_polyline_distance(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest segment of ``line`` (brute force)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    ap = points[:, None, :] - a[None, :, :]
    denom = np.maximum((ab * ab).sum(axis=1), 1e-300)
    t = np.clip((ap * ab[None]).sum(axis=2) / denom, 0, 1)
    closest = a[None] + t[..., None] * ab[None]
    return np.hypot(*(points[:, None, :] - closest).transpose(2, 0, 1)).min(axis=1)


# --- merge -------------------------------------------------------------------

def test_merge_joins_end_to_start_and_drops_the_shared_point():
    a = P([0, 0], [1, 0])
    b = P([1, 0], [2, 0])
    (m,) = merge_paths([a, b], 0.01)
    assert m.tolist() == [[0, 0], [1, 0], [2, 0]]


def test_merge_reverses_a_path_whose_end_meets_the_chain_end():
    a = P([0, 0], [1, 0])
    b = P([2, 1], [2, 0], [1, 0])  # drawn towards a's end: must be reversed
    (m,) = merge_paths([a, b], 0.01)
    assert m.tolist() == [[0, 0], [1, 0], [2, 0], [2, 1]]


def test_merge_extends_backwards_from_the_start():
    a = P([1, 0], [2, 0])
    b = P([1, 5], [1, 0])  # ends where a starts
    c = P([1, 5], [0, 5])  # starts where b starts: reversed and prepended
    (m,) = merge_paths([a, b, c], 0.01)
    assert m.tolist() == [[0, 5], [1, 5], [1, 0], [2, 0]]


def test_merge_within_tolerance_keeps_both_points_and_respects_tol():
    a = P([0, 0], [1, 0])
    b = P([1.05, 0], [2, 0])
    assert len(merge_paths([a, b], 0.04)) == 2  # gap 0.05 > tol
    (m,) = merge_paths([a, b], 0.06)
    assert m.tolist() == [[0, 0], [1, 0], [1.05, 0], [2, 0]]


def test_merge_prefers_the_nearest_end():
    a = P([0, 0], [1, 0])
    far = P([1.03, 0], [1.03, 5])
    near = P([1.01, 0], [3, 0])
    merged = merge_paths([a, far, near], 0.05)
    assert merged[0].tolist()[:3] == [[0, 0], [1, 0], [1.01, 0]]
    assert len(merged) == 2


def test_merge_without_reversal_only_joins_end_to_start():
    a = P([0, 0], [1, 0])
    b = P([2, 0], [1, 0])
    assert len(merge_paths([a, b], 0.01, allow_reverse=False)) == 2
    c = P([1, 0], [2, 0])
    assert len(merge_paths([a, c], 0.01, allow_reverse=False)) == 1


def test_merge_leaves_closed_paths_alone_and_does_not_mutate_input():
    ring = P([0, 0], [1, 0], [1, 1], [0, 0])
    tail = P([0, 0], [-1, 0])
    before = [ring.copy(), tail.copy()]
    out = merge_paths([ring, tail], 0.1)
    assert len(out) == 2
    assert any(np.array_equal(p, ring) for p in out)
    assert np.array_equal(ring, before[0]) and np.array_equal(tail, before[1])


def test_merge_closes_a_loop_of_pieces():
    pieces = [P([0, 0], [10, 0]), P([10, 10], [10, 0]), P([10, 10], [0, 10]), P([0, 10], [0, 0.01])]
    (loop,) = merge_paths(pieces, 0.05)
    assert np.array_equal(loop[0], loop[-1])  # closed exactly
    assert len(loop) == 6
    corners = {tuple(p) for p in loop.tolist()}
    assert {(0, 0), (10, 0), (10, 10), (0, 10), (0, 0.01)} == corners


def test_merge_many_segments_in_a_chain_in_shuffled_order():
    rng = np.random.default_rng(3)
    xs = np.arange(201, dtype=float)
    segs = [P([x, 0], [x + 1, 0]) for x in xs[:-1]]
    order = rng.permutation(len(segs))
    flipped = [segs[i][::-1] if rng.random() < 0.5 else segs[i] for i in order]
    (m,) = merge_paths(flipped, 1e-6)
    assert len(m) == 201
    assert sorted(m[:, 0].tolist()) == xs.tolist()
    # one straight run: consecutive points one unit apart
    assert np.allclose(np.abs(np.diff(m[:, 0])), 1.0)


def test_merge_handles_clusters_of_many_coincident_ends():
    # 30 spokes meeting at the origin: more coincident ends than the
    # neighbour list holds, so the fallback search is exercised.
    angles = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    spokes = [P([0, 0], [np.cos(a), np.sin(a)]) for a in angles]
    out = merge_paths(spokes, 1e-6)
    assert len(out) == 15  # joined in pairs through the centre
    assert sum(len(p) for p in out) == 45


# --- simplify ----------------------------------------------------------------

@pytest.mark.parametrize("tol", [0.01, 0.1, 0.5])
def test_simplify_never_moves_a_point_further_than_tol(tol):
    rng = np.random.default_rng(7)
    path = np.cumsum(rng.normal(0, 0.2, (2000, 2)), axis=0)
    s = simplify_path(path, tol)
    assert len(s) < len(path)
    assert np.array_equal(s[0], path[0]) and np.array_equal(s[-1], path[-1])
    assert point_to_polyline_distance(path, s).max() <= tol + 1e-12


def test_simplify_measures_to_segments_not_lines():
    # The middle point lies on the line through the ends but beyond them:
    # dropping it would move the line by 5 mm.
    path = P([0, 0], [10, 0], [5, 0])
    s = simplify_path(path, 0.1)
    assert s.tolist() == path.tolist()


def test_simplify_keeps_closed_paths_closed():
    t = np.linspace(0, 2 * np.pi, 500)
    ring = np.c_[10 * np.cos(t), 10 * np.sin(t)]
    ring[-1] = ring[0]
    s = simplify_path(ring, 0.05)
    assert np.array_equal(s[0], s[-1])
    assert 20 < len(s) < 100
    assert point_to_polyline_distance(ring, s).max() <= 0.05


def test_simplify_collinear_points_and_short_paths():
    assert simplify_path(P([0, 0], [1, 0], [2, 0], [3, 0]), 1e-9).tolist() == [[0, 0], [3, 0]]
    assert simplify_path(P([1, 1]), 0.1).tolist() == [[1, 1]]
    assert simplify_path(P([1, 1], [2, 2]), 0.1).tolist() == [[1, 1], [2, 2]]
    paths = [P([0, 0], [1, 0.001], [2, 0]), P([5, 5], [6, 6])]
    out = simplify_paths(paths, 0.01)
    assert [len(p) for p in out] == [2, 2]
    assert len(paths[0]) == 3  # input untouched


# --- filter ------------------------------------------------------------------

def test_filter_short_drops_short_and_empty_paths_in_order():
    paths = [P([0, 0], [0.5, 0]), np.zeros((0, 2)), P([0, 0], [3, 0], [3, 4]), P([2, 2])]
    out = filter_short(paths, 1.0)
    assert [p.tolist() for p in out] == [[[0, 0], [3, 0], [3, 4]]]
    assert len(filter_short(paths, 0.0)) == 3  # dots kept with 0
    with pytest.raises(ValueError):
        filter_short(paths, -1)
