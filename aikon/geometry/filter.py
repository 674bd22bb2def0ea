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
    kept = []
    for p in paths:
        arr = as_path(p)
        if not len(arr):
            continue
        length = float(np.hypot(*np.diff(arr, axis=0).T).sum()) if len(arr) > 1 else 0.0
        if length >= min_length:
            kept.append(arr.copy())
    return tuple(kept)
