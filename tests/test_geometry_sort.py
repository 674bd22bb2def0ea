"""Path ordering: no path lost or duplicated, travel never worse, closed-path rotation."""

from __future__ import annotations

import numpy as np
import pytest

from aikon.drawing import travel_length
from aikon.geometry.sort import is_closed, order_paths, plan_order, rotate_closed_path


def P(*pts):
    return np.array(pts, dtype=float)


def random_segments(n: int, seed: int, size: float = 100.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, size, (n, 2))
    ang = rng.uniform(0, 2 * np.pi, n)
    b = a + np.c_[np.cos(ang), np.sin(ang)] * rng.uniform(0.5, 4, n)[:, None]
    return [np.array([p, q]) for p, q in zip(a, b)]


def canonical(path: np.ndarray) -> tuple:
    """A key equal for a path, its reverse and (if closed) its rotations."""
    pts = [tuple(np.round(p, 9)) for p in path]
    if is_closed(path):
        ring = pts[:-1]
        variants = []
        for seq in (ring, ring[::-1]):
            for k in range(len(seq)):
                variants.append(tuple(seq[k:] + seq[:k]))
        return ("ring", min(variants))
    return ("open", min(tuple(pts), tuple(pts[::-1])))


def test_greedy_picks_nearest_end_and_reverses():
    a = P([10, 0], [20, 0])
    b = P([9, 0], [1, 0])
    c = P([21, 0], [30, 0])
    out = order_paths([c, a, b], start=(0, 0), time_budget_s=None)
    assert [p.tolist() for p in out] == [[[1, 0], [9, 0]], [[10, 0], [20, 0]], [[21, 0], [30, 0]]]
    assert travel_length(out, start=(0, 0)) == pytest.approx(3.0)


def test_no_reversal_keeps_directions():
    a = P([10, 0], [0, 0])
    b = P([20, 0], [11, 0])
    ring = P([30, 0], [31, 0], [31, 1], [30, 0])
    out = order_paths([a, b, ring], allow_reverse=False, time_budget_s=None)
    assert sorted(p.tolist() for p in out) == sorted([a.tolist(), b.tolist(), ring.tolist()])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_keeps_every_path_once_and_beats_input_order(seed):
    paths = random_segments(1500, seed)
    out = order_paths(paths, start=(0, 0), time_budget_s=None, max_moves=20000)
    assert len(out) == len(paths)
    assert sorted(canonical(p) for p in out) == sorted(canonical(p) for p in paths)
    before = travel_length(paths, start=(0, 0))
    after = travel_length(out, start=(0, 0))
    assert after < 0.1 * before  # random order travels ~100x more


def test_improvement_pass_beats_greedy():
    paths = random_segments(3000, 5)
    greedy = plan_order(paths, time_budget_s=0)
    improved = plan_order(paths, time_budget_s=None, max_moves=100000)
    assert greedy.moves == 0 and improved.moves > 100
    g = travel_length(greedy.apply(paths), start=(0, 0))
    i = travel_length(improved.apply(paths), start=(0, 0))
    # 2-opt + Or-opt typically removes a fifth of greedy's travel on random segments.
    assert i < 0.88 * g
    assert sorted(improved.order.tolist()) == list(range(len(paths)))


def test_ordering_is_deterministic_with_a_move_cap():
    paths = random_segments(800, 9)
    one = plan_order(paths, time_budget_s=None, max_moves=100)
    two = plan_order(paths, time_budget_s=None, max_moves=100)
    assert one.moves == two.moves == 100
    assert np.array_equal(one.order, two.order) and np.array_equal(one.reversed, two.reversed)


def test_already_optimal_order_is_not_made_worse():
    # Segments along a line, in order, each starting where the last ended + 1.
    paths = [P([2 * i, 0], [2 * i + 1, 0]) for i in range(50)]
    out = order_paths(paths, start=(0, 0), time_budget_s=None)
    assert travel_length(out, start=(0, 0)) == pytest.approx(travel_length(paths, start=(0, 0)))


def test_reordering_an_ordered_drawing_never_makes_it_worse():
    paths = random_segments(2000, 21)
    once = order_paths(paths, time_budget_s=None)
    for neighbours in (3, 5, 10):
        again = order_paths(once, time_budget_s=None, neighbours=neighbours)
        assert travel_length(again, start=(0, 0)) <= travel_length(once, start=(0, 0)) + 1e-9


def test_closed_path_starts_at_the_vertex_nearest_the_pen():
    square = P([10, 10], [20, 10], [20, 20], [10, 20], [10, 10])
    first = P([0, 0], [19, 21])  # ends next to the corner (20, 20)
    out = order_paths([square, first], start=(0, 0), time_budget_s=None)
    assert out[0].tolist() == first.tolist()
    ring = out[1]
    assert ring[0].tolist() == [20, 20] and ring[-1].tolist() == [20, 20]
    assert canonical(ring) == canonical(square)
    assert travel_length(out, start=(0, 0)) == pytest.approx(np.hypot(1, 1))


def test_closed_path_rotation_considers_the_next_path():
    square = P([0, 0], [10, 0], [10, 10], [0, 10], [0, 0])
    later = P([10.5, 10.5], [30, 30])
    # From the start (5, 5) all corners are equally far; the next path decides.
    out = order_paths([square, later], start=(5, 5), time_budget_s=None)
    assert out[0][0].tolist() == [10, 10]


def test_rotate_closed_path():
    ring = P([0, 0], [1, 0], [1, 1], [0, 0])
    assert rotate_closed_path(ring, 1).tolist() == [[1, 0], [1, 1], [0, 0], [1, 0]]
    assert is_closed(ring) and not is_closed(P([0, 0], [0, 0]))


def test_empty_and_tiny_inputs():
    assert order_paths([]) == ()
    assert order_paths([np.zeros((0, 2))]) == ()
    single = order_paths([P([5, 5], [1, 1])], start=(0, 0))
    assert single[0].tolist() == [[1, 1], [5, 5]]
    dots = order_paths([P([3, 3]), P([1, 1])], start=(0, 0), time_budget_s=None)
    assert [d.tolist() for d in dots] == [[[1, 1]], [[3, 3]]]


def test_input_is_not_modified():
    paths = random_segments(200, 4)
    copies = [p.copy() for p in paths]
    out = order_paths(paths, time_budget_s=None)
    assert all(np.array_equal(a, b) for a, b in zip(paths, copies))
    assert not any(np.shares_memory(o, p) for o in out for p in paths[:20])


def test_improvement_never_worse_than_greedy_on_many_small_cases():
    # Small tours exercise the edge cases of the moves: runs at the array's
    # ends, runs next to p, the start position moving inside the cycle.
    rng = np.random.default_rng(123)
    for case in range(300):
        n = int(rng.integers(3, 14))
        paths = []
        for _ in range(n):
            k = int(rng.integers(1, 4))
            paths.append(rng.uniform(0, 20, (k, 2)))
        start = tuple(rng.uniform(0, 20, 2))
        greedy = plan_order(paths, start=start, time_budget_s=0)
        improved = plan_order(paths, start=start, time_budget_s=None, neighbours=int(rng.integers(2, 10)))
        g = travel_length(greedy.apply(paths), start=start)
        i = travel_length(improved.apply(paths), start=start)
        assert i <= g + 1e-9, case
        assert sorted(improved.order.tolist()) == list(range(n)), case
