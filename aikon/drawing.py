"""The core drawing model every stage reads and writes.

Units are millimetres. Page coordinates have their origin at the top-left
corner of the paper, x to the right and y down (as in SVG). A *path* is a
polyline: a ``(N, 2)`` float64 numpy array of ``(x, y)`` points in mm, drawn
pen-down from the first point to the last. A closed path repeats its first
point at the end. A *layer* is an ordered tuple of paths drawn with one pen; a
*drawing* is a page plus layers, drawn in order.

Everything here is immutable by convention: functions return new objects and
never modify their inputs. Machine coordinates (origin corner, axis flips)
appear only in the machine writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

Path = np.ndarray  # (N, 2) float64, mm

# Paper sizes in mm, portrait orientation (width, height).
PAPER_SIZES: dict[str, tuple[float, float]] = {
    "A2": (420.0, 594.0),
    "A3": (297.0, 420.0),
    "A4": (210.0, 297.0),
    "A5": (148.0, 210.0),
    "A6": (105.0, 148.0),
    "LETTER": (215.9, 279.4),
    "LEGAL": (215.9, 355.6),
    "TABLOID": (279.4, 431.8),
}


@dataclass(frozen=True)
class Page:
    """A sheet of paper: its size in mm (x right, y down from the top-left)."""

    width: float
    height: float

    @property
    def size(self) -> tuple[float, float]:
        return (self.width, self.height)


@dataclass(frozen=True)
class Layer:
    """Paths drawn with one pen, in order.

    Attributes
    ----------
    name : str
        Shown as the Inkscape layer label ("lines", "shade-1", ...).
    paths : tuple of (N, 2) float64 arrays, mm
    pen_width : float
        Nominal stroke width in mm (used for previews and spacing).
    color : str
        SVG colour used for previews and the SVG stroke.
    """

    name: str
    paths: tuple[Path, ...] = ()
    pen_width: float = 0.3
    color: str = "black"

    def with_paths(self, paths: Iterable[Path]) -> "Layer":
        return replace(self, paths=tuple(as_path(p) for p in paths))


@dataclass(frozen=True)
class Drawing:
    """A page and the layers drawn on it, in order; metadata is free-form."""

    page: Page
    layers: tuple[Layer, ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)

    def with_layers(self, layers: Iterable[Layer]) -> "Drawing":
        return replace(self, layers=tuple(layers))

    def map_layers(self, fn) -> "Drawing":
        """Return a drawing with ``fn(layer) -> Layer`` applied to each layer."""
        return self.with_layers(fn(layer) for layer in self.layers)

    def all_paths(self) -> Iterator[Path]:
        for layer in self.layers:
            yield from layer.paths

    @property
    def path_count(self) -> int:
        return sum(len(layer.paths) for layer in self.layers)

    @property
    def point_count(self) -> int:
        return sum(len(p) for p in self.all_paths())


def as_path(points: Sequence | np.ndarray) -> Path:
    """Return ``points`` as a contiguous ``(N, 2)`` float64 array (a copy if needed)."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"a path must have shape (N, 2), got {arr.shape}")
    return np.ascontiguousarray(arr)


def path_length(path: Path) -> float:
    """Pen-down length of one polyline in mm."""
    if len(path) < 2:
        return 0.0
    return float(np.hypot(*np.diff(path, axis=0).T).sum())


def paths_length(paths: Iterable[Path]) -> float:
    return float(sum(path_length(p) for p in paths))


def pen_down_length(drawing: Drawing) -> float:
    """Total pen-down length of a drawing in mm."""
    return paths_length(drawing.all_paths())


def travel_length(paths: Sequence[Path], start: Sequence[float] | None = None) -> float:
    """Pen-up travel between consecutive paths, in mm.

    If ``start`` is given (e.g. the home position), the travel from it to the
    first path is included; travel back home is not.
    """
    if not paths:
        return 0.0
    ends = np.array([p[-1] for p in paths[:-1]], dtype=np.float64).reshape(-1, 2)
    starts = np.array([p[0] for p in paths[1:]], dtype=np.float64).reshape(-1, 2)
    total = float(np.hypot(*(starts - ends).T).sum()) if len(ends) else 0.0
    if start is not None:
        total += float(np.hypot(*(np.asarray(paths[0][0]) - np.asarray(start, dtype=float))))
    return total


def pen_up_travel(drawing: Drawing, start: Sequence[float] | None = None) -> float:
    """Pen-up travel of the whole drawing in drawing order (layers in order), mm."""
    return travel_length(list(drawing.all_paths()), start=start)


def pen_lifts(drawing: Drawing) -> int:
    """Number of times the pen goes down (= number of non-empty paths)."""
    return sum(1 for p in drawing.all_paths() if len(p) >= 1)


def bounds(paths: Iterable[Path]) -> tuple[float, float, float, float] | None:
    """``(xmin, ymin, xmax, ymax)`` of all points in mm, or None if there are none."""
    arrays = [p for p in paths if len(p)]
    if not arrays:
        return None
    pts = np.concatenate(arrays)
    xmin, ymin = pts.min(axis=0)
    xmax, ymax = pts.max(axis=0)
    return (float(xmin), float(ymin), float(xmax), float(ymax))


def drawing_bounds(drawing: Drawing) -> tuple[float, float, float, float] | None:
    return bounds(drawing.all_paths())


def transform_paths(paths: Iterable[Path], scale: float = 1.0, offset: Sequence[float] = (0.0, 0.0)) -> tuple[Path, ...]:
    """Return ``paths`` scaled about the origin then translated by ``offset``."""
    off = np.asarray(offset, dtype=np.float64)
    return tuple(np.asarray(p, dtype=np.float64) * scale + off for p in paths)


def from_pixels(paths_px: Iterable[np.ndarray], mm_per_px: float, offset_mm: Sequence[float] = (0.0, 0.0)) -> tuple[Path, ...]:
    """THE one pixel -> millimetre step.

    Parameters
    ----------
    paths_px : iterable of (N, 2) arrays
        Polylines in image pixels as ``(x, y)`` = ``(column, row)``.
    mm_per_px : float
        Scale from pixels to millimetres.
    offset_mm : (2,) sequence
        Page position in mm of pixel ``(0, 0)``.
    """
    return transform_paths(paths_px, scale=mm_per_px, offset=offset_mm)


def drawing_stats(drawing: Drawing, start: Sequence[float] | None = None) -> dict[str, float | int]:
    """Counts users compare: paths, points, pen-down length, pen-up travel, pen lifts."""
    return {
        "paths": drawing.path_count,
        "points": drawing.point_count,
        "pen_down_mm": round(pen_down_length(drawing), 3),
        "pen_up_mm": round(pen_up_travel(drawing, start=start), 3),
        "pen_lifts": pen_lifts(drawing),
    }


def parse_paper(spec: str, *, landscape: bool = False) -> Page:
    """Page from a paper name (A2..A6, Letter, ...) or ``WxH`` in mm.

    >>> parse_paper("A4")
    Page(width=210.0, height=297.0)
    >>> parse_paper("300x200")
    Page(width=300.0, height=200.0)
    """
    from aikon.errors import InputError

    key = spec.strip().upper()
    if key in PAPER_SIZES:
        w, h = PAPER_SIZES[key]
    else:
        parts = key.replace("MM", "").split("X")
        try:
            w, h = (float(v) for v in parts)
        except ValueError:
            names = ", ".join(sorted(PAPER_SIZES))
            raise InputError(f"unknown paper {spec!r}: use one of {names} or WxH in mm (e.g. 300x200)") from None
        if not (w > 0 and h > 0) or w > 5000 or h > 5000:
            raise InputError(f"paper {spec!r}: width and height must be between 0 and 5000 mm")
        return Page(w, h) if not landscape else Page(max(w, h), min(w, h))
    return Page(h, w) if landscape else Page(w, h)
