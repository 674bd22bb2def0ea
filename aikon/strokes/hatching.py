"""Shading by hatching: parallel lines clipped exactly to each tone region.

Every tone level except the lightest is shaded with parallel lines at its own
angle; the spacing shrinks as the level darkens and the darkest level gets a
second set of lines across the first (cross-hatching), so the ink per unit area
rises with darkness.

Clipping is exact to the sub-pixel: the region mask is sampled with bilinear
interpolation along each hatch line (in coordinates rotated to the hatch
angle), and each run where the interpolated mask is at least one half becomes
a segment whose ends are placed where the interpolation crosses one half,
which for a pixel mask is the pixel edge. Neighbouring segments of a region are
then linked into boustrophedon (zig-zag) polylines with short connectors that
stay inside the region, so the pen is not lifted for every line.

Coordinates are image pixels: a polyline is an ``(N, 2)`` float64 array of
``(x, y)`` = ``(column, row)``, and pixel ``(row r, column c)`` is centred on
``(x, y) = (c, r)``. Nothing here modifies its input.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "hatch_spacing_for_levels",
    "tone_matched_spacing",
    "darkest_direction_coverages",
    "hatch_angles_for_levels",
    "hatch_mask",
    "hatch_regions",
    "ink_length",
]

# Samples per pixel along a hatch line; run ends are then refined by linear
# interpolation of the mask between samples, so two samples per pixel are
# enough for sub-pixel accuracy.
_SAMPLES_PER_PX = 2.0
# A connector between two hatch lines is sampled on the region mask blurred
# with this sigma (px) and must keep it at least this high everywhere: it may
# then run along a straight edge at most ~0.3 px outside and ride over the
# one-pixel steps of a staircase edge, but never cross a real gap or notch.
_CONNECTOR_INSIDE = 0.35
_CONNECTOR_BLUR_PX = 0.8


#: Ink coverage of the darkest tone level by default (both hatch directions
#: together). Chosen with ``benchmarks/bench_quality.py``: see README, "Drawing quality".
DEFAULT_MAX_COVERAGE = 0.95


def _lightness_to_reflectance(lightness: np.ndarray) -> np.ndarray:
    """CIE L* (0..100) to relative luminance (0..1)."""
    l_star = np.asarray(lightness, dtype=np.float64)
    return np.where(l_star > 8.0, ((l_star + 16.0) / 116.0) ** 3, l_star / 903.3)


def _reflectance_to_lightness(reflectance: float) -> float:
    y = float(reflectance)
    return 116.0 * y ** (1.0 / 3.0) - 16.0 if y > 216.0 / 24389.0 else 903.3 * y


#: Share of the paper the darkest level's second (crossing) direction covers.
#: Crossing lines overlap, so at equal coverage the cheapest cross-hatch puts
#: most ink in one direction: for 95 % coverage, 0.93 + 0.30 ink per pen width
#: against 0.78 + 0.78 for two equal directions, 21 % less ink and plot time.
CROSS_COVERAGE = 0.3


def darkest_direction_coverages(max_coverage: float) -> tuple[float, float]:
    """Per-direction coverages ``(primary, crossing)`` of the darkest level.

    Together they cover ``1 - (1 - primary) * (1 - crossing) = max_coverage``;
    the crossing direction covers :data:`CROSS_COVERAGE` (less when the total
    is too low for that, then both directions are equal).

    >>> [round(c, 4) for c in darkest_direction_coverages(0.95)]
    [0.9286, 0.3]
    """
    crossing = min(CROSS_COVERAGE, 1.0 - math.sqrt(1.0 - max_coverage))
    return 1.0 - (1.0 - max_coverage) / (1.0 - crossing), crossing


def tone_matched_spacing(level_lightness: Sequence[float], pen_width_px: float, *,
                         max_coverage: float = DEFAULT_MAX_COVERAGE) -> np.ndarray:
    """Hatch spacing per level so that each level's ink coverage reproduces its tone.

    The levels' lightness is mapped linearly onto the range a pen can reach:
    level 0 (lightest, left blank) to paper white, the darkest level to the
    lightness of ``max_coverage`` ink. A target reflectance R needs ink
    coverage c = 1 - R; one hatch direction of spacing s covers c = w / s
    (w the pen width); the darkest level's two crossing directions together
    cover 1 - (1 - c1)(1 - c2) (see :func:`darkest_direction_coverages`; the
    spacing returned for it is its primary direction's).

    Parameters
    ----------
    level_lightness : (K,) sequence of float
        L* of each level, decreasing (level 0 lightest).
    pen_width_px : float
        Pen width in pixels.
    max_coverage : float
        Fraction of paper covered by ink in the darkest level, in (0, 1).

    Returns
    -------
    (K,) float64 spacings in pixels: ``inf`` for level 0, then strictly
    decreasing, never below the pen width.

    >>> np.round(tone_matched_spacing([90.0, 60.0, 30.0], 1.0, max_coverage=0.75), 3)
    array([  inf, 2.18 , 1.556])
    """
    if not 0.0 < max_coverage < 1.0:
        raise ValueError(f"max_coverage must be between 0 and 1, got {max_coverage}")
    if not pen_width_px > 0:
        raise ValueError(f"pen_width_px must be positive, got {pen_width_px}")
    lightness = np.asarray(level_lightness, dtype=np.float64)
    levels = len(lightness)
    spacing = np.full(levels, np.inf)
    if levels < 2:
        return spacing
    floor = _reflectance_to_lightness(1.0 - max_coverage)
    span = max(lightness[0] - lightness[-1], 1e-6)
    target = floor + (100.0 - floor) * np.clip((lightness - lightness[-1]) / span, 0.0, 1.0)
    coverage = np.clip(1.0 - _lightness_to_reflectance(target), 1e-3, max_coverage)
    for level in range(1, levels):
        per_direction = darkest_direction_coverages(coverage[level])[0] if level == levels - 1 else coverage[level]
        spacing[level] = pen_width_px / per_direction
    for level in range(2, levels):  # strictly denser with darkness
        spacing[level] = min(spacing[level], spacing[level - 1] * 0.999)
    return np.maximum(spacing, pen_width_px * 1.001)


def hatch_spacing_for_levels(
    levels: int,
    pen_width_px: float,
    *,
    level_lightness: Sequence[float] | None = None,
    darkest_spacing_px: float | None = None,
    lightest_spacing_px: float | None = None,
) -> np.ndarray:
    """Default distance between hatch lines for each tone level.

    Parameters
    ----------
    levels : int
        Number of tone levels K; level 0 is the lightest.
    pen_width_px : float
        Width of the pen line in image pixels.
    level_lightness : (K,) sequence of float, optional
        L* of each level (decreasing). When given, the intermediate levels are
        spaced half by their rank and half by their lightness, so two levels of
        almost the same tone get almost the same spacing; the result stays
        strictly decreasing in any case.
    darkest_spacing_px : float, optional
        Spacing of the darkest level (each of its two hatch directions).
        Default ``max(2.5 * pen_width_px, 1.5)``: lines 2.5 pen widths apart
        cover 40 % of the paper in each direction.
    lightest_spacing_px : float, optional
        Spacing of level 1, the lightest hatched level. Default 4 times the
        darkest spacing.

    Returns
    -------
    (K,) float64 array of spacings in pixels: ``inf`` for level 0 (not
    hatched), then strictly decreasing, never below ``pen_width_px``.
    Intermediate levels are interpolated geometrically.
    """
    if levels < 1:
        raise ValueError(f"levels must be at least 1, got {levels}")
    if not pen_width_px > 0:
        raise ValueError(f"pen_width_px must be positive, got {pen_width_px}")
    darkest = max(2.5 * pen_width_px, 1.5) if darkest_spacing_px is None else float(darkest_spacing_px)
    darkest = max(darkest, pen_width_px)
    lightest = 4.0 * darkest if lightest_spacing_px is None else max(float(lightest_spacing_px), darkest)
    spacing = np.full(levels, np.inf)
    shaded = levels - 1
    if shaded == 0:
        return spacing
    if shaded == 1:
        spacing[1] = darkest
        return spacing
    rank = np.arange(shaded, dtype=np.float64) / (shaded - 1)
    fraction = rank
    if level_lightness is not None:
        lightness = np.asarray(level_lightness, dtype=np.float64)
        if lightness.shape != (levels,):
            raise ValueError(f"level_lightness must have {levels} values, got {lightness.shape}")
        span = lightness[1] - lightness[-1]
        if span > 1e-9:
            by_tone = np.clip((lightness[1] - lightness[1:]) / span, 0.0, 1.0)
            fraction = 0.5 * rank + 0.5 * by_tone
    if lightest <= darkest:
        lightest = darkest * 1.5
    spacing[1:] = lightest * (darkest / lightest) ** fraction
    return spacing


def hatch_angles_for_levels(levels: int, *, darkest_angle_deg: float = 45.0) -> list[tuple[float, ...]]:
    """Default hatch directions for each tone level, in degrees.

    The darkest level is hatched at ``darkest_angle_deg`` and across it at
    +90 degrees. Each lighter level turns by a further ``180 / (K - 1)``
    degrees, starting half a step away from the darkest, so neighbouring
    levels are told apart by direction and (for 4 to 6 levels) no level is
    hatched exactly along the pixel axes, where lines look mechanical. Level
    0 gets no angle (it is not hatched). Angles are measured from the +x axis
    towards +y (down the image), in [0, 180).

    >>> hatch_angles_for_levels(5)
    [(), (22.5,), (157.5,), (112.5,), (45.0, 135.0)]
    """
    angles: list[tuple[float, ...]] = [()] * levels
    shaded = levels - 1
    if shaded <= 0:
        return angles
    step = 180.0 / shaded
    for level in range(1, levels - 1):
        angles[level] = ((darkest_angle_deg + step / 2.0 + (levels - 1 - level) * step) % 180.0,)
    darkest = darkest_angle_deg % 180.0
    angles[levels - 1] = (darkest, (darkest + 90.0) % 180.0)
    return angles


def ink_length(paths: Sequence[np.ndarray]) -> float:
    """Total pen-down length of polylines, in their own units."""
    total = 0.0
    for path in paths:
        if len(path) > 1:
            total += float(np.hypot(*np.diff(path, axis=0).T).sum())
    return total


def hatch_regions(
    labels: np.ndarray,
    level_lightness: Sequence[float],
    *,
    pen_width_px: float,
    spacing_px_for_level: Sequence[float] | None = None,
    angles_deg: Sequence[Sequence[float] | float] | None = None,
    link: bool = True,
    max_link_shift: float = 2.0,
    min_segment_px: float | None = None,
    max_coverage: float = DEFAULT_MAX_COVERAGE,
) -> dict[int, list[np.ndarray]]:
    """Hatch every tone region with lines spaced by its tone.

    Parameters
    ----------
    labels : (H, W) int array
        Tone level of each pixel (0 lightest); negative values are not hatched.
    level_lightness : (K,) sequence of float
        L* of each level (as :class:`aikon.tones.ToneSegmentation` gives);
        K is its length.
    pen_width_px : float
        Pen width in pixels; no spacing is allowed below it.
    spacing_px_for_level : (K,) sequence of float, optional
        Distance between hatch lines per level, in pixels; ``inf`` (or 0, or
        a negative value) leaves a level blank; every direction of a level
        uses it. Default: :func:`tone_matched_spacing` with ``max_coverage``,
        the darkest level's crossing direction at the sparser spacing of
        :func:`darkest_direction_coverages`.
    angles_deg : (K,) sequence, optional
        Per level, one angle or a sequence of angles in degrees (two for
        cross-hatching); an empty sequence leaves the level blank. Default
        :func:`hatch_angles_for_levels`.
    link : bool
        Join neighbouring hatch lines into zig-zag polylines.
    max_link_shift : float
        A connector joins two neighbouring lines only if their ends are at
        most this many spacings apart along the hatch direction (and the
        connector lies inside the region).
    min_segment_px : float, optional
        Drop hatch segments shorter than this (default: the pen width, at
        least 1 px); they would be dots.
    max_coverage : float
        Ink coverage of the darkest level for the default spacing.

    Returns
    -------
    dict mapping each level 0 .. K-1 to a list of (N, 2) float64 polylines
    ``(x, y)`` in pixels (an empty list for blank levels).

    Raises
    ------
    ValueError
        If a spacing is below the pen width or the arguments disagree in length.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be 2-D, got shape {labels.shape}")
    levels = len(level_lightness)
    spacing = (
        tone_matched_spacing(level_lightness, pen_width_px, max_coverage=max_coverage)
        if spacing_px_for_level is None
        else np.asarray(spacing_px_for_level, dtype=np.float64)
    )
    if spacing.shape != (levels,):
        raise ValueError(f"spacing_px_for_level must have {levels} values, got {spacing.shape}")
    # With the default spacing the darkest level's crossing direction is sparser
    # than its primary one (see darkest_direction_coverages); given spacings
    # apply to every direction of their level.
    crossing_step = (pen_width_px / darkest_direction_coverages(max_coverage)[1]
                     if spacing_px_for_level is None else None)
    angles = hatch_angles_for_levels(levels) if angles_deg is None else [_as_angles(a) for a in angles_deg]
    if len(angles) != levels:
        raise ValueError(f"angles_deg must have {levels} entries, got {len(angles)}")
    if min_segment_px is None:
        min_segment_px = max(1.0, pen_width_px)

    result: dict[int, list[np.ndarray]] = {}
    for level in range(levels):
        step = float(spacing[level])
        result[level] = []
        if not math.isfinite(step) or step <= 0 or not angles[level]:
            continue
        if step < pen_width_px:
            raise ValueError(f"hatch spacing {step:.3g} px at level {level} is below the pen width {pen_width_px:.3g} px")
        mask = labels == level
        if not mask.any():
            continue
        for direction, angle in enumerate(angles[level]):
            use_crossing = crossing_step is not None and direction > 0 and level == levels - 1
            result[level].extend(
                hatch_mask(
                    mask,
                    spacing_px=crossing_step if use_crossing else step,
                    angle_deg=angle,
                    link=link,
                    max_link_shift=max_link_shift,
                    min_segment_px=min_segment_px,
                )
            )
    return result


def _as_angles(value: Sequence[float] | float) -> tuple[float, ...]:
    if isinstance(value, (int, float, np.floating, np.integer)):
        return (float(value),)
    return tuple(float(v) for v in value)


def hatch_mask(
    mask: np.ndarray,
    *,
    spacing_px: float,
    angle_deg: float,
    offset_px: float = 0.0,
    link: bool = True,
    max_link_shift: float = 2.0,
    min_segment_px: float = 1.0,
) -> list[np.ndarray]:
    """Parallel hatch lines clipped to a region mask.

    Parameters
    ----------
    mask : (H, W) bool array
        The region(s) to hatch.
    spacing_px : float
        Distance between neighbouring lines, in pixels.
    angle_deg : float
        Direction of the lines, degrees from +x towards +y.
    offset_px : float
        Shift of the family of lines along its normal. Lines sit at
        ``offset_px + k * spacing_px`` from the origin, so the same level
        hatched in separate regions lines up.
    link : bool
        Join neighbouring segments into boustrophedon polylines.
    max_link_shift : float
        Longest allowed shift, in spacings, between the joined ends of two
        neighbouring segments.
    min_segment_px : float
        Segments shorter than this are dropped.

    Returns
    -------
    list of (N, 2) float64 polylines ``(x, y)`` in pixels. Every point lies in
    the region up to its pixel edge (the mask's bilinear interpolation is at
    least about one half there).
    """
    import cv2

    mask = np.asarray(mask, dtype=bool)
    if not spacing_px > 0:
        raise ValueError(f"spacing_px must be positive, got {spacing_px}")
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return []
    cols = np.flatnonzero(mask.any(axis=0))
    # Work on the bounding box plus a one-pixel frame of zeros, so that every
    # run starts and ends inside the sampled range.
    y0, y1 = int(rows[0]) - 1, int(rows[-1]) + 2
    x0, x1 = int(cols[0]) - 1, int(cols[-1]) + 2
    box = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    src_y0, src_x0 = max(y0, 0), max(x0, 0)
    box[src_y0 - y0 : min(y1, mask.shape[0]) - y0, src_x0 - x0 : min(x1, mask.shape[1]) - x0] = mask[
        src_y0 : min(y1, mask.shape[0]), src_x0 : min(x1, mask.shape[1])
    ]

    theta = math.radians(angle_deg)
    direction = np.array([math.cos(theta), math.sin(theta)])
    normal = np.array([-math.sin(theta), math.cos(theta)])
    corners = np.array([[x0, y0], [x1 - 1, y0], [x0, y1 - 1], [x1 - 1, y1 - 1]], dtype=np.float64)
    along = corners @ direction
    across = corners @ normal
    first_line = math.ceil((across.min() - offset_px) / spacing_px)
    last_line = math.floor((across.max() - offset_px) / spacing_px)
    if last_line < first_line:
        return []
    line_index = np.arange(first_line, last_line + 1)
    line_t = offset_px + line_index * spacing_px
    sample_step = 1.0 / _SAMPLES_PER_PX
    u = np.arange(along.min() - 1.0, along.max() + 1.0 + sample_step, sample_step)

    map_x = (line_t[:, None] * normal[0] + u[None, :] * direction[0] - x0).astype(np.float32)
    map_y = (line_t[:, None] * normal[1] + u[None, :] * direction[1] - y0).astype(np.float32)
    values = _remap_chunked(box, map_x, map_y)

    inside = values >= 0.5
    padded = np.zeros((inside.shape[0], inside.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = inside
    change = np.diff(padded, axis=1)
    start_line, start_col = np.nonzero(change == 1)  # first inside sample of a run
    end_line, end_col = np.nonzero(change == -1)  # one past the last inside sample
    if start_line.size == 0:
        return []
    # Sub-pixel ends: where the interpolated mask crosses 0.5 between the
    # outside sample and the inside one (the frame guarantees both exist).
    v_in = values[start_line, start_col]
    v_out = values[start_line, start_col - 1]
    a = u[start_col] - sample_step * (v_in - 0.5) / np.maximum(v_in - v_out, 1e-6)
    v_in = values[end_line, end_col - 1]
    v_out = values[end_line, end_col]
    b = u[end_col - 1] + sample_step * (v_in - 0.5) / np.maximum(v_in - v_out, 1e-6)

    keep = (b - a) >= min_segment_px - 1e-6
    seg_line = line_index[start_line[keep]]
    seg_t = line_t[start_line[keep]]
    a = a[keep]
    b = b[keep]
    if seg_line.size == 0:
        return []

    # Even lines are drawn towards +u, odd lines towards -u, so chained
    # segments alternate direction (boustrophedon).
    forward = seg_line % 2 == 0
    entry_u = np.where(forward, a, b)
    exit_u = np.where(forward, b, a)
    entry = seg_t[:, None] * normal + entry_u[:, None] * direction
    exit_ = seg_t[:, None] * normal + exit_u[:, None] * direction

    if not link:
        return [np.array([p, q]) for p, q in zip(entry, exit_)]

    soft = cv2.GaussianBlur(box, (0, 0), _CONNECTOR_BLUR_PX)
    successor = _link_segments(seg_line, a, b, entry, exit_, soft, x0, y0, spacing_px, max_link_shift)
    chains = _chains(successor, entry, exit_)
    return _join_chains(chains, soft, x0, y0, max_gap_px=math.hypot(1.0, max_link_shift) * spacing_px)


def _remap_chunked(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` at (map_x, map_y), zero outside.

    cv2.remap needs the image and the maps under 32767 pixels a side: larger
    maps are split, and a larger image goes to scipy (slower, same result).
    """
    import cv2

    limit = 32000
    if max(image.shape) >= limit:
        from scipy.ndimage import map_coordinates

        coords = np.stack([map_y.ravel(), map_x.ravel()])
        return map_coordinates(image, coords, order=1, mode="constant", cval=0.0).reshape(map_x.shape).astype(np.float32)
    if map_x.shape[0] <= limit and map_x.shape[1] <= limit:
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = np.empty(map_x.shape, dtype=np.float32)
    for r in range(0, map_x.shape[0], limit):
        for c in range(0, map_x.shape[1], limit):
            out[r : r + limit, c : c + limit] = cv2.remap(
                image,
                np.ascontiguousarray(map_x[r : r + limit, c : c + limit]),
                np.ascontiguousarray(map_y[r : r + limit, c : c + limit]),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
    return out


def _link_segments(
    seg_line: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    entry: np.ndarray,
    exit_: np.ndarray,
    soft: np.ndarray,
    x0: int,
    y0: int,
    spacing_px: float,
    max_link_shift: float,
) -> np.ndarray:
    """Successor of each segment on the next hatch line, or -1.

    Segments arrive sorted by (line, a) and are disjoint within a line. A
    segment on an even line leaves by its +u end (b) and one on an odd line by
    its -u end (a); it links to the segment of the next line whose end on that
    side is nearest, if the two overlap, that segment chooses it back the same
    way (a one-to-one match), the two ends are within ``max_link_shift``
    spacings along the line, and the straight connector stays inside the
    region (judged on ``soft``, the blurred mask of the bounding box whose
    top-left pixel is ``(x0, y0)``).
    """
    count = seg_line.size
    successor = np.full(count, -1, dtype=np.int64)
    if count < 2:
        return successor
    # Sort keys combining line and position (segments are already sorted).
    origin = min(a.min(), b.min())
    width = max(a.max(), b.max()) - origin + 10.0
    base = (seg_line - seg_line.min()).astype(np.float64) * width
    key_a = base + (a - origin)
    key_b = base + (b - origin)
    last_line = int(seg_line.max())
    first_line = int(seg_line.min())

    even = seg_line % 2 == 0
    # The link from line k to k + 1 joins right (+u, b) ends when k is even
    # and left (a) ends when k is odd; the candidate is the segment of the
    # neighbouring line whose end on that side is nearest.
    side_key = np.where(even, key_b, key_a)  # this segment's exit side
    other_side_key = np.where(even, key_a, key_b)  # side used towards line - 1
    forward_candidate = np.where(
        even,
        _nearest_sorted(key_b, side_key + width),
        _nearest_sorted(key_a, side_key + width),
    )
    # A segment looks back to line - 1 with its entry side: a on even lines, b on odd ones.
    backward_candidate = np.where(
        even,
        _nearest_sorted(key_a, other_side_key - width),
        _nearest_sorted(key_b, other_side_key - width),
    )

    valid = (forward_candidate >= 0) & (forward_candidate < count) & (seg_line < last_line)
    candidate = np.where(valid, forward_candidate, 0)
    valid &= seg_line[candidate] == seg_line + 1
    valid &= (a[candidate] < b) & (a < b[candidate])  # intervals overlap
    back = backward_candidate[candidate]
    valid &= (back >= 0) & (back < count) & (seg_line[candidate] > first_line)
    valid &= np.where(valid, back, -1) == np.arange(count)
    # Ends joined: this segment's exit side and the same side of the next
    # one, which is where that segment (of the other parity) is entered.
    exit_u = np.where(even, b, a)
    entry_u = np.where(even, a, b)
    shift = np.abs(exit_u - entry_u[candidate])
    valid &= shift <= max_link_shift * spacing_px

    chosen = np.flatnonzero(valid)
    if chosen.size:
        start = exit_[chosen]
        stop = entry[candidate[chosen]]
        # Sample the connector's interior and keep it only if it stays inside.
        fractions = np.linspace(0.0, 1.0, 9)[1:-1]
        points = start[:, None, :] + (stop - start)[:, None, :] * fractions[None, :, None]
        values = _remap_chunked(
            soft,
            (points[..., 0] - x0).astype(np.float32),
            (points[..., 1] - y0).astype(np.float32),
        )
        ok = (values >= _CONNECTOR_INSIDE).all(axis=1)
        successor[chosen[ok]] = candidate[chosen[ok]]
    return successor


def _join_chains(chains: list[np.ndarray], soft: np.ndarray, x0: int, y0: int, *, max_gap_px: float) -> list[np.ndarray]:
    """Greedily append chains whose ends are near, through connectors inside the region.

    The zig-zag linking only joins neighbouring lines in a fixed pattern; this
    second pass joins what it leaves (pieces cut by a notch, chains of the
    other parity), reversing a chain where that makes the gap shorter. The
    candidate connectors (a few nearest ends within ``max_gap_px``) are found
    and checked against the blurred mask ``soft`` all at once; only the
    greedy walk runs in Python.
    """
    import cv2
    from scipy.spatial import cKDTree

    count = len(chains)
    if count < 2:
        return chains
    ends = np.array([c[0] for c in chains] + [c[-1] for c in chains])  # i: start of i, count + i: end of i
    neighbours = min(6, 2 * count)
    distance, candidate = cKDTree(ends).query(ends, k=neighbours, distance_upper_bound=max_gap_px)
    valid = np.isfinite(distance) & (candidate % count != (np.arange(2 * count) % count)[:, None])
    source = np.repeat(np.arange(2 * count), neighbours)[valid.ravel()]
    target = candidate.ravel()[valid.ravel()]
    if source.size == 0:
        return chains
    fractions = np.linspace(0.0, 1.0, 10)[1:-1]
    start, stop = ends[source], ends[target]
    points = start[:, None, :] + (stop - start)[:, None, :] * fractions[None, :, None]
    values = _remap_chunked(soft, (points[..., 0] - x0).astype(np.float32), (points[..., 1] - y0).astype(np.float32))
    inside = (values >= _CONNECTOR_INSIDE).all(axis=1)
    ok = np.zeros(valid.shape, dtype=bool)
    ok[valid] = inside
    options = [candidate[i][ok[i]].tolist() for i in range(2 * count)]  # nearest first

    used = [False] * count
    joined: list[np.ndarray] = []
    for first in range(count):
        if used[first]:
            continue
        used[first] = True
        pieces = [chains[first]]
        tail = count + first  # the end of chain ``first``
        while True:
            nxt = next((e for e in options[tail] if not used[e % count]), None)
            if nxt is None:
                break
            other = nxt % count
            used[other] = True
            if nxt < count:  # joined at its start: keep its direction
                pieces.append(chains[other])
                tail = count + other
            else:  # joined at its end: reverse it
                pieces.append(chains[other][::-1])
                tail = other
        joined.append(np.vstack(pieces) if len(pieces) > 1 else pieces[0])
    return joined


def _nearest_sorted(sorted_keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of the nearest value in ``sorted_keys`` for each query."""
    right = np.searchsorted(sorted_keys, queries)
    right = np.clip(right, 0, sorted_keys.size - 1)
    left = np.clip(right - 1, 0, sorted_keys.size - 1)
    take_left = np.abs(sorted_keys[left] - queries) < np.abs(sorted_keys[right] - queries)
    return np.where(take_left, left, right)


def _chains(successor: np.ndarray, entry: np.ndarray, exit_: np.ndarray) -> list[np.ndarray]:
    """Polylines following successor links; each segment contributes its entry and exit points."""
    count = successor.size
    has_predecessor = np.zeros(count, dtype=bool)
    linked = successor >= 0
    has_predecessor[successor[linked]] = True
    # List ranking by pointer jumping: root and depth of every segment in
    # O(log n) vectorised steps instead of a Python walk.
    parent = np.arange(count)
    parent[successor[linked]] = np.flatnonzero(linked)
    depth = (parent != np.arange(count)).astype(np.int64)
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        depth = depth + depth[parent]  # roots have depth 0 and are their own parent
        parent = grand
    # Now ``parent`` is each segment's chain start and ``depth`` its position.
    order = np.lexsort((depth, parent))
    points = np.empty((count * 2, 2), dtype=np.float64)
    points[0::2] = entry[order]
    points[1::2] = exit_[order]
    roots = parent[order]
    boundaries = np.flatnonzero(np.diff(roots)) + 1
    return [np.ascontiguousarray(p) for p in np.split(points, boundaries * 2)]
