"""SVG writer: one Inkscape layer per drawing layer, page size in mm.

The SVG's ``width``/``height`` are in millimetres and the ``viewBox`` matches
them, so one user unit is one millimetre: Inkscape, vpype and the AxiDraw
software read the geometry at its true size. Each :class:`~aikon.drawing.Layer`
becomes a ``<g inkscape:groupmode="layer">`` labelled with its name (vpype and
AxiDraw's layer plotting use the label), holding one ``<polyline>`` per path.
Output is deterministic (no dates), so golden tests can compare bytes.
"""

from __future__ import annotations

import io
import os
from typing import TextIO

import numpy as np

from aikon.drawing import Drawing, Path
from aikon.fileio import atomic_output

DECIMALS = 3  # 1 micrometre: far below any pen width


def _fmt(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _points_attr(path: Path) -> str:
    # Round once in numpy (adding 0.0 turns -0.0 into 0.0), then print the
    # shortest form: after rounding to 3 decimals, 10 significant digits are exact.
    rounded = (np.round(np.asarray(path, dtype=np.float64), DECIMALS) + 0.0).tolist()
    return " ".join(f"{x:.10g},{y:.10g}" for x, y in rounded)


def drawing_to_svg(drawing: Drawing, *, title: str | None = None) -> str:
    """Return the SVG document for ``drawing`` as a string."""
    import svgwrite
    import svgwrite.shapes
    from svgwrite.extensions import Inkscape

    w, h = drawing.page.width, drawing.page.height
    doc = svgwrite.Drawing(size=(f"{_fmt(w)}mm", f"{_fmt(h)}mm"), viewBox=f"0 0 {_fmt(w)} {_fmt(h)}",
                           profile="full", debug=False)
    inkscape = Inkscape(doc)

    class _Polyline(svgwrite.shapes.Polyline):  # takes its points pre-formatted (fast, stable)
        def __init__(self, points_text: str, **extra) -> None:
            super().__init__([], **extra)
            self._points_text = points_text

        def points_to_string(self, points) -> str:
            return self._points_text

    if title:
        doc.set_desc(title=title)
    for index, layer in enumerate(drawing.layers, start=1):
        group = inkscape.layer(label=f"{index}-{layer.name}", id=f"layer{index}")
        group.attribs.update({
            "fill": "none",
            "stroke": layer.color,
            "stroke-width": _fmt(layer.pen_width),
            "stroke-linecap": "round",
            "stroke-linejoin": "round",
        })
        for path in layer.paths:
            if len(path) == 0:
                continue
            if len(path) == 1:  # a dot: a zero-length segment still plots (and renders with round caps)
                path = np.vstack([path, path])
            group.add(_Polyline(_points_attr(path), factory=doc))
        doc.add(group)
    buffer = io.StringIO()
    doc.write(buffer, pretty=True, indent=1)
    return buffer.getvalue() + "\n"


def write_svg(drawing: Drawing, target: str | os.PathLike | TextIO, *, title: str | None = None) -> None:
    """Write ``drawing`` as SVG to a path (atomically) or to an open text stream."""
    text = drawing_to_svg(drawing, title=title)
    if hasattr(target, "write"):
        target.write(text)
        return
    with atomic_output(target, "w", newline="\n") as fh:
        fh.write(text)
