"""Raster previews: the drawing as it will look on paper.

Strokes are drawn anti-aliased at their pen width (in mm, scaled by
``px_per_mm``) in their layer colour on a white page.
"""

from __future__ import annotations

import os

import numpy as np

from aikon.drawing import Drawing
from aikon.errors import InputError
from aikon.fileio import atomic_output

_SHIFT = 4  # cv2 sub-pixel bits: coordinates carry 1/16 px
_NAMED = {"black": (0, 0, 0), "red": (200, 30, 30), "blue": (30, 60, 200), "green": (20, 140, 40),
          "brown": (120, 70, 30), "gray": (128, 128, 128), "grey": (128, 128, 128)}


def _rgb(color: str) -> tuple[int, int, int]:
    c = color.strip().lower()
    if c in _NAMED:
        return _NAMED[c]
    if c.startswith("#") and len(c) in (4, 7):
        if len(c) == 4:
            c = "#" + "".join(ch * 2 for ch in c[1:])
        return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    return (0, 0, 0)


def render_drawing(drawing: Drawing, *, px_per_mm: float = 4.0, color: bool = True) -> np.ndarray:
    """Render ``drawing`` on white paper.

    Parameters
    ----------
    drawing : Drawing
    px_per_mm : float
        Raster resolution (4 px/mm is about 100 dpi).
    color : bool
        If False, return a grayscale image with all layers in black.

    Returns
    -------
    (H, W, 3) uint8 RGB image if ``color`` else (H, W) uint8, 255 = paper, where
    H = round(page.height * px_per_mm) and W = round(page.width * px_per_mm).
    """
    import cv2

    width_px = max(1, int(round(drawing.page.width * px_per_mm)))
    height_px = max(1, int(round(drawing.page.height * px_per_mm)))
    if width_px * height_px > 200_000_000:
        raise InputError(f"preview of {width_px}x{height_px} px is too large: lower the resolution")
    canvas = np.full((height_px, width_px, 3) if color else (height_px, width_px), 255, np.uint8)
    scale = px_per_mm * (1 << _SHIFT)
    for layer in drawing.layers:
        ink = _rgb(layer.color) if color else 0
        thickness = max(1, int(round(layer.pen_width * px_per_mm)))
        # cv2 uses pixel centres at integer coordinates; the page's pixel (i, j)
        # covers [i, i+1) mm/px, so shift by half a pixel.
        pts = [np.round(p * scale - (1 << (_SHIFT - 1))).astype(np.int32).reshape(-1, 1, 2)
               for p in layer.paths if len(p)]
        if pts:
            cv2.polylines(canvas, pts, False, ink, thickness, cv2.LINE_AA, _SHIFT)
    return canvas


def write_preview(drawing: Drawing, path: str | os.PathLike, *, px_per_mm: float | None = None,
                  max_side_px: int = 1800) -> None:
    """Write a PNG preview; by default the longer page side is ``max_side_px`` pixels."""
    import cv2

    if px_per_mm is None:
        px_per_mm = max_side_px / max(drawing.page.width, drawing.page.height)
    image = render_drawing(drawing, px_per_mm=px_per_mm)
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"could not encode preview {path}")
    with atomic_output(path, "wb") as fh:
        fh.write(data.tobytes())
