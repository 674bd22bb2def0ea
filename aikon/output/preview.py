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
    """Render ``drawing`` on white paper, strokes at their true pen width.

    Each layer's ink coverage comes from :func:`aikon.score.ink_coverage`
    (supersampled, so a 0.3 mm pen looks 0.3 mm wide at any angle, not the
    wider lines of OpenCV's anti-aliasing); layers are laid over each other
    like inks, in drawing order.

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
    from aikon.score import ink_coverage

    width_px = max(1, int(round(drawing.page.width * px_per_mm)))
    height_px = max(1, int(round(drawing.page.height * px_per_mm)))
    if width_px * height_px > 200_000_000:
        raise InputError(f"preview of {width_px}x{height_px} px is too large: lower the resolution")
    paper = np.ones((height_px, width_px, 3) if color else (height_px, width_px), np.float64)
    box = (0.0, 0.0, drawing.page.width, drawing.page.height)
    # One coverage raster per ink colour (layers of one colour do not darken each other).
    by_color: dict[str, list] = {}
    for layer in drawing.layers:
        if layer.paths and layer.pen_width > 0:
            by_color.setdefault(layer.color if color else "black", []).append(layer)
    for ink_name, layers in by_color.items():
        coverage = ink_coverage(drawing.with_layers(layers), box, px_per_mm=px_per_mm)[:height_px, :width_px]
        if color:
            ink = np.asarray(_rgb(ink_name), np.float64) / 255.0
            paper *= 1.0 - coverage[..., None] * (1.0 - ink)
        else:
            paper *= 1.0 - coverage
    return np.round(paper * 255.0).astype(np.uint8)


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
