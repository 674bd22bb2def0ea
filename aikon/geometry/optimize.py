"""The composed optimisation: merge, simplify, filter, order; with before/after statistics.

Each layer is optimised on its own and the layer order is kept (one pen per
layer). Tolerances default to fractions of each layer's pen width, so what
changes is below what the pen can show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Sequence

from aikon.drawing import Drawing, Layer, travel_length
from aikon.geometry.filter import filter_short, path_lengths
from aikon.geometry.merge import merge_paths
from aikon.geometry.simplify import simplify_paths
from aikon.geometry.sort import order_paths

#: Default tolerances as fractions of a layer's pen width.
MERGE_TOL_PER_PEN_WIDTH = 0.5
SIMPLIFY_TOL_PER_PEN_WIDTH = 0.25
MIN_LENGTH_PER_PEN_WIDTH = 0.0
#: Default time for the ordering's improvement pass, s. A cap, not a cost:
#: drawings of a few thousand paths converge in well under a second; 50,000
#: random segments need about 2 s on a laptop-class core.
DEFAULT_TIME_BUDGET_S = 5.0


@dataclass(frozen=True)
class OptimizeReport:
    """Statistics before and after optimisation (see :func:`aikon.drawing.drawing_stats`).

    Attributes
    ----------
    before, after : dict
        ``paths``, ``points``, ``pen_down_mm``, ``pen_up_mm`` (travel from
        ``start``, layers in order), ``pen_lifts``.
    seconds : float
        Wall time of the optimisation.
    settings : dict
        The tolerances used per layer (mm) and the time budget (s).
    """

    before: dict
    after: dict
    seconds: float
    settings: dict = field(default_factory=dict)

    def ratio(self, key: str) -> float:
        """``after[key] / before[key]`` (1.0 when both are 0)."""
        b, a = float(self.before[key]), float(self.after[key])
        return 1.0 if b == 0 and a == 0 else (a / b if b else float("inf"))

    def table(self) -> str:
        """A small aligned text table of the statistics, for the command line."""
        rows = [("paths", "paths", "{:d}"), ("points", "points", "{:d}"),
                ("pen-down length (mm)", "pen_down_mm", "{:.1f}"), ("pen-up travel (mm)", "pen_up_mm", "{:.1f}"),
                ("pen lifts", "pen_lifts", "{:d}")]
        body = [(label, fmt.format(self.before[key]), fmt.format(self.after[key]), f"{self.ratio(key):.3f}")
                for label, key, fmt in rows]
        header = ("", "before", "after", "after/before")
        widths = [max(len(r[i]) for r in body + [header]) for i in range(4)]
        lines = [f"{header[0]:<{widths[0]}}  " + "  ".join(f"{header[i]:>{widths[i]}}" for i in range(1, 4))]
        for r in body:
            lines.append(f"{r[0]:<{widths[0]}}  " + "  ".join(f"{r[i]:>{widths[i]}}" for i in range(1, 4)))
        return "\n".join(lines)


def optimize_layer(layer: Layer, *, merge_tol: float | None = None, simplify_tol: float | None = None,
                   min_length: float | None = None, time_budget_s: float | None = DEFAULT_TIME_BUDGET_S,
                   max_moves: int | None = None, start: Sequence[float] = (0.0, 0.0),
                   seed: int | None = 0) -> Layer:
    """Merge, simplify, filter and order the paths of one layer (see :func:`optimize_drawing`)."""
    merge_tol, simplify_tol, min_length = _tolerances(layer, merge_tol, simplify_tol, min_length)
    paths = layer.paths
    if merge_tol is not None and merge_tol >= 0:
        paths = merge_paths(paths, merge_tol)
    if simplify_tol > 0:
        paths = simplify_paths(paths, simplify_tol)
    paths = filter_short(paths, min_length)
    paths = order_paths(paths, start=start, time_budget_s=time_budget_s, max_moves=max_moves, seed=seed)
    return replace(layer, paths=paths)


def optimize_drawing(drawing: Drawing, *, merge_tol: float | None = None, simplify_tol: float | None = None,
                     min_length: float | None = None, time_budget_s: float | None = DEFAULT_TIME_BUDGET_S,
                     max_moves: int | None = None, start: Sequence[float] = (0.0, 0.0),
                     seed: int | None = 0) -> tuple[Drawing, OptimizeReport]:
    """Optimise every layer of a drawing for plotting; return the new drawing and a report.

    Per layer: join paths whose ends meet (:func:`~aikon.geometry.merge.merge_paths`),
    simplify (:func:`~aikon.geometry.simplify.simplify_paths`), drop short
    fragments (:func:`~aikon.geometry.filter.filter_short`) and order the
    paths to cut pen-up travel (:func:`~aikon.geometry.sort.order_paths`).
    Each layer starts from where the previous one ended (the first from ``start``).

    Parameters
    ----------
    drawing : Drawing
    merge_tol : float or None
        Largest gap joined, mm; None: half the layer's pen width; a negative
        value switches merging off.
    simplify_tol : float or None
        Largest distance any point may move, mm; None: a quarter of the pen
        width; 0 switches simplification off.
    min_length : float or None
        Paths shorter than this (mm) are dropped; None: keep all non-empty.
    time_budget_s : float or None
        Time for the ordering's improvement pass, in seconds, shared out
        between layers by path count (None: until no move improves).
    max_moves : int or None
        Cap on improving moves per layer (for results independent of speed).
    start : (2,) sequence, mm
        Pen position before the first path.
    seed : int or None
        Passed to the ordering.

    Returns
    -------
    (Drawing, OptimizeReport)
        A new drawing (the input is not modified) and before/after statistics.
    """
    t0 = time.perf_counter()
    before = drawing_statistics(drawing, start=start)
    total = max(1, drawing.path_count)
    layers = []
    position = start
    used = []
    for layer in drawing.layers:
        budget = None if time_budget_s is None else time_budget_s * len(layer.paths) / total
        new = optimize_layer(layer, merge_tol=merge_tol, simplify_tol=simplify_tol, min_length=min_length,
                             time_budget_s=budget, max_moves=max_moves, start=position, seed=seed)
        layers.append(new)
        used.append(dict(zip(("merge_tol", "simplify_tol", "min_length"),
                             _tolerances(layer, merge_tol, simplify_tol, min_length))))
        if new.paths:
            position = tuple(new.paths[-1][-1])
    result = drawing.with_layers(layers)
    after = drawing_statistics(result, start=start)
    settings = {"layers": {layer.name: tol for layer, tol in zip(drawing.layers, used)},
                "time_budget_s": time_budget_s}
    return result, OptimizeReport(before, after, time.perf_counter() - t0, settings)


def drawing_statistics(drawing: Drawing, start: Sequence[float] | None = (0.0, 0.0)) -> dict[str, float | int]:
    """The counts of :func:`aikon.drawing.drawing_stats`, vectorised for drawings of many paths.

    ``paths``, ``points``, ``pen_down_mm`` and ``pen_up_mm`` (from ``start``,
    layers in order; rounded to 1 um) and ``pen_lifts``.
    """
    paths = [p for p in drawing.all_paths() if len(p)]
    return {
        "paths": drawing.path_count,
        "points": drawing.point_count,
        "pen_down_mm": round(float(path_lengths(paths).sum()), 3),
        "pen_up_mm": round(travel_length(paths, start=start), 3),
        "pen_lifts": len(paths),
    }


def _tolerances(layer: Layer, merge_tol: float | None, simplify_tol: float | None,
                min_length: float | None) -> tuple[float | None, float, float]:
    width = float(layer.pen_width) if layer.pen_width and layer.pen_width > 0 else 0.3
    merge = MERGE_TOL_PER_PEN_WIDTH * width if merge_tol is None else (None if merge_tol < 0 else float(merge_tol))
    simplify = SIMPLIFY_TOL_PER_PEN_WIDTH * width if simplify_tol is None else float(simplify_tol)
    if simplify < 0:
        raise ValueError("simplify tolerance must be >= 0 mm")
    shortest = MIN_LENGTH_PER_PEN_WIDTH * width if min_length is None else float(min_length)
    return merge, simplify, shortest
