"""Simplification: fewer points, the same line within a tolerance."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from aikon.drawing import Path, as_path


def simplify_path(path: Path, tol: float) -> Path:
    """Douglas-Peucker simplification that never moves the line more than ``tol``.

    Distances are measured to the *segment* between the kept points (not to
    the infinite line through them), so every original point lies within
    ``tol`` of the simplified polyline. The first and last points are always
    kept, hence closed paths stay closed.

    Parameters
    ----------
    path : (N, 2) float array, mm
    tol : float
        Largest distance in mm from any original point to the result.

    Returns
    -------
    (M, 2) float64 array, mm
        A new array of a subset of the original points, in order (M <= N).

    Examples
    --------
    >>> import numpy as np
    >>> simplify_path(np.array([[0, 0], [1, 0.01], [2, 0]]), 0.05).tolist()
    [[0.0, 0.0], [2.0, 0.0]]
    """
    if tol < 0:
        raise ValueError("simplify tolerance must be >= 0 mm")
    pts = as_path(path)
    n = len(pts)
    if n <= 2:
        return pts.copy()
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    # Iterative (explicit stack) so long paths cannot hit the recursion limit;
    # each step is one vectorised distance computation over a run of points.
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        inner = pts[first + 1:last]
        d = _segment_distances(inner, pts[first], pts[last])
        i = int(np.argmax(d))
        if d[i] > tol:
            split = first + 1 + i
            keep[split] = True
            stack.append((split, last))
            stack.append((first, split))
    return np.ascontiguousarray(pts[keep])


def simplify_paths(paths: Sequence[Path], tol: float) -> tuple[Path, ...]:
    """:func:`simplify_path` applied to each path; returns new arrays in the same order."""
    return tuple(simplify_path(p, tol) for p in paths)


def _segment_distances(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each of ``points`` (K, 2) to the segment ``a``-``b`` (a point if a == b)."""
    ab = b - a
    ap = points - a
    denom = float(ab @ ab)
    if denom == 0.0:
        return np.hypot(ap[:, 0], ap[:, 1])
    t = np.clip((ap @ ab) / denom, 0.0, 1.0)
    diff = ap - t[:, None] * ab
    return np.hypot(diff[:, 0], diff[:, 1])
