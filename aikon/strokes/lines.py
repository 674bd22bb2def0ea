"""Salient lines: the strokes that make a face read as a face.

Three sources are combined into one edge map, thinned to one-pixel-wide
curves (after a 3x3 dilation that fuses near-parallel responses into one
band), traced into open polylines, smoothed and simplified to the pen width:

* dark thin features (eyes, lashes, nostrils, the line between the lips,
  creases): a morphological black-hat (closing minus image), kept where a
  feature is clearly darker than both its sides, so the dark side of a step
  edge is not mistaken for a line;
* strong edges (silhouettes, the jaw, the hairline): Canny on the smoothed
  grey image, thresholds set automatically from the gradient distribution;
* boundaries between tone regions whose levels differ by at least half the
  number of levels (3 of 5) and that lie on a real change of brightness.

Tracing follows each thinned curve once (``cv2.findContours`` walks round a
one-pixel-wide curve, out and back; only the first visit of each pixel is
kept), so a line is one open polyline, not a doubled contour. Everything is
vectorised; only per-polyline work runs in Python.

Coordinates are image pixels: ``(x, y)`` = ``(column, row)``, pixel
``(row r, column c)`` centred on ``(c, r)``. Inputs are never modified.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["salient_lines", "edge_map", "trace_skeleton", "smooth_polyline", "remove_staircase_corners"]

# Grey levels (0-255) a thin feature must be darker than both its sides to
# count as a dark line, at ``dark_line_contrast=1`` on a low-texture image.
_MIN_DARK_LINE_CONTRAST = 14.0


def salient_lines(
    image: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    pen_width_px: float,
    sigma_px: float | None = None,
    dark_line_contrast: float = 0.85,
    edge_percentile: float = 92.0,
    level_gap: int | None = None,
    min_length_px: float | None = None,
    simplify_px: float | None = None,
    mask: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Trace the salient lines of a picture into polylines.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB or (H, W) uint8 grey array
        The (framed) picture.
    labels : (H, W) int array, optional
        Tone levels from :func:`aikon.tones.segment_tones`; boundaries between
        levels at least ``level_gap`` apart become lines. Negative labels
        (outside the mask) draw no boundary.
    pen_width_px : float
        Pen width in pixels: lines are simplified to about half of it, and
        lines shorter than a few pen widths are dropped.
    sigma_px : float, optional
        Scale of the features, in pixels: the Gaussian smoothing before edge
        detection. Default ``max(1.0, min(H, W) / 450)``, so the result looks
        the same at any working resolution.
    dark_line_contrast : float
        Sensitivity of the dark-line detector: a pixel is part of a dark line
        where it is darker than its surroundings by more than
        ``dark_line_contrast`` times the image's typical local contrast (lower
        draws more lines). 0 disables dark lines.
    edge_percentile : float
        Canny's upper threshold is this percentile of the gradient magnitude
        (the lower one 40 % of it); higher draws fewer edges. 100 disables
        edges.
    level_gap : int, optional
        Draw tone boundaries between levels differing by at least this much
        (and lying on a real change of brightness); 0 disables them. Default
        ``max(2, ceil(K / 2))`` for K levels (3 of 5): smaller steps outline
        every blob of texture.
    min_length_px : float, optional
        Drop polylines shorter than this. Default ``max(4 * pen_width_px,
        0.015 * diagonal)``.
    simplify_px : float, optional
        Douglas-Peucker tolerance. Default ``max(0.35, 0.5 * pen_width_px)``.
    mask : (H, W) bool array, optional
        Only lines inside the mask are kept.

    Returns
    -------
    list of (N, 2) float64 arrays of (x, y) pixel coordinates, N >= 2. Closed
    curves repeat their first point at the end.
    """
    import cv2

    if not pen_width_px > 0:
        raise ValueError(f"pen_width_px must be positive, got {pen_width_px}")
    edges = edge_map(
        image,
        labels,
        sigma_px=sigma_px,
        dark_line_contrast=dark_line_contrast,
        edge_percentile=edge_percentile,
        level_gap=level_gap,
    )
    if mask is not None:
        edges &= np.asarray(mask, dtype=bool)
    height, width = edges.shape
    # Close before thinning: an edge, the dark band beside it and a tone
    # boundary one or two pixels away become one band with one centre line,
    # instead of two or three parallel strokes.
    band = cv2.dilate(edges.astype(np.uint8) * 255, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    skeleton = cv2.ximgproc.thinning(band, thinningType=cv2.ximgproc.THINNING_ZHANGSUEN)
    raw = trace_skeleton(skeleton > 0)

    if min_length_px is None:
        min_length_px = max(4.0 * pen_width_px, 0.015 * math.hypot(height, width))
    if simplify_px is None:
        simplify_px = max(0.35, 0.5 * pen_width_px)
    lines: list[np.ndarray] = []
    for path in raw:
        if len(path) < 2 or _length(path) < min_length_px:
            continue
        smooth = smooth_polyline(path, iterations=3)
        closed = len(smooth) > 3 and np.array_equal(smooth[0], smooth[-1])
        curve = smooth[:-1] if closed else smooth
        simple = cv2.approxPolyDP(curve.astype(np.float32).reshape(-1, 1, 2), simplify_px, closed).reshape(-1, 2)
        simple = simple.astype(np.float64)
        if closed:
            simple = np.vstack([simple, simple[:1]])
        if len(simple) >= 2:
            lines.append(simple)
    return lines


def _length(path: np.ndarray) -> float:
    return float(np.hypot(*np.diff(path, axis=0).T).sum())


def edge_map(
    image: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    sigma_px: float | None = None,
    dark_line_contrast: float = 0.85,
    edge_percentile: float = 92.0,
    level_gap: int | None = None,
    boundary_percentile: float = 75.0,
) -> np.ndarray:
    """The (H, W) bool map of salient pixels (before thinning); see :func:`salient_lines`."""
    import cv2

    image = np.asarray(image)
    if image.ndim == 3:
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    elif image.ndim == 2:
        grey = image
    else:
        raise ValueError(f"expected an (H, W, 3) or (H, W) image, got shape {image.shape}")
    if grey.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {grey.dtype}")
    height, width = grey.shape
    if sigma_px is None:
        sigma_px = max(1.0, min(height, width) / 450.0)
    grey_f = grey.astype(np.float32)
    smooth = cv2.GaussianBlur(grey_f, (0, 0), sigma_px)
    edges = np.zeros((height, width), dtype=bool)

    if dark_line_contrast > 0:
        # Black-hat (closing minus image): how much darker a pixel is than
        # the surroundings on both sides. Thin dark features (lashes, lip
        # line, nostrils, creases) respond strongly; a step edge does not,
        # so the dark side of an edge is not drawn as a second line.
        size = 2 * int(round(2.5 * sigma_px)) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        valley = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, kernel) - smooth
        floor = max(_MIN_DARK_LINE_CONTRAST, 4.0 * float(valley[::2, ::2].mean()))
        edges |= valley > dark_line_contrast * floor

    smooth_u8 = np.clip(smooth + 0.5, 0, 255).astype(np.uint8)
    dx = cv2.Sobel(smooth_u8, cv2.CV_16S, 1, 0)
    dy = cv2.Sobel(smooth_u8, cv2.CV_16S, 0, 1)
    magnitude = cv2.magnitude(dx.astype(np.float32), dy.astype(np.float32))
    if edge_percentile < 100:
        high = float(np.percentile(magnitude[::2, ::2], edge_percentile))
        if high > 0:
            canny = cv2.Canny(dx, dy, 0.4 * high, high, L2gradient=True)
            edges |= canny > 0

    if labels is not None and level_gap is None:
        levels = int(np.max(labels)) + 1 if np.size(labels) else 0
        level_gap = max(2, math.ceil(levels / 2))
    if labels is not None and level_gap is not None and level_gap > 0:
        labels = np.asarray(labels)
        if labels.shape != (height, width):
            raise ValueError(f"labels shape {labels.shape} does not match image {(height, width)}")
        lab = labels.astype(np.int32)
        boundary = np.zeros((height, width), dtype=bool)
        valid_h = (lab[:, 1:] >= 0) & (lab[:, :-1] >= 0)
        step_h = valid_h & (np.abs(lab[:, 1:] - lab[:, :-1]) >= level_gap)
        valid_v = (lab[1:, :] >= 0) & (lab[:-1, :] >= 0)
        step_v = valid_v & (np.abs(lab[1:, :] - lab[:-1, :]) >= level_gap)
        # Mark the darker side's pixel so the line sits on the dark region.
        darker_right = lab[:, 1:] > lab[:, :-1]
        boundary[:, 1:] |= step_h & darker_right
        boundary[:, :-1] |= step_h & ~darker_right
        darker_below = lab[1:, :] > lab[:-1, :]
        boundary[1:, :] |= step_v & darker_below
        boundary[:-1, :] |= step_v & ~darker_below
        # A tone boundary across a smooth gradient (a shadow fading over a
        # cheek) is an artefact of quantising; keep only boundaries that lie
        # on a real change of brightness.
        steep = magnitude > np.percentile(magnitude[::2, ::2], boundary_percentile)
        steep = cv2.dilate(steep.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        edges |= boundary & steep
    return edges


def trace_skeleton(skeleton: np.ndarray) -> list[np.ndarray]:
    """Trace a one-pixel-wide curve map into open polylines, each pixel once.

    Parameters
    ----------
    skeleton : (H, W) bool array
        Thinned curves (8-connected, one pixel wide).

    Returns
    -------
    list of (N, 2) float64 arrays of (x, y) pixel centres. A curve through a
    junction is split there, and each branch starts or ends on the junction
    pixel so that branches still meet. Closed loops repeat their first point.
    """
    import cv2

    image = remove_staircase_corners(np.asarray(skeleton, dtype=bool)).astype(np.uint8)
    if not image.any():
        return []
    height, width = image.shape
    contours, _ = cv2.findContours(image, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    # Longest first: the outer contour of a one-pixel loop must claim its
    # pixels before the (shorter) contour of its hole does.
    contours = sorted((c.reshape(-1, 2) for c in contours if len(c) > 0), key=len, reverse=True)
    if not contours:
        return []
    lengths = np.array([len(c) for c in contours])
    points = np.concatenate(contours).astype(np.int64)
    owner = np.repeat(np.arange(len(contours)), lengths)
    start_of = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pixel_id = points[:, 1] * width + points[:, 0]
    _, first_index, inverse = np.unique(pixel_id, return_index=True, return_inverse=True)
    first = np.zeros(points.shape[0], dtype=bool)
    first[first_index] = True
    first_visit = first_index[inverse.ravel()]  # where each point's pixel was first traced

    # Runs of first visits within one contour.
    cut = np.ones(points.shape[0] + 1, dtype=bool)
    cut[1:-1] = (first[1:] != first[:-1]) | (owner[1:] != owner[:-1])
    bounds = np.flatnonzero(cut)
    run_start, run_stop = bounds[:-1], bounds[1:]
    keep = first[run_start]
    run_start, run_stop = run_start[keep], run_stop[keep]
    if run_start.size == 0:
        return []
    contour = owner[run_start]
    c_start = start_of[contour]
    c_stop = c_start + lengths[contour]
    whole = (run_start == c_start) & (run_stop == c_stop)

    def touching(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.abs(points[i] - points[j]).max(axis=1) <= 1

    # Reattach each piece to the already traced pixel before and after it (a
    # junction, or the other half of a line cut at the contour's start), so
    # that pieces meet; a loop traced whole is closed on itself.
    before = np.where(run_start > c_start, run_start - 1, c_stop - 1)
    after = np.where(run_stop < c_stop, run_stop, c_start)
    # (Not to the way back along this same piece, which is its own pixels.)
    head = ~whole & touching(before, run_start)
    head &= (first_visit[before] < run_start) | (first_visit[before] >= run_stop)
    tail = ~whole & touching(after, run_stop - 1)
    tail &= (first_visit[after] < run_start) | (first_visit[after] >= run_stop)
    closes = whole & (run_stop - run_start > 2) & touching(run_start, run_stop - 1)
    tail_index = np.where(whole, run_start, after)
    tail |= closes

    sizes = head.astype(np.int64) + (run_stop - run_start) + tail
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    index = np.arange(offsets[-1]) - np.repeat(offsets[:-1], sizes) + np.repeat(run_start - head, sizes)
    index[offsets[:-1][head]] = before[head]
    index[offsets[1:][tail] - 1] = tail_index[tail]
    traced = points[index].astype(np.float64)
    polylines = np.split(traced, offsets[1:-1])
    return _join_at_shared_ends(polylines)


def remove_staircase_corners(skeleton: np.ndarray) -> np.ndarray:
    """Drop the inner corner pixels of one-pixel curves, keeping 8-connectivity.

    Thinning leaves L-shaped corners: a pixel with a neighbour above (or
    below) and one to the right (or left), which already touch diagonally,
    and nothing on the opposite sides. Such a pixel is traced by the contour
    on one side of the curve but not the other, so it would come out as a
    short stroke doubling the line. Removing it keeps every remaining
    neighbour connected.

    Parameters
    ----------
    skeleton : (H, W) bool array

    Returns
    -------
    (H, W) bool array, a new array.
    """
    out = np.pad(np.asarray(skeleton, dtype=bool), 1)
    height, width = out.shape

    def shifted(dy: int, dx: int) -> np.ndarray:
        return out[1 + dy : height - 1 + dy, 1 + dx : width - 1 + dx]

    # One orientation at a time, so two touching corners are never removed together.
    for dy, dx in ((-1, 1), (-1, -1), (1, 1), (1, -1)):
        corner = shifted(0, 0) & shifted(dy, 0) & shifted(0, dx)
        corner &= ~shifted(-dy, 0) & ~shifted(0, -dx) & ~shifted(-dy, -dx)
        out[1:-1, 1:-1] &= ~corner
    return out[1:-1, 1:-1]


def _join_at_shared_ends(polylines: list[np.ndarray]) -> list[np.ndarray]:
    """Join open polylines whose ends meet at a pixel where exactly two ends meet."""
    count = len(polylines)
    if count < 2:
        return polylines
    firsts = np.array([p[0] for p in polylines])
    lasts = np.array([p[-1] for p in polylines])
    is_open = np.array([len(p) <= 2 or not np.array_equal(p[0], p[-1]) for p in polylines])
    end_points = np.concatenate([firsts, lasts])
    end_open = np.concatenate([is_open, is_open])
    keys = end_points[:, 0] * 1_000_003.0 + end_points[:, 1]
    keys = np.where(end_open, keys, -1.0 - np.arange(2 * count))  # closed paths never match
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    pair_groups = np.flatnonzero(counts == 2)
    if pair_groups.size == 0:
        return polylines
    order = np.argsort(inverse, kind="stable")
    group_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    paths: list[np.ndarray | None] = list(polylines)
    holder = list(range(count))

    def find(i: int) -> int:
        while holder[i] != i:
            holder[i] = holder[holder[i]]
            i = holder[i]
        return i

    for group in pair_groups.tolist():
        e1, e2 = order[group_start[group]], order[group_start[group] + 1]
        i, j = find(int(e1 % count)), find(int(e2 % count))
        if i == j:
            continue  # would close a loop; leave it open
        key = end_points[e1]
        p, q = paths[i], paths[j]
        assert p is not None and q is not None
        if not np.array_equal(p[-1], key):
            p = p[::-1]
        if not np.array_equal(q[0], key):
            q = q[::-1]
        if not (np.array_equal(p[-1], key) and np.array_equal(q[0], key)):
            continue  # that end was consumed by an earlier join
        paths[i] = np.vstack([p, q[1:]])
        paths[j] = None
        holder[j] = i
    return [p for p in paths if p is not None]


def smooth_polyline(path: np.ndarray, *, iterations: int = 3) -> np.ndarray:
    """Smooth the pixel staircase of a traced curve, keeping its ends.

    Each iteration moves every interior point to ``(previous + 2 * itself +
    next) / 4`` (a binomial filter; three iterations are a 7-tap one). The
    end points of an open polyline stay where they are; a closed polyline
    (first point == last) is smoothed all round and stays closed.

    Parameters
    ----------
    path : (N, 2) float array
    iterations : int

    Returns
    -------
    (N, 2) float64 array, a new array.
    """
    result = np.array(path, dtype=np.float64, copy=True)
    if len(result) < 3:
        return result
    closed = np.array_equal(result[0], result[-1]) and len(result) > 3
    for _ in range(iterations):
        if closed:
            ring = result[:-1]
            ring = 0.25 * np.roll(ring, 1, axis=0) + 0.5 * ring + 0.25 * np.roll(ring, -1, axis=0)
            result = np.vstack([ring, ring[:1]])
        else:
            result[1:-1] = 0.25 * result[:-2] + 0.5 * result[1:-1] + 0.25 * result[2:]
    return result
