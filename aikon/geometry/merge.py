"""Merging: join paths whose ends meet, so the pen is lifted fewer times."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from aikon.drawing import Path, as_path


def merge_paths(paths: Sequence[Path], tol: float, *, allow_reverse: bool = True) -> tuple[Path, ...]:
    """Join paths whose ends lie within ``tol`` of each other, reversing where needed.

    Chains are grown greedily: starting from each unused path in input order,
    the chain is extended at its end, then at its start, by the unused path
    with the nearest end within ``tol``. Where two ends coincide exactly the
    duplicate point is dropped; otherwise the short gap (at most ``tol``) is
    drawn as part of the merged path, which adds at most ``tol`` of ink per
    join. Paths that are already closed (first point equal to last) are not
    merged with others, so they stay closed and can be rotated by the sorter;
    a chain whose two ends meet within ``tol`` is closed exactly.

    Parameters
    ----------
    paths : sequence of (N, 2) float arrays, mm
    tol : float
        Largest gap between two ends that are joined, mm (0 joins only ends
        that coincide exactly).
    allow_reverse : bool
        If False, only the end of one path is joined to the start of another
        (no path is reversed).

    Returns
    -------
    tuple of (N, 2) float64 arrays, mm
        New arrays, in the order their chains were started; empty paths are
        dropped. The input is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> b = np.array([[2.0, 0.0], [1.0, 0.0]])
    >>> merge_paths([a, b], 0.01)[0].tolist()
    [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]
    """
    from scipy.spatial import cKDTree

    if tol < 0:
        raise ValueError("merge tolerance must be >= 0 mm")
    arrays = [as_path(p) for p in paths]
    arrays = [p for p in arrays if len(p)]
    n = len(arrays)
    if n < 2:
        return tuple(p.copy() for p in arrays)
    ends = np.empty((2 * n, 2), dtype=np.float64)
    ends[0::2] = [p[0] for p in arrays]
    ends[1::2] = [p[-1] for p in arrays]
    own_gap = np.hypot(*(ends[1::2] - ends[0::2]).T)
    closed = np.array([len(p) >= 3 for p in arrays]) & (own_gap <= 1e-9)

    # Candidate joins: for every end, the nearest few ends within tol, nearest
    # first. Ends in dense clusters may need more; those are re-queried below.
    n2 = 2 * n
    tree = cKDTree(ends)
    k = min(8, n2)
    dist, idx = tree.query(ends, k=k, distance_upper_bound=tol * (1 + 1e-12) + 1e-12)
    dist = dist.reshape(2 * n, k)
    idx = idx.reshape(2 * n, k)
    # Rows sorted by distance; a missing neighbour is reported as index 2n.
    candidates = idx.tolist()
    saturated = np.isfinite(dist[:, -1]).tolist()

    used = bytearray(n)
    for p in np.flatnonzero(closed).tolist():
        used[p] = 1

    def next_end(node: int) -> int:
        """Nearest end within tol of ``node`` on an unused path (-1 if none)."""
        for v in candidates[node]:
            if v == n2:
                break
            if not used[v >> 1] and (allow_reverse or (v & 1) == (node & 1) ^ 1):
                return v
        if saturated[node]:  # all k listed ends were taken: look further
            found = sorted(tree.query_ball_point(ends[node], tol * (1 + 1e-12) + 1e-12),
                           key=lambda v: (float(np.hypot(*(ends[v] - ends[node]))), v))
            for v in found:
                if not used[v >> 1] and (allow_reverse or (v & 1) == (node & 1) ^ 1):
                    return v
        return -1

    merged: list[Path] = []
    for first in range(n):
        if closed[first]:
            merged.append(arrays[first].copy())
            continue
        if used[first]:
            continue
        used[first] = 1
        # A chain is a list of (path, reversed) pieces.
        forward: list[tuple[int, bool]] = [(first, False)]
        tail = 2 * first + 1  # the free end node at the chain's end
        while True:
            v = next_end(tail)
            if v < 0:
                break
            q = v >> 1
            used[q] = 1
            backwards = bool(v & 1)  # entering q at its last point
            forward.append((q, backwards))
            tail = v ^ 1
        backward: list[tuple[int, bool]] = []
        head = 2 * first  # the free end node at the chain's start
        while True:
            v = next_end(head)
            if v < 0:
                break
            q = v >> 1
            used[q] = 1
            # q is prepended: it must end at v, so it is reversed if v is its first point.
            backwards = not (v & 1)
            backward.append((q, backwards))
            head = v ^ 1
        pieces = backward[::-1] + forward
        chain = _join([arrays[q][::-1] if r else arrays[q] for q, r in pieces])
        # A chain whose ends meet is a loop: close it exactly, so the sorter
        # can start it anywhere (the closing gap is at most tol, like a join).
        if len(pieces) > 1 and len(chain) >= 3 and not np.array_equal(chain[0], chain[-1]) \
                and float(np.hypot(*(chain[-1] - chain[0]))) <= tol:
            chain = np.vstack([chain, chain[:1]])
        merged.append(chain)
    return tuple(merged)


def _join(pieces: list[Path]) -> Path:
    """Concatenate polylines, dropping a point repeated at a join."""
    if len(pieces) == 1:
        return np.ascontiguousarray(pieces[0], dtype=np.float64).copy()
    parts = [pieces[0]]
    for prev, cur in zip(pieces[:-1], pieces[1:]):
        if np.array_equal(prev[-1], cur[0]):
            parts.append(cur[1:])
        else:
            parts.append(cur)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float64)
