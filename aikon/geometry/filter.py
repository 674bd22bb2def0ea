"""Filtering: drop fragments too short to be worth a pen lift."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from aikon.drawing import Path, as_path


def filter_short(paths: Sequence[Path], min_length: float) -> tuple[Path, ...]:
    """Keep the paths whose pen-down length is at least ``min_length``.

    Parameters
    ----------
    paths : sequence of (N, 2) float arrays, mm
    min_length : float
        Shortest path kept, mm. With 0 only empty paths are dropped (a
        single point, a dot, has length 0 and is kept).

    Returns
    -------
    tuple of (N, 2) float64 arrays, mm
        Copies of the kept paths, in their original order.

    Examples
    --------
    >>> import numpy as np
    >>> len(filter_short([np.array([[0, 0], [0.1, 0]]), np.array([[0, 0], [5, 0]])], 1.0))
    1
    """
    if min_length < 0:
        raise ValueError("minimum length must be >= 0 mm")
    arrays = [as_path(p) for p in paths]
    arrays = [p for p in arrays if len(p)]
    lengths = path_lengths(arrays)
    return tuple(p.copy() for p, length in zip(arrays, lengths.tolist()) if length >= min_length)


def path_lengths(paths: Sequence[Path]) -> np.ndarray:
    """Pen-down length of each path in mm, as one vectorised computation.

    Parameters
    ----------
    paths : sequence of (N, 2) float arrays, mm

    Returns
    -------
    (len(paths),) float64 array, mm (0 for empty and single-point paths)
    """
    if not paths:
        return np.zeros(0)
    counts = np.array([len(p) for p in paths], dtype=np.int64)
    nonempty = [p for p in paths if len(p)]
    if not nonempty:
        return np.zeros(len(paths))
    pts = np.concatenate(nonempty).astype(np.float64, copy=False)
    seg = np.hypot(*np.diff(pts, axis=0).T) if len(pts) > 1 else np.zeros(0)
    # Segment k joins point k to k + 1; the ones that cross from one path to
    # the next are not ink.
    ends = np.cumsum(counts[counts > 0])
    seg = np.append(seg, 0.0)
    seg[ends - 1] = 0.0
    per_point = np.concatenate([[0.0], np.cumsum(seg)])
    starts = ends - counts[counts > 0]
    lengths = np.zeros(len(paths))
    lengths[counts > 0] = per_point[ends - 1] - per_point[starts]
    return lengths
