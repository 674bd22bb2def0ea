"""SVG import: any SVG a user brings (Inkscape, vpype, aikon, ...) as a Drawing in mm.

Parsing, CSS, units, ``viewBox`` and nested transforms are svgelements' job;
this module decides how the result maps onto the drawing model:

- Shapes (path, line, polyline, polygon, rect, circle, ellipse) become
  polylines; arcs and quadratic/cubic Beziers are flattened so that no chord
  is further than ``tolerance_mm`` from the true curve. Each subpath is one
  path; ``Z`` closes it (the first point is repeated at the end).
- Layers: Inkscape layers (``<g inkscape:groupmode="layer">``, named by
  ``inkscape:label``, else ``id``) become layers in document order, a nested
  layer being a layer of its own. A document without Inkscape layers keeps
  its top-level groups as layers instead. Shapes outside every layer go to
  a layer named ``default`` (first, if it has any paths). A label ``k-name``
  on the k-th layer (how aikon's SVG writer numbers layers) is read as
  ``name``, so reading and writing again keeps the labels.
- ``<use>`` instances are drawn where they are placed; ``<defs>`` alone are not.
- The page is the SVG's ``width`` x ``height`` (mm, cm, in, pt, pc, or px at
  96 px per inch); without them, the ``viewBox`` size in px.
- Text, images and hidden elements are ignored (a plotter cannot draw text
  that was not converted to paths).
"""

from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path as FsPath
import numpy as np

from aikon.drawing import Drawing, Layer, Page, Path
from aikon.errors import InputError

PX_PER_INCH = 96.0
# svgelements converts physical units to px with 0.0393701 in per mm (not
# exactly 1 / 25.4); converting back with the same factor makes documents
# sized in mm (the usual case for plotters) come back exact. The difference is
# 5e-7 relative: 0.1 um on an A4 page.
MM_PER_PX = 1.0 / (PX_PER_INCH * 0.0393701)
_INKSCAPE_NS = "{http://www.inkscape.org/namespaces/inkscape}"
DEFAULT_LAYER = "default"


def read_svg(source: str | os.PathLike | bytes, *, tolerance_mm: float = 0.05) -> Drawing:
    """Read an SVG file (or SVG text) into a :class:`~aikon.drawing.Drawing` in mm.

    Parameters
    ----------
    source : str, path-like or bytes
        A file path, or the SVG document itself (text starting with ``<``, or bytes).
    tolerance_mm : float
        Largest distance in mm between a curve (arc, Bezier) and its flattened
        polyline.

    Returns
    -------
    Drawing
        Page size from the SVG, layers as described in the module docstring;
        ``metadata["source"]`` names the file when read from one.

    Raises
    ------
    InputError
        If the file is missing or unreadable, not XML, or not an SVG.
    """
    import svgelements as se

    if not tolerance_mm > 0:
        raise ValueError("tolerance_mm must be > 0")
    stream, label = _open_source(source)
    try:
        svg = se.SVG.parse(stream, reify=True, ppi=PX_PER_INCH)
    except Exception as exc:  # svgelements raises ParseError, ValueError, ... for bad documents
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{label}: not a readable SVG ({reason})") from None
    if not isinstance(svg, se.SVG):
        raise InputError(f"{label}: not an SVG document (no <svg> root element)")
    tol_px = tolerance_mm / MM_PER_PX

    width_px = _finite_or_none(getattr(svg, "width", None))
    height_px = _finite_or_none(getattr(svg, "height", None))
    if not width_px or not height_px:
        box = getattr(svg, "viewbox", None)
        width_px = width_px or _finite_or_none(getattr(box, "width", None)) or 0.0
        height_px = height_px or _finite_or_none(getattr(box, "height", None)) or 0.0
    page = Page(width_px * MM_PER_PX, height_px * MM_PER_PX)

    has_inkscape_layers = any(_is_inkscape_layer(e) for e in svg.elements() if isinstance(e, se.Group))
    collected: list[tuple[str, list[Path], dict]] = []
    default: tuple[str, list[Path], dict] = (DEFAULT_LAYER, [], {})

    def visit(group, target: tuple[str, list[Path], dict], top_level: bool) -> None:
        for element in group:
            if isinstance(element, se.Group):
                if _is_inkscape_layer(element) or (top_level and not has_inkscape_layers):
                    layer = (_group_name(element, len(collected) + 1), [], {})
                    collected.append(layer)
                    visit(element, layer, False)
                else:
                    visit(element, target, False)
            elif isinstance(element, se.Use):  # an instance of a referenced element, transform applied
                visit(element, target, False)
            elif isinstance(element, se.Shape):
                paths = _shape_to_paths(element, tol_px, se)
                if paths:
                    target[1].extend(paths)
                    _note_style(element, target[2])

    visit(svg, default, True)
    layers = []
    for index, (name, paths, style) in enumerate(([default] if default[1] else []) + collected, start=1):
        # aikon's SVG writer labels layer k "k-<name>"; drop that prefix when
        # it matches the layer's position, so read -> write keeps the labels.
        numbered = re.fullmatch(rf"{index}-(.+)", name)
        layers.append(Layer(name=numbered.group(1) if numbered else name, paths=tuple(paths), **style))
    metadata = {"source": label} if label != "<svg text>" else {}
    return Drawing(page=page, layers=tuple(layers), metadata=metadata)


def _open_source(source: str | os.PathLike | bytes) -> tuple[io.BytesIO, str]:
    """The document as a byte stream, and a label for messages."""
    if isinstance(source, bytes):
        return io.BytesIO(source), "<svg text>"
    if isinstance(source, str) and source.lstrip().startswith("<"):
        return io.BytesIO(source.encode("utf-8")), "<svg text>"
    path = FsPath(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an SVG file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return io.BytesIO(data), str(path)


def _finite_or_none(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _own_attributes(element) -> dict:
    # element.values also holds attributes inherited from ancestors; these are its own.
    return element.values.get("attributes", {}) or {}


def _is_inkscape_layer(group) -> bool:
    return _own_attributes(group).get(_INKSCAPE_NS + "groupmode") == "layer"


def _group_name(group, index: int) -> str:
    attrs = _own_attributes(group)
    return str(attrs.get(_INKSCAPE_NS + "label") or attrs.get("id") or f"layer{index}")


def _note_style(shape, style: dict) -> None:
    """Take a layer's colour and pen width from its first stroked shape."""
    if style:
        return
    stroke = getattr(shape, "stroke", None)
    if stroke is None or getattr(stroke, "value", None) is None:
        return
    try:
        style["color"] = stroke.hexrgb
    except Exception:  # an unusual colour value: keep the layer's default
        return
    if "stroke-width" not in shape.values:
        return  # SVG's default width (1 user unit) says nothing about the pen
    width_px = getattr(shape, "implicit_stroke_width", None) or getattr(shape, "stroke_width", None)
    width = _finite_or_none(width_px)
    if width:
        style["pen_width"] = round(width * MM_PER_PX, 4)


def _shape_to_paths(shape, tol_px: float, se) -> list[Path]:
    """Flatten one (already transformed) shape into polylines in mm."""
    try:
        segments = list(se.Path(shape).segments())
    except Exception:  # a degenerate shape (e.g. zero-size rect) has no geometry
        return []
    out: list[Path] = []
    current: list[np.ndarray] = []

    def flush() -> None:
        if current:
            pts = np.concatenate(current)
            out.append(np.ascontiguousarray(pts * MM_PER_PX))
            current.clear()

    for seg in segments:
        if isinstance(seg, se.Move):
            flush()
            if seg.end is not None:
                current.append(np.array([[seg.end.x, seg.end.y]], dtype=np.float64))
            continue
        if seg.start is None or seg.end is None:
            continue
        if not current:
            current.append(np.array([[seg.start.x, seg.start.y]], dtype=np.float64))
        if isinstance(seg, (se.Line, se.Close)):
            current.append(np.array([[seg.end.x, seg.end.y]], dtype=np.float64))
        else:
            count = _curve_segments(seg, tol_px, se)
            t = np.linspace(0.0, 1.0, count + 1)[1:]
            pts = np.asarray(seg.npoint(t), dtype=np.float64).reshape(-1, 2)
            current.append(pts)
        if isinstance(seg, se.Close):
            flush()
    flush()
    # Shapes drawn as a single point (e.g. "M x y" alone) are not ink.
    return [_drop_repeats(p) for p in out if len(p) >= 2]


def _curve_segments(seg, tol_px: float, se) -> int:
    """Chords needed so a curve's flattening stays within ``tol_px`` of it."""
    if isinstance(seg, se.Arc):
        radius = max(abs(float(seg.rx)), abs(float(seg.ry)))
        sweep = abs(float(seg.sweep))
        if radius <= 0 or sweep == 0:
            return 1
        # Sagitta of a chord spanning angle a on radius r: r (1 - cos(a / 2)) <= tol.
        step = 2.0 * math.acos(max(-1.0, 1.0 - tol_px / radius)) if tol_px < radius else math.pi
        return max(1, int(math.ceil(sweep / step)))
    if isinstance(seg, se.CubicBezier):
        p = np.array([[seg.start.x, seg.start.y], [seg.control1.x, seg.control1.y],
                      [seg.control2.x, seg.control2.y], [seg.end.x, seg.end.y]], dtype=np.float64)
        second = 6.0 * max(np.hypot(*(p[0] - 2 * p[1] + p[2])), np.hypot(*(p[1] - 2 * p[2] + p[3])))
    elif isinstance(seg, se.QuadraticBezier):
        p = np.array([[seg.start.x, seg.start.y], [seg.control.x, seg.control.y],
                      [seg.end.x, seg.end.y]], dtype=np.float64)
        second = 2.0 * float(np.hypot(*(p[0] - 2 * p[1] + p[2])))
    else:  # an unknown curve type: sample densely by its length
        length = float(seg.length())
        return max(1, int(math.ceil(length / max(tol_px, 1e-9))))
    # A chord over a parameter step h deviates from the curve by at most
    # max|B''| h^2 / 8, so n = sqrt(max|B''| / (8 tol)) chords suffice.
    return max(1, min(100000, int(math.ceil(math.sqrt(second / (8.0 * tol_px))))))


def _drop_repeats(path: np.ndarray) -> np.ndarray:
    """Remove consecutive duplicate points (keeping at least two)."""
    if len(path) < 3:
        return path
    keep = np.ones(len(path), dtype=bool)
    keep[1:] = np.any(np.diff(path, axis=0) != 0, axis=1)
    out = path[keep]
    return np.ascontiguousarray(out if len(out) >= 2 else path[[0, -1]])

