"""Strokes drawn from the tone regions: salient lines and hatching, in pixels.

See :mod:`aikon.strokes.lines` and :mod:`aikon.strokes.hatching`. Polylines are
``(N, 2)`` float64 arrays of ``(x, y)`` = ``(column, row)`` in image pixels; the
pipeline converts them to millimetres with :func:`aikon.drawing.from_pixels`.
"""

from __future__ import annotations

from aikon.strokes.hatching import (
    hatch_angles_for_levels,
    hatch_mask,
    hatch_regions,
    hatch_spacing_for_levels,
    ink_length,
    tone_matched_spacing,
)
from aikon.strokes.lines import edge_map, salient_lines, smooth_polyline, trace_skeleton

__all__ = [
    "edge_map",
    "salient_lines",
    "smooth_polyline",
    "trace_skeleton",
    "hatch_angles_for_levels",
    "hatch_mask",
    "hatch_regions",
    "hatch_spacing_for_levels",
    "ink_length",
    "tone_matched_spacing",
]
