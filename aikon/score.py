"""How good is a drawing? Compare it with the photograph it was drawn from.

The method (pure functions on arrays; only :mod:`aikon.cli.score` reads files):

1. **Placement.** The photograph covers a rectangle of the page, ``frame_box_mm
   = (x, y, w, h)``. :func:`aikon.pipeline.sketch` knows it exactly (the framed
   image fitted by :func:`aikon.geometry.layout.fit_scale_offset`); otherwise
   :func:`placement_box` takes the drawing's bounding box grown to the photo's
   aspect ratio about its centre.
2. **Render.** The drawing's ink is rendered over that rectangle at its pen
   width (:func:`ink_coverage`): centre lines are drawn at a supersampled
   resolution where the pen is about 6 px wide, a distance transform turns
   them into strokes of exactly the pen's width with anti-aliased edges (width
   within about 5 % at every angle), and pixel blocks are averaged down to
   the analysis raster (4 px/mm by default). All layers are taken as black
   ink on white paper; overlapping strokes do not darken further.
3. **Photograph.** The photo's luminance (Rec. 709 weights on linearised sRGB)
   is resampled by area averaging onto the same raster.
4. **Viewing distance.** Both are blurred with a Gaussian of sigma
   ``viewing_blur_mm`` (default 1 mm) in *linear* reflectance, because that
   is where the eye mixes ink and paper. Why 1 mm: hatching is meant to be
   read as tone, not as lines. A Gaussian of sigma 1 mm keeps 1 % of the
   contrast of a 2 mm hatch period (the sparsest shading of a 0.3 mm pen)
   and 60 % of a 6 mm period (an eye on an A4 portrait is 15 to 20 mm wide, a
   nostril about 5 mm), which is what the eye resolves of an A4 sheet from
   about 1 to 1.5 m, or when a viewer squints at arm's length. Pass a smaller
   sigma to judge a drawing from closer; then hatch texture counts as error.
5. **Tone scale.** Both are converted to CIE lightness L*/100 (0 = black,
   1 = paper). By default the photo's lightness is stretched so its 1st and
   99th percentiles span 0..1 (:func:`normalize_tones`): a plotter drawing
   has paper white and full ink as its range, whatever the camera's exposure
   was, and every tool maps the lightest tone to bare paper. The stretch is
   skipped for nearly flat photos (range below 0.05) so noise is not
   amplified. ``normalize=False`` compares the photo's lightness as it is.
6. **Numbers.** *tone error*: root-mean-square difference of the two blurred
   lightness maps (0 = identical local mean tone, 1 = black for white
   everywhere); *tone bias*: mean drawing lightness minus mean photo
   lightness (positive: the drawing is too light). *SSIM*: the structural
   similarity of Wang et al. (2004; constants K1 = 0.01, K2 = 0.03, data
   range 1, Gaussian window sigma 6 px) at three scales: on the analysis
   raster (window sigma 1.5 mm) and on two 2x image-pyramid levels (3 mm and
   6 mm); ``ssim`` is the arithmetic mean of the three mean-SSIM values. This
   differs from Wang's MS-SSIM (which multiplies exponent-weighted contrast
   and structure terms and uses luminance only at the coarsest scale): the
   mean of full SSIM values stays defined when one scale is negative, and
   the luminance term at every scale overlaps with the tone error, which is
   reported separately.

Limits: the score sees tone and structure at one viewing distance; it does
not see line quality, hatch direction, wobble, or whether the likeness
"reads" to a person, and it rewards reproducing the photo's background as
much as the face. Coloured pens count as black. It compares a drawing with a
photograph, not two drawings with each other's intentions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from aikon.drawing import Drawing, drawing_bounds, pen_down_length, pen_lifts, pen_up_travel

# Analysis raster: 0.25 mm pixels, four per sigma of the default viewing blur.
DEFAULT_PX_PER_MM = 4.0
DEFAULT_VIEWING_BLUR_MM = 1.0
# SSIM window sigma in pixels at every pyramid level (1.5 mm, 3 mm, 6 mm at 4 px/mm).
SSIM_WINDOW_PX = 6.0
SSIM_SCALES = 3
SSIM_K1, SSIM_K2 = 0.01, 0.03
# Photo tone stretch: these percentiles of its lightness become black and white.
NORMALIZE_PERCENTILES = (1.0, 99.0)
MIN_STRETCH_RANGE = 0.05
# Pen width in pixels of the supersampled render (accuracy against cost).
RENDER_PEN_PX = 6.0
MAX_RENDER_PIXELS = 40_000_000
DEFAULT_PROFILE = "grbl-servo"


# --------------------------------------------------------------------------- tone conversions

def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in 0..1 -> linear light in 0..1 (IEC 61966-2-1)."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_lightness(luminance: np.ndarray) -> np.ndarray:
    """Relative luminance Y in 0..1 -> CIE 1976 lightness L*/100 in 0..1."""
    y = np.clip(np.asarray(luminance, dtype=np.float64), 0.0, 1.0)
    eps = (6.0 / 29.0) ** 3
    f = np.where(y > eps, np.cbrt(y), y / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    return 1.16 * f - 0.16


def photo_luminance(photo: np.ndarray) -> np.ndarray:
    """Linear relative luminance of an image.

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB or (H, W) uint8 grayscale, sRGB-encoded;
        or (H, W) float, taken as linear luminance in 0..1 already (e.g. a
        simulated drawing's reflectance)

    Returns
    -------
    (H, W) float64 in 0..1 (0 = black, 1 = white), linear light.
    """
    arr = np.asarray(photo)
    if arr.ndim == 2 and np.issubdtype(arr.dtype, np.floating):
        return np.clip(arr.astype(np.float64), 0.0, 1.0)
    if arr.ndim == 2:
        return srgb_to_linear(arr / 255.0)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError(f"photo must be (H, W) or (H, W, 3), got shape {arr.shape}")
    lin = srgb_to_linear(arr[..., :3] / 255.0)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def normalize_tones(lightness: np.ndarray, *, percentiles: Sequence[float] = NORMALIZE_PERCENTILES,
                    min_range: float = MIN_STRETCH_RANGE) -> tuple[np.ndarray, tuple[float, float]]:
    """Stretch lightness so the given percentiles become 0 and 1 (clipped).

    Returns the stretched copy and the ``(low, high)`` lightness that were
    mapped to 0 and 1; a range narrower than ``min_range`` is left as it is
    (returned as ``(0.0, 1.0)``).
    """
    lo, hi = (float(v) for v in np.percentile(lightness, list(percentiles)))
    if hi - lo < min_range:
        return np.asarray(lightness, dtype=np.float64).copy(), (0.0, 1.0)
    return np.clip((lightness - lo) / (hi - lo), 0.0, 1.0), (lo, hi)


# --------------------------------------------------------------------------- placement and rendering

def placement_box(drawing: Drawing, photo_aspect: float) -> tuple[float, float, float, float]:
    """Where the photo sits on the page when nobody says: the drawing's bounds at the photo's aspect.

    The bounding box ``(x, y, w, h)`` in mm is grown (never shrunk) about its
    centre to ``w / h == photo_aspect``: a drawing rarely inks the lightest
    parts of its image, so its bounds lie inside the image's rectangle.
    """
    box = drawing_bounds(drawing)
    if box is None:
        raise ValueError("the drawing is empty: pass frame_box_mm to say where the photo is")
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    if w / h < photo_aspect:
        w = h * photo_aspect
    else:
        h = w / photo_aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2, cy - h / 2, w, h)


def _raster_size(box_mm: Sequence[float], px_per_mm: float) -> tuple[int, int]:
    return max(1, int(round(box_mm[2] * px_per_mm))), max(1, int(round(box_mm[3] * px_per_mm)))


def ink_coverage(drawing: Drawing, box_mm: Sequence[float], *, px_per_mm: float = DEFAULT_PX_PER_MM,
                 pen_width: float | None = None) -> np.ndarray:
    """Fraction of each pixel covered by ink, over a rectangle of the page.

    Parameters
    ----------
    drawing : Drawing
    box_mm : (x, y, w, h)
        Page rectangle in mm to rasterise.
    px_per_mm : float
        Output raster resolution.
    pen_width : float, optional
        Stroke width in mm for every layer (default: each layer's own).

    Returns
    -------
    (H, W) float64 in 0..1 with W = round(w * px_per_mm), H = round(h * px_per_mm);
    0 = bare paper, 1 = fully inked.
    """
    import cv2

    bx, by, bw, bh = (float(v) for v in box_mm)
    if not (bw > 0 and bh > 0):
        raise ValueError(f"box must have positive width and height, got {tuple(box_mm)}")
    out_w, out_h = _raster_size(box_mm, px_per_mm)
    sx, sy = out_w / bw, out_h / bh  # output px per mm (equal to px_per_mm up to rounding)
    by_width: dict[float, list[np.ndarray]] = {}
    for layer in drawing.layers:
        width = float(pen_width if pen_width is not None else layer.pen_width)
        if width > 0:
            by_width.setdefault(width, []).extend(p for p in layer.paths if len(p))
    coverage = np.zeros((out_h, out_w), np.float64)
    for width, paths in sorted(by_width.items()):
        # Supersample so the pen is ~RENDER_PEN_PX wide, within a pixel budget.
        factor = max(1, int(round(RENDER_PEN_PX / (width * px_per_mm))))
        while factor > 1 and out_w * out_h * factor * factor > MAX_RENDER_PIXELS:
            factor -= 1
        pen_px = width * px_per_mm * factor
        pad = int(math.ceil(pen_px / 2)) + 2  # strokes just outside the box still ink its edge
        canvas = np.full((out_h * factor + 2 * pad, out_w * factor + 2 * pad), 255, np.uint8)
        shift = 4  # cv2 sub-pixel bits: coordinates carry 1/16 px
        scale = np.array([sx * factor, sy * factor])
        origin = np.array([bx, by])
        lines, dots = [], []
        for p in paths:
            # Canvas pixel (i, j) covers [i, i+1) in supersampled units; cv2 puts pixel
            # centres at integer coordinates, hence the half-pixel shift.
            q = (p - origin) * scale + (pad - 0.5)
            if len(q) == 1 or not np.any(q != q[0]):
                dots.append(q[0])
            else:
                lines.append(np.round(np.clip(q, -1e6, 1e6) * (1 << shift)).astype(np.int32).reshape(-1, 1, 2))
        if lines:
            cv2.polylines(canvas, lines, False, 0, 1, cv2.LINE_8, shift)
        for x, y in dots:  # a pen touching down without moving inks a dot of its width
            col, row = int(round(x)), int(round(y))
            if 0 <= row < canvas.shape[0] and 0 <= col < canvas.shape[1]:
                canvas[row, col] = 0
        distance = cv2.distanceTransform(canvas, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        # A centre-line pixel is itself one pixel wide: ink extends pen_px / 2 from the
        # line's axis, i.e. (pen_px - 1) / 2 beyond the pixel, with a 1 px soft edge.
        ink = np.clip(pen_px / 2.0 + 0.5 - distance[pad:pad + out_h * factor, pad:pad + out_w * factor], 0.0, 1.0)
        # INTER_AREA with an integer factor is the exact mean of each factor x factor block.
        block = cv2.resize(ink, (out_w, out_h), interpolation=cv2.INTER_AREA).astype(np.float64)
        coverage = np.maximum(coverage, block)
    return coverage


def resample_photo(luminance: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average a linear luminance image to ``size = (width, height)`` pixels."""
    import cv2

    h, w = luminance.shape
    tw, th = size
    if (w, h) == (tw, th):
        return np.asarray(luminance, dtype=np.float64).copy()
    interp = cv2.INTER_AREA if tw <= w and th <= h else cv2.INTER_LINEAR
    return cv2.resize(np.asarray(luminance, dtype=np.float64), (tw, th), interpolation=interp)


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur with mirrored borders (sigma in pixels; 0 returns a copy)."""
    import cv2

    img = np.asarray(image, dtype=np.float64)
    if sigma_px <= 0:
        return img.copy()
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma_px, sigmaY=sigma_px, borderType=cv2.BORDER_REFLECT)


# --------------------------------------------------------------------------- similarity

def ssim_map(a: np.ndarray, b: np.ndarray, *, window_sigma_px: float = SSIM_WINDOW_PX,
             data_range: float = 1.0) -> np.ndarray:
    """Structural similarity map (Wang et al. 2004) with a Gaussian window.

    Parameters
    ----------
    a, b : (H, W) float arrays of the same shape, values spanning ``data_range``
    window_sigma_px : float
        Sigma of the Gaussian weighting window in pixels.

    Returns
    -------
    (H, W) float64; 1 where the images agree in local mean, contrast and structure.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mx = gaussian_blur(x, window_sigma_px)
    my = gaussian_blur(y, window_sigma_px)
    vx = gaussian_blur(x * x, window_sigma_px) - mx * mx
    vy = gaussian_blur(y * y, window_sigma_px) - my * my
    cxy = gaussian_blur(x * y, window_sigma_px) - mx * my
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def multiscale_ssim(a: np.ndarray, b: np.ndarray, *, scales: int = SSIM_SCALES,
                    window_sigma_px: float = SSIM_WINDOW_PX) -> list[float]:
    """Mean SSIM at ``scales`` levels of a 2x Gaussian pyramid (finest first).

    The window keeps its size in pixels, so it doubles in size on the page at
    each level. Levels smaller than the window's extent are not computed.
    """
    import cv2

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    values = []
    for level in range(scales):
        if level:
            if min(x.shape) < 4 * window_sigma_px:
                break
            x = cv2.pyrDown(x, borderType=cv2.BORDER_REFLECT)
            y = cv2.pyrDown(y, borderType=cv2.BORDER_REFLECT)
        values.append(float(ssim_map(x, y, window_sigma_px=window_sigma_px).mean()))
    return values


# --------------------------------------------------------------------------- the score

@dataclass(frozen=True)
class ToneMaps:
    """The two lightness maps the score compares (L*/100, 0 = black, 1 = paper).

    Attributes
    ----------
    drawing, photo : (H, W) float64
        Blurred lightness of the rendered drawing and of the (normalised) photo.
    box_mm : (x, y, w, h)
        The page rectangle both cover.
    px_per_mm : float
    photo_range : (low, high)
        Photo lightness mapped to 0 and 1 by the normalisation ((0, 1) if none).
    """

    drawing: np.ndarray
    photo: np.ndarray
    box_mm: tuple[float, float, float, float]
    px_per_mm: float
    photo_range: tuple[float, float]


def tone_maps(drawing: Drawing, photo: np.ndarray, *, frame_box_mm: Sequence[float] | None = None,
              viewing_blur_mm: float = DEFAULT_VIEWING_BLUR_MM, pen_width: float | None = None,
              px_per_mm: float = DEFAULT_PX_PER_MM, normalize: bool = True) -> ToneMaps:
    """Blurred lightness of the drawing and of the photo on one raster (see the module docstring)."""
    photo_arr = np.asarray(photo)
    if photo_arr.ndim not in (2, 3) or min(photo_arr.shape[:2]) < 1:
        raise ValueError(f"photo must be a non-empty (H, W) or (H, W, 3) image, got shape {photo_arr.shape}")
    if viewing_blur_mm < 0:
        raise ValueError(f"viewing_blur_mm must be >= 0, got {viewing_blur_mm}")
    ph, pw = photo_arr.shape[:2]
    if frame_box_mm is None:
        box = placement_box(drawing, pw / ph)
    else:
        box = tuple(float(v) for v in frame_box_mm)
        if len(box) != 4 or not (box[2] > 0 and box[3] > 0):
            raise ValueError(f"frame_box_mm must be (x, y, w, h) with w, h > 0, got {tuple(frame_box_mm)}")
    size = _raster_size(box, px_per_mm)
    sigma_px = viewing_blur_mm * px_per_mm
    reflectance = 1.0 - ink_coverage(drawing, box, px_per_mm=px_per_mm, pen_width=pen_width)
    drawn = linear_to_lightness(gaussian_blur(reflectance, sigma_px))
    seen = linear_to_lightness(gaussian_blur(resample_photo(photo_luminance(photo_arr), size), sigma_px))
    photo_range = (0.0, 1.0)
    if normalize:
        seen, photo_range = normalize_tones(seen)
    return ToneMaps(drawn, seen, box, px_per_mm, photo_range)  # type: ignore[arg-type]


def plot_time_s(drawing: Drawing, profile: str | object = DEFAULT_PROFILE) -> float | None:
    """Estimated plot time in seconds (:func:`aikon.planner.plan_drawing`), or None where it cannot say.

    ``profile`` is a profile name or path, or a loaded
    :class:`aikon.profiles.Profile`. None when the planner is not installed
    or refuses the drawing (e.g. it does not fit the machine).
    """
    try:
        from aikon.planner import plan_drawing
        from aikon.profiles import load_profile
    except ImportError:
        return None
    from aikon.errors import AikonError

    prof = load_profile(profile) if isinstance(profile, str) else profile
    try:
        return float(plan_drawing(drawing, prof).duration)
    except AikonError:
        return None


def score_drawing(drawing: Drawing, photo_rgb: np.ndarray, *, frame_box_mm: Sequence[float] | None = None,
                  viewing_blur_mm: float = DEFAULT_VIEWING_BLUR_MM, pen_width: float | None = None,
                  px_per_mm: float = DEFAULT_PX_PER_MM, normalize: bool = True,
                  profile: str | object | None = DEFAULT_PROFILE) -> dict:
    """Score a drawing against the photograph it reproduces.

    Parameters
    ----------
    drawing : Drawing
        Paths in page mm.
    photo_rgb : (H, W, 3) uint8 RGB (or see :func:`photo_luminance`)
        The photo as drawn: for ``aikon sketch`` output, the framed crop.
    frame_box_mm : (x, y, w, h), optional
        Page rectangle in mm the photo covers. Default: :func:`placement_box`.
    viewing_blur_mm : float
        Sigma in mm of the Gaussian that models viewing distance (default 1).
    pen_width : float, optional
        Stroke width in mm for every layer (default: each layer's ``pen_width``).
    px_per_mm : float
        Analysis raster resolution (default 4).
    normalize : bool
        Stretch the photo's lightness to the paper's range (default True).
    profile : str or Profile or None
        Firmware profile for the plot-time estimate; None skips it.

    Returns
    -------
    dict with
        ``ssim`` (mean of ``ssim_scales``; 1 = identical), ``ssim_scales``
        (finest first), ``ssim_window_mm`` (window sigma of each scale),
        ``tone_error`` (RMSE of blurred lightness, 0..1), ``tone_bias``
        (drawing minus photo mean lightness), ``ink_m`` (pen-down metres),
        ``pen_down_mm``, ``pen_up_mm`` (travel in drawing order), ``pen_lifts``,
        ``paths``, ``plot_time_s`` (None if unknown), ``profile``,
        ``frame_box_mm``, ``viewing_blur_mm``, ``px_per_mm``, ``photo_range``.
    """
    maps = tone_maps(drawing, photo_rgb, frame_box_mm=frame_box_mm, viewing_blur_mm=viewing_blur_mm,
                     pen_width=pen_width, px_per_mm=px_per_mm, normalize=normalize)
    diff = maps.drawing - maps.photo
    scales = multiscale_ssim(maps.drawing, maps.photo)
    down = pen_down_length(drawing)
    profile_name = None if profile is None else (profile if isinstance(profile, str) else getattr(profile, "name", None))
    return {
        "ssim": round(float(np.mean(scales)), 4),
        "ssim_scales": [round(v, 4) for v in scales],
        "ssim_window_mm": [round(SSIM_WINDOW_PX / px_per_mm * 2 ** k, 3) for k in range(len(scales))],
        "tone_error": round(float(np.sqrt(np.mean(diff * diff))), 4),
        "tone_bias": round(float(diff.mean()), 4),
        "ink_m": round(down / 1000.0, 3),
        "pen_down_mm": round(down, 1),
        "pen_up_mm": round(pen_up_travel(drawing), 1),
        "pen_lifts": pen_lifts(drawing),
        "paths": drawing.path_count,
        "plot_time_s": None if profile is None else _rounded(plot_time_s(drawing, profile)),
        "profile": profile_name,
        "frame_box_mm": [round(v, 3) for v in maps.box_mm],
        "viewing_blur_mm": viewing_blur_mm,
        "px_per_mm": px_per_mm,
        "photo_range": [round(v, 4) for v in maps.photo_range],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --------------------------------------------------------------------------- framing a photo like aikon sketch

def frame_photo(photo: np.ndarray, crop_box: Sequence[float], *, rotation_deg: float = 0.0,
                center: Sequence[float] | None = None) -> np.ndarray:
    """Crop (and rotate) a photo the way :func:`aikon.framing.frame_portrait` did.

    Parameters
    ----------
    photo : (H, W, 3) uint8
    crop_box : (x, y, w, h)
        Crop in the rotated image's pixels (an ``aikon sketch --report``'s
        ``framing.crop_box``).
    rotation_deg : float
        Counter-clockwise rotation about ``center`` applied before cropping.
    center : (x, y), optional
        Rotation centre in pixels (default: the crop's centre).

    Returns
    -------
    (h, w, 3) uint8 copy of the framed photo.
    """
    x, y, w, h = (int(round(float(v))) for v in crop_box)
    img_h, img_w = photo.shape[:2]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > img_w or y + h > img_h:
        raise ValueError(f"crop box {tuple(crop_box)} is not inside the {img_w}x{img_h} photo")
    working = photo
    if abs(rotation_deg) > 1e-9:
        import cv2

        cx, cy = (x + w / 2, y + h / 2) if center is None else (float(center[0]), float(center[1]))
        matrix = cv2.getRotationMatrix2D((cx, cy), float(rotation_deg), 1.0)
        working = cv2.warpAffine(photo, matrix, (img_w, img_h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(working[y:y + h, x:x + w]).copy()


def frame_from_report(report: dict, photo: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The framed photo and its page rectangle (mm) from an ``aikon sketch --report`` JSON object.

    Uses ``framing.crop_box``, ``framing.rotation_deg`` and ``framing.center``
    (if the report has no centre, the subject face's box centre, which is where
    the framing stage rotates), and ``framing.frame_box_mm`` when present;
    otherwise the rectangle is recomputed as the pipeline lays it out: the
    crop fitted into ``page_mm`` minus ``options.margin_mm``, centred.
    """
    from aikon.drawing import Page
    from aikon.geometry.layout import fit_scale_offset

    try:
        framing = report["framing"]
        crop = [float(v) for v in framing["crop_box"]]
        rotation = float(framing.get("rotation_deg", 0.0) or 0.0)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"report has no usable framing.crop_box ({exc})") from None
    center = framing.get("center")
    if center is None and rotation:
        subject = report.get("subject") or []
        faces = report.get("faces") or []
        if subject and 0 <= int(subject[0]) < len(faces):
            fx, fy, fw, fh = (float(v) for v in faces[int(subject[0])]["box"])
            center = (fx + fw / 2, fy + fh / 2)
    framed = frame_photo(photo, crop, rotation_deg=rotation, center=center)
    box = framing.get("frame_box_mm")
    if box is None:
        try:
            page_w, page_h = (float(v) for v in report["page_mm"])
            margin = float((report.get("options") or {}).get("margin_mm", 15.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"report has no usable page_mm ({exc})") from None
        scale, (dx, dy) = fit_scale_offset((crop[2], crop[3]), Page(page_w, page_h), margin)
        box = (dx, dy, crop[2] * scale, crop[3] * scale)
    return framed, tuple(float(v) for v in box)  # type: ignore[return-value]
