"""Path ordering: minimise pen-up travel between the paths of one layer.

The pen draws each path from its first point to its last and travels pen-up
from the end of one path to the start of the next. :func:`order_paths` picks
the order, the direction of every open path and the start point of every
closed path so that this travel is short:

1. **Greedy nearest neighbour** from the start position, choosing either end
   of each path (a spatial index over all path ends, scipy's ``cKDTree``).
2. **Local improvement** under a time budget and a move cap: 2-opt moves
   (reverse a run of paths, which also flips each path in it) and Or-opt moves
   (move a run of one to three paths elsewhere, either way round), both
   restricted to the ``k`` nearest path ends of each end (neighbour lists)
   and driven by a work queue of paths whose surroundings changed
   ("don't-look bits").
3. **Closed paths** (first point equal to last) are rotated to start at the
   vertex that is cheapest to reach from the previous path and to leave for
   the next one.

Pen-up travel back to the start after the last path is not counted: the
ordering is an open tour from ``start``.

Internals, for the reader of the improvement code: the tour is kept as a
cycle over ``n + 1`` "paths", path ``n`` being a pseudo-path whose *out* end
is the start position and whose *in* end is a free node at distance 0 from
everything, which makes the open tour a symmetric cyclic one (classic 2-opt
then applies unchanged). Path ``p`` has end nodes ``2p`` (its first point) and
``2p + 1`` (its last); ``rev[p]`` says whether it is drawn backwards.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from aikon.drawing import Path, as_path

#: Gains below this (mm) are treated as no gain, so floating-point noise
#: cannot make the improvement loop cycle.
_MIN_GAIN_MM = 1e-9
#: A path whose first and last points are this close (mm) is closed.
_CLOSED_EPS_MM = 1e-9


@dataclass(frozen=True)
class PathOrder:
    """How to draw a list of paths.

    Attributes
    ----------
    order : (n,) int array
        Indices into the input list, in drawing order (each exactly once).
    reversed : (n,) bool array
        For each entry of ``order``, whether that path is drawn backwards.
    rotation : (n,) int array
        For each entry of ``order``, the vertex a closed path starts at
        (0 for open paths and unrotated closed paths).
    moves : int
        Improving moves applied after the greedy pass.
    """

    order: np.ndarray
    reversed: np.ndarray
    rotation: np.ndarray
    moves: int

    def apply(self, paths: Sequence[Path]) -> tuple[Path, ...]:
        """Return the paths in this order, reversed and rotated as planned (new arrays)."""
        out = []
        for index, backwards, shift in zip(self.order.tolist(), self.reversed.tolist(), self.rotation.tolist()):
            path = np.asarray(paths[index], dtype=np.float64)
            if shift:
                path = rotate_closed_path(path, shift)
            out.append(np.ascontiguousarray(path[::-1] if backwards else path.copy()))
        return tuple(out)


def is_closed(path: Path) -> bool:
    """True if ``path`` has at least 3 points and its last point equals its first."""
    return len(path) >= 3 and float(np.hypot(*(path[-1] - path[0]))) <= _CLOSED_EPS_MM


def rotate_closed_path(path: Path, start_vertex: int) -> Path:
    """Return a closed path drawn from vertex ``start_vertex`` round to itself.

    ``path`` repeats its first point at the end; so does the result.
    """
    ring = np.asarray(path, dtype=np.float64)[:-1]
    k = int(start_vertex) % len(ring)
    rotated = np.concatenate([ring[k:], ring[: k + 1]])
    return np.ascontiguousarray(rotated)


def order_paths(paths: Sequence[Path], *, start: Sequence[float] = (0.0, 0.0), allow_reverse: bool = True,
                time_budget_s: float | None = 5.0, max_moves: int | None = None, neighbours: int = 10,
                seed: int | None = 0) -> tuple[Path, ...]:
    """Reorder paths (reversing and rotating where useful) to shorten pen-up travel.

    Parameters
    ----------
    paths : sequence of (N, 2) float arrays, mm
        The paths of one layer. Empty paths are dropped; every other path
        appears exactly once in the result, with the same points (possibly in
        reverse order, or rotated if closed).
    start : (2,) sequence, mm
        Pen position before the first path (e.g. home at the page origin).
    allow_reverse : bool
        If False, open paths are always drawn in their given direction (and
        only the greedy pass runs: the improvement moves reverse paths).
    time_budget_s : float or None
        Wall-clock limit for the improvement pass in seconds (None: no time
        limit, stop when no move improves or at ``max_moves``).
    max_moves : int or None
        Cap on improving moves; with ``time_budget_s=None`` it makes the result
        independent of machine speed.
    neighbours : int
        Size of each path end's neighbour list for the improvement moves.
    seed : int or None
        Accepted for a stable signature; the ordering is fully deterministic
        (ties break by input order), so the seed does not change the result.

    Returns
    -------
    tuple of (N, 2) float64 arrays, mm
        New arrays; the input is not modified. The pen-up travel is never
        longer than drawing the paths in their given order.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[10.0, 0.0], [20.0, 0.0]])
    >>> b = np.array([[9.0, 0.0], [1.0, 0.0]])
    >>> [p[0].tolist() for p in order_paths([a, b])]
    [[1.0, 0.0], [10.0, 0.0]]
    """
    arrays = [as_path(p) for p in paths]
    keep = [i for i, p in enumerate(arrays) if len(p)]
    plan = plan_order([arrays[i] for i in keep], start=start, allow_reverse=allow_reverse,
                      time_budget_s=time_budget_s, max_moves=max_moves, neighbours=neighbours)
    return plan.apply([arrays[i] for i in keep])


def plan_order(paths: Sequence[Path], *, start: Sequence[float] = (0.0, 0.0), allow_reverse: bool = True,
               time_budget_s: float | None = 5.0, max_moves: int | None = None,
               neighbours: int = 10) -> PathOrder:
    """Compute the drawing order of non-empty ``paths`` (see :func:`order_paths`)."""
    n = len(paths)
    start_xy = np.asarray(start, dtype=np.float64).reshape(2)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return PathOrder(empty, np.zeros(0, dtype=bool), empty, 0)
    firsts = np.array([p[0] for p in paths], dtype=np.float64)
    lasts = np.array([p[-1] for p in paths], dtype=np.float64)
    closed = np.array([is_closed(p) for p in paths], dtype=bool)
    # Node 2p is the first point of path p, node 2p + 1 its last.
    ends = np.empty((2 * n, 2), dtype=np.float64)
    ends[0::2] = firsts
    ends[1::2] = lasts
    # A path that may not be reversed offers only its first point as an entry
    # (for a closed path that is the same point as its last).
    can_enter = np.ones(2 * n, dtype=bool)
    if not allow_reverse:
        can_enter[1::2] = False
    k = int(max(1, min(neighbours, 2 * n - 1)))
    neighbour_lists, neighbour_dists = _neighbour_lists(ends, start_xy, k)
    order, rev = _greedy(ends, can_enter, start_xy, neighbour_lists)
    # Improve whichever is shorter, the greedy tour or the given order, so the
    # result is never worse than the input (re-optimising an optimised
    # drawing must not undo it).
    identity = list(range(n))
    forward = [0] * n
    if _tour_travel(ends, identity, forward, start_xy) < _tour_travel(ends, order, rev, start_xy):
        order, rev = identity, forward
    moves = 0
    if n >= 3 and allow_reverse and (time_budget_s is None or time_budget_s > 0) and (max_moves is None or max_moves > 0):
        order, rev, moves = _improve(ends, start_xy, order, rev, neighbour_lists, neighbour_dists,
                                     time_budget_s, max_moves)
    rotation = _rotate_closed(paths, closed, order, rev, start_xy)
    return PathOrder(np.asarray(order, dtype=np.int64), np.asarray(rev, dtype=bool),
                     np.asarray(rotation, dtype=np.int64), moves)


def _tour_travel(ends: np.ndarray, order: Sequence[int], rev: Sequence[int], start_xy: np.ndarray) -> float:
    """Pen-up travel (mm) of drawing paths in ``order``, reversed per ``rev``, from ``start_xy``."""
    entry = 2 * np.asarray(order, dtype=np.int64) + np.asarray(rev, dtype=np.int64)
    exits = entry ^ 1
    hops = ends[entry[1:]] - ends[exits[:-1]]
    first = ends[entry[0]] - start_xy
    return float(np.hypot(*first) + np.hypot(hops[:, 0], hops[:, 1]).sum())


def _neighbour_lists(ends: np.ndarray, start_xy: np.ndarray, k: int) -> tuple[list[list[int]], list[list[float]]]:
    """For every end node (and the start, as node ``2n + 1``), its nearest nodes and their distances.

    Lists are sorted by distance and may include the node itself and the other
    end of its own path (callers skip their own path). Node ``2n`` (the free
    node) has empty lists.
    """
    from scipy.spatial import cKDTree

    n2 = len(ends)
    points = np.vstack([ends, start_xy[None, :]])
    node_of = np.arange(n2 + 1)
    node_of[n2] = n2 + 1  # the start position is node 2n + 1 (2n is the free node)
    kk = min(k + 2, len(points))
    dist, idx = cKDTree(points).query(points, k=kk)
    nodes = node_of[np.asarray(idx).reshape(len(points), kk)].tolist()
    dists = np.asarray(dist).reshape(len(points), kk).tolist()
    # Index by node id: nodes 0..2n-1, the free node 2n, the start 2n+1.
    nodes.insert(n2, [])
    dists.insert(n2, [])
    return nodes, dists


def _greedy(ends: np.ndarray, can_enter: np.ndarray, start_xy: np.ndarray,
            neighbour_lists: list[list[int]]) -> tuple[list[int], list[int]]:
    """Nearest-neighbour tour from ``start_xy``: returns (order, reversed flags)."""
    from scipy.spatial import cKDTree

    n2 = len(ends)
    n = n2 // 2
    used = bytearray(n)
    enterable = can_enter.tolist()
    order: list[int] = []
    rev: list[int] = []
    # Tree over the nodes still available; rebuilt when half of it is used up
    # so queries do not wade through dead nodes.
    alive = np.flatnonzero(can_enter)
    tree = cKDTree(ends[alive])
    alive_list = alive.tolist()
    dead_in_tree = 0
    current_node = n2 + 1  # the start position
    current_xy = start_xy
    for _ in range(n):
        found = -1
        # Fast path: the precomputed neighbours of the current end.
        for v in neighbour_lists[current_node]:
            if v < n2 and enterable[v] and not used[v >> 1]:
                found = v
                break
        if found >= 0:
            # The neighbour list is sorted by distance but only over k nodes:
            # it holds the nearest available node only if some listed node
            # was available, which is the case here.
            pass
        else:
            size = len(alive_list)
            kq = min(16, size)
            while True:
                _, idx = tree.query(current_xy, k=kq)
                for i in np.atleast_1d(idx).tolist():
                    if i >= size:
                        continue
                    v = alive_list[i]
                    if not used[v >> 1]:
                        found = v
                        break
                if found >= 0 or kq >= size:
                    break
                kq = min(kq * 4, size)
        p = found >> 1
        used[p] = 1
        order.append(p)
        rev.append(found & 1)
        current_node = found ^ 1
        current_xy = ends[current_node]
        dead_in_tree += 2
        remaining = n - len(order)
        if remaining and dead_in_tree * 2 > len(alive_list) and len(alive_list) > 64:
            mask = np.frombuffer(bytes(used), dtype=np.uint8).repeat(2) == 0
            alive = np.flatnonzero(mask & can_enter)
            tree = cKDTree(ends[alive])
            alive_list = alive.tolist()
            dead_in_tree = 0
    return order, rev


def _improve(ends: np.ndarray, start_xy: np.ndarray, order: list[int], rev_in: list[int],
             neighbour_lists: list[list[int]], neighbour_dists: list[list[float]], time_budget_s: float | None,
             max_moves: int | None) -> tuple[list[int], list[int], int]:
    """2-opt and Or-opt on neighbour lists; returns (order, reversed flags, moves)."""
    n = len(order)
    m = n + 1
    home = n
    free_node = 2 * n
    xs = ends[:, 0].tolist() + [0.0, float(start_xy[0])]
    ys = ends[:, 1].tolist() + [0.0, float(start_xy[1])]
    hypot = math.hypot

    def dist(a: int, b: int) -> float:
        if a == free_node or b == free_node:
            return 0.0
        return hypot(xs[a] - xs[b], ys[a] - ys[b])


    tour = np.empty(m, dtype=np.int64)
    tour[0] = home
    tour[1:] = order
    pos = np.empty(m, dtype=np.int64)
    pos[tour] = np.arange(m)
    rev = np.zeros(m, dtype=np.int8)
    rev[np.asarray(order, dtype=np.int64)] = rev_in  # rev_in is given in tour order
    # Scalar reads through memoryviews are much cheaper than numpy indexing;
    # bulk updates go through numpy (same memory).
    tour_v = memoryview(tour)
    pos_v = memoryview(pos)
    rev_v = memoryview(rev)

    def reverse_run(lo: int, hi: int) -> None:
        """Reverse positions lo..hi (inclusive, linear) or, if shorter, the rest of the cycle."""
        length = hi - lo + 1
        if length <= 0:
            return
        if 2 * length <= m:
            seg = tour[lo:hi + 1][::-1].copy()
            tour[lo:hi + 1] = seg
            pos[seg] = np.arange(lo, hi + 1)
            rev[seg] ^= 1
        else:
            idx = np.r_[hi + 1:m, 0:lo]
            if len(idx) == 0:
                return
            seg = tour[idx][::-1].copy()
            tour[idx] = seg
            pos[seg] = idx
            rev[seg] ^= 1

    def move_block_after(j0: int, j1: int, x: int, flip: bool) -> None:
        """Move the paths at positions j0..j1 to just after path x, reversed if ``flip``."""
        size = j1 - j0 + 1
        block = tour[j0:j1 + 1].copy()
        if flip:
            block = block[::-1].copy()
            rev[block] ^= 1
        i = pos_v[x]
        if j0 > i:  # the block lies after x: shift the paths between right
            tour[i + 1 + size:j1 + 1] = tour[i + 1:j0].copy()
            tour[i + 1:i + 1 + size] = block
            pos[tour[i + 1:j1 + 1]] = np.arange(i + 1, j1 + 1)
        else:  # the block lies before x: shift the paths between left
            tour[j0:i + 1 - size] = tour[j1 + 1:i + 1].copy()
            tour[i + 1 - size:i + 1] = block
            pos[tour[j0:i + 1]] = np.arange(j0, i + 1)

    queue = deque(tour.tolist())
    queued = bytearray([1]) * m
    moves = 0
    deadline = None if time_budget_s is None else time.perf_counter() + time_budget_s
    cap = max_moves if max_moves is not None else 50 * m
    pops = 0

    def push(*items: int) -> None:
        for it in items:
            if not queued[it]:
                queued[it] = 1
                queue.append(it)

    while queue and moves < cap:
        pops += 1
        if deadline is not None and (pops & 127) == 0 and time.perf_counter() > deadline:
            break
        p = queue.popleft()
        queued[p] = 0
        improved = False
        for direction in (1, -1):
            i = pos_v[p]
            rp = rev_v[p]
            if direction == 1:
                u = 2 * p + 1 - rp  # out end of p
                sp = tour_v[(i + 1) % m]
                s = 2 * sp + rev_v[sp]  # in end of the next path
            else:
                u = 2 * p + rp  # in end of p
                sp = tour_v[i - 1]
                s = 2 * sp + 1 - rev_v[sp]  # out end of the previous path
            d_us = dist(u, s)
            if d_us <= _MIN_GAIN_MM:
                continue
            best_gain = _MIN_GAIN_MM
            best = None
            # Neighbours nearest first: stop once a new edge (u, v) would be
            # no shorter than the edge it replaces.
            for v, d_uv in zip(neighbour_lists[u], neighbour_dists[u]):
                if d_uv >= d_us:
                    break
                q = v >> 1
                if q == p or q == sp:
                    continue
                j = pos_v[q]
                rq = rev_v[q]
                q_in = 2 * q + rq
                q_out = q_in ^ 1
                v_is_head = (v == q_out) if direction == 1 else (v == q_in)
                if v_is_head:
                    # 2-opt: new edges (u, v) and (s, t).
                    if direction == 1:
                        tq = tour_v[(j + 1) % m]
                        t = 2 * tq + rev_v[tq]
                    else:
                        tq = tour_v[j - 1]
                        t = 2 * tq + 1 - rev_v[tq]
                    gain = d_us + dist(v, t) - d_uv - dist(s, t)
                    if gain > best_gain:
                        best_gain = gain
                        best = (0, q, i, j, tq)
                # Or-opt: take out a run of 1-3 paths that has v at one end
                # (joining the paths either side, a and b) and put it between
                # p and sp so that v touches u and its other end w touches s.
                forward_run = v == q_in  # v is the run's entry: the run extends forward from q
                for size in (1, 2, 3):
                    if forward_run:
                        j0, j1 = j, j + size - 1
                    else:
                        j0, j1 = j - size + 1, j
                    if j0 < 0 or j1 >= m:
                        break  # runs do not wrap round the array's end
                    if size > 1:
                        new_pos = j1 if forward_run else j0
                        if new_pos == i or tour_v[new_pos] == sp:
                            break  # the run would include p or sp
                    first = tour_v[j0]
                    last = tour_v[j1]
                    e_in = 2 * first + rev_v[first]
                    e_out = 2 * last + 1 - rev_v[last]
                    qa = tour_v[j0 - 1]
                    qb = tour_v[(j1 + 1) % m]
                    a = 2 * qa + 1 - rev_v[qa]
                    b = 2 * qb + rev_v[qb]
                    w = e_out if forward_run else e_in
                    gain = dist(a, e_in) + dist(e_out, b) + d_us - dist(a, b) - d_uv - dist(w, s)
                    if gain > best_gain:
                        best_gain = gain
                        # Inserted after p (direction 1) the run must enter at
                        # v; inserted before p (direction -1) it must leave at v.
                        flip = (not forward_run) if direction == 1 else forward_run
                        best = (1, j0, j1, flip, qa, qb, first, last)
            if best is None:
                continue
            if best[0] == 0:
                _, q, i, j, tq = best
                lo, hi = (i, j) if i < j else (j, i)
                if direction == 1:
                    reverse_run(lo + 1, hi)
                else:
                    reverse_run(lo, hi - 1)
                push(p, sp, q, tq)
            else:
                _, j0, j1, flip, qa, qb, first, last = best
                move_block_after(j0, j1, p if direction == 1 else sp, flip)
                push(p, sp, first, last, qa, qb)
            moves += 1
            improved = True
            break
        if improved:
            push(p)

    # Unroll the cycle starting after the pseudo-path, in the direction that
    # leaves the start position through its real end.
    hp = pos_v[home]
    seq = np.roll(tour, -hp)[1:]
    flags = rev[seq].astype(bool)
    if rev_v[home]:
        seq = seq[::-1]
        flags = ~flags[::-1]
    return seq.tolist(), flags.astype(int).tolist(), moves


def _rotate_closed(paths: Sequence[Path], closed: np.ndarray, order: list[int], rev: list[int],
                   start_xy: np.ndarray) -> list[int]:
    """Start vertex for each closed path in drawing order (0 for open paths).

    Each closed path starts at the vertex minimising travel from the previous
    path's end plus travel to the next path's start (with its current
    rotation); one forward sweep.
    """
    n = len(order)
    rotation = [0] * n
    if not closed.any():
        return rotation
    prev_xy = start_xy
    for idx in range(n):
        p = order[idx]
        path = paths[p]
        if closed[p]:
            ring = path[:-1]
            cost = np.hypot(*(ring - prev_xy).T)
            if idx + 1 < n:
                q = order[idx + 1]
                nxt = paths[q][-1] if rev[idx + 1] else paths[q][0]
                cost = cost + np.hypot(*(ring - nxt).T)
            # Rotation is applied before any reversal, and a closed path drawn
            # backwards from vertex k still starts and ends at vertex k.
            k = int(np.argmin(cost))
            rotation[idx] = k
            prev_xy = ring[k]
        else:
            prev_xy = path[0] if rev[idx] else path[-1]
    return rotation
