"""Layout: fit content of a known size onto a page, centred within margins."""

from __future__ import annotations

from aikon.drawing import Page
from aikon.errors import InputError


def fit_scale_offset(content_size: tuple[float, float], page: Page, margin: float) -> tuple[float, tuple[float, float]]:
    """Scale and offset that fit a ``(width, height)`` box into ``page`` minus ``margin``, centred.

    Returns ``(scale, (dx, dy))`` such that a content point ``p`` lands at
    ``p * scale + (dx, dy)`` on the page (mm).
    """
    cw, ch = content_size
    avail_w, avail_h = page.width - 2 * margin, page.height - 2 * margin
    if avail_w <= 0 or avail_h <= 0:
        raise InputError(f"margin {margin:g} mm leaves no room on a {page.width:g}x{page.height:g} mm page")
    if cw <= 0 or ch <= 0:
        return 1.0, (page.width / 2, page.height / 2)
    scale = min(avail_w / cw, avail_h / ch)
    return scale, ((page.width - cw * scale) / 2, (page.height - ch * scale) / 2)
