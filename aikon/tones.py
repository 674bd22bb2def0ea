"""Tone regions: k-means in CIELAB, levels ordered from lightest to darkest.

The picture is split into ``levels`` tones the way a draughtsman squints at
it: a light pre-smoothing removes noise and texture, k-means clusters the
pixels in CIELAB with lightness weighted above colour (so regions follow
tone, not hue), the clusters are ordered by lightness (level 0 is the
lightest), and connected regions smaller than a speck size are merged into
the level that surrounds them.

Everything here works in image pixels on numpy arrays and never modifies its
input. scikit-learn is imported inside :func:`segment_tones` because importing
it costs about half a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ToneSegmentation", "segment_tones", "default_min_region_px"]

#: Label given to pixels outside the ``mask`` passed to :func:`segment_tones`.
OUTSIDE = -1


@dataclass(frozen=True)
class ToneSegmentation:
    """The result of :func:`segment_tones`.

    Attributes
    ----------
    labels : (H, W) int32 array
        Tone level of every pixel: 0 is the lightest level, ``levels - 1`` the
        darkest; ``-1`` marks pixels outside the mask.
    level_lightness : (K,) float64 array
        CIELAB lightness L* (0 black .. 100 white) of each level's cluster
        centre, strictly decreasing with the level (darkness increasing).
    centres_lab : (K, 3) float64 array
        Cluster centres as (L*, a*, b*), in level order.
    """

    labels: np.ndarray
    level_lightness: np.ndarray
    centres_lab: np.ndarray

    @property
    def levels(self) -> int:
        """Number of tone levels K (may be below the requested number for flat images)."""
        return int(self.level_lightness.shape[0])

    def mask(self, level: int) -> np.ndarray:
        """(H, W) bool array of the pixels at ``level``."""
        return self.labels == level

    def pixel_fraction(self) -> np.ndarray:
        """(K,) float64 fraction of the labelled pixels at each level."""
        counts = np.bincount(self.labels[self.labels >= 0].ravel(), minlength=self.levels)
        total = max(int(counts.sum()), 1)
        return counts[: self.levels] / total


def default_min_region_px(height: int, width: int) -> int:
    """Speck size below which a connected region is merged into its neighbours.

    About 0.017 % of the image area (44 px at 512 x 512, small enough to keep
    a pupil), at least 8 px, so the cleaning looks the same at every working
    resolution.
    """
    return max(8, int(round(height * width / 6000.0)))


def segment_tones(
    image_rgb: np.ndarray,
    *,
    levels: int = 5,
    seed: int = 0,
    min_region_px: int | None = None,
    mask: np.ndarray | None = None,
    colour_weight: float = 0.35,
    smooth: bool = True,
    sample_size: int = 12000,
) -> ToneSegmentation:
    """Segment an image into ``levels`` tone regions ordered by lightness.

    Parameters
    ----------
    image_rgb : (H, W, 3) uint8 array
        The picture in RGB order (a (H, W) grey array is accepted too).
    levels : int
        Number of k-means clusters K (>= 2). Fewer levels are returned when
        the image has fewer distinct colours than that.
    seed : int
        Seed of the pixel subsample and of k-means; the same seed gives
        identical labels.
    min_region_px : int, optional
        Connected regions (8-connectivity) with fewer pixels than this are
        merged into the nearest larger region. Default
        :func:`default_min_region_px`; 0 disables the cleaning.
    mask : (H, W) bool array, optional
        Only pixels where the mask is true are clustered and labelled; the
        others get label -1.
    colour_weight : float
        Weight of a* and b* relative to L* in the clustering distance; below
        1 so that regions follow tone rather than hue.
    smooth : bool
        Apply an edge-preserving (bilateral) pre-smoothing that removes noise
        and fine texture before clustering.
    sample_size : int
        k-means is fitted on at most this many randomly chosen pixels, then
        every pixel is assigned to its nearest centre.

    Returns
    -------
    ToneSegmentation

    Examples
    --------
    >>> img = np.zeros((8, 8, 3), np.uint8); img[:, 4:] = 255
    >>> seg = segment_tones(img, levels=2, min_region_px=0, smooth=False)
    >>> seg.labels[0].tolist()
    [1, 1, 1, 1, 0, 0, 0, 0]
    """
    import cv2
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    if levels < 2:
        raise ValueError(f"levels must be at least 2, got {levels}")
    image = np.asarray(image_rgb)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    height, width = image.shape[:2]
    if mask is None:
        inside = np.ones((height, width), dtype=bool)
    else:
        inside = np.asarray(mask, dtype=bool)
        if inside.shape != (height, width):
            raise ValueError(f"mask shape {inside.shape} does not match image {(height, width)}")
    if not inside.any():
        raise ValueError("mask selects no pixels")

    if smooth:
        # Sigmas scale with the image so the result does not depend on the
        # working resolution; the colour sigma keeps edges between tones.
        sigma_space = max(1.0, min(height, width) / 250.0)
        diameter = int(min(9, 2 * round(1.5 * sigma_space) + 1))
        image = cv2.bilateralFilter(np.ascontiguousarray(image), d=diameter, sigmaColor=28.0, sigmaSpace=sigma_space)

    weights = np.array([1.0, colour_weight, colour_weight], dtype=np.float32)
    features = rgb_to_lab(image).reshape(-1, 3) * weights
    flat_inside = inside.ravel()
    candidates = np.flatnonzero(flat_inside)

    rng = np.random.default_rng(seed)
    if candidates.size > sample_size:
        chosen = np.sort(rng.choice(candidates, size=sample_size, replace=False))
    else:
        chosen = candidates
    sample = features[chosen]
    # Count distinct colours (to 0.01 L* units) with one 1-D unique on packed keys.
    quantised = np.round(sample / weights * 100.0).astype(np.int64) + 20000
    distinct = np.unique((quantised[:, 0] * 40000 + quantised[:, 1]) * 40000 + quantised[:, 2]).size
    clusters = int(min(levels, distinct))

    if clusters >= 2:
        model = KMeans(n_clusters=clusters, n_init=2, max_iter=100, random_state=seed)
        # One thread: on a small machine the OpenMP pool costs far more than
        # it saves on a few thousand 3-D points (measured 40 ms vs 700 ms).
        with threadpool_limits(limits=1):
            model.fit(sample.astype(np.float64))
        centres = model.cluster_centers_.astype(np.float32)
    else:
        centres = sample[:1].astype(np.float32)

    # Assign every pixel to its nearest centre (||x||^2 is the same for all
    # centres, so it drops out of the argmin).
    # Elementwise rather than a matrix product: a (N, 3) x (3, K) BLAS call
    # gains nothing and its thread pool fights other processes for the cores.
    pixels = features[candidates]
    nearest = np.zeros(pixels.shape[0], dtype=np.intp)
    best = np.full(pixels.shape[0], np.inf, dtype=np.float32)
    for index, centre in enumerate(centres):
        distance = (pixels[:, 0] - centre[0]) ** 2
        distance += (pixels[:, 1] - centre[1]) ** 2
        distance += (pixels[:, 2] - centre[2]) ** 2
        closer = distance < best
        best[closer] = distance[closer]
        nearest[closer] = index

    # Order clusters by lightness: level 0 lightest.
    order = np.argsort(-centres[:, 0], kind="stable")
    level_of_cluster = np.empty_like(order)
    level_of_cluster[order] = np.arange(order.size)
    labels = np.full(height * width, OUTSIDE, dtype=np.int32)
    labels[candidates] = level_of_cluster[nearest]
    labels = labels.reshape(height, width)

    if min_region_px is None:
        min_region_px = default_min_region_px(height, width)
    if min_region_px > 0 and clusters >= 2:
        labels = merge_small_regions(labels, min_region_px, levels=clusters)

    centres_lab = (centres[order] / weights).astype(np.float64)
    return ToneSegmentation(labels=labels, level_lightness=centres_lab[:, 0].copy(), centres_lab=centres_lab)


def rgb_to_lab(image_rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB image.

    Parameters
    ----------
    image_rgb : (..., 3) uint8 array
        sRGB pixels.

    Returns
    -------
    (..., 3) float32 array of (L*, a*, b*): L* in 0 (black) .. 100 (white).

    Notes
    -----
    Computed with numpy (a 256-entry linearisation table, one 3x3 product and a
    cube root) rather than ``cv2.cvtColor``, whose first Lab conversion in a
    process spends about 35 ms building tables.
    """
    channel = np.arange(256, dtype=np.float64) / 255.0
    linear_lut = np.where(channel <= 0.04045, channel / 12.92, ((channel + 0.055) / 1.055) ** 2.4).astype(np.float32)
    linear = linear_lut[np.asarray(image_rgb, dtype=np.uint8)]
    rgb_to_xyz = np.array(
        [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
        dtype=np.float32,
    )
    rgb_to_xyz /= np.array([0.950456, 1.0, 1.088754], dtype=np.float32)[:, None]  # D65 white -> 1
    # Elementwise, not ``linear @ matrix.T``: BLAS threads gain nothing on a
    # 3x3 product and contend for the cores with other processes.
    xyz = np.empty(linear.shape, dtype=np.float32)
    for row in range(3):
        xyz[..., row] = (
            linear[..., 0] * rgb_to_xyz[row, 0] + linear[..., 1] * rgb_to_xyz[row, 1] + linear[..., 2] * rgb_to_xyz[row, 2]
        )
    epsilon = np.float32(0.008856)
    f = np.where(xyz > epsilon, np.cbrt(xyz), np.float32(7.787) * xyz + np.float32(16.0 / 116.0))
    lightness = np.where(xyz[..., 1] > epsilon, 116.0 * f[..., 1] - 16.0, 903.3 * xyz[..., 1])
    a_star = 500.0 * (f[..., 0] - f[..., 1])
    b_star = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a_star, b_star], axis=-1).astype(np.float32)


def merge_small_regions(labels: np.ndarray, min_region_px: int, *, levels: int, passes: int = 2) -> np.ndarray:
    """Merge connected regions smaller than ``min_region_px`` into their surroundings.

    Each pixel of a small region takes the level of the nearest pixel of a
    region that is large enough (so a speck inside a region takes that
    region's level, and a thin sliver between two regions is split between
    them). Pixels labelled -1 stay -1 and never spread.

    Parameters
    ----------
    labels : (H, W) int array
        Levels 0 .. ``levels - 1``; -1 outside the mask.
    min_region_px : int
        Smallest region kept, in pixels (8-connectivity).
    levels : int
        Number of levels.
    passes : int
        Merging can leave new small regions next to removed ones; repeat up to
        this many times.

    Returns
    -------
    (H, W) int32 array, a new array.
    """
    import cv2

    out = np.array(labels, dtype=np.int32, copy=True)
    for _ in range(passes):
        small = np.zeros(out.shape, dtype=bool)
        for level in range(levels):
            level_mask = (out == level).astype(np.uint8)
            if not level_mask.any():
                continue
            count, components, stats, _ = cv2.connectedComponentsWithStats(level_mask, connectivity=8)
            tiny = stats[:, cv2.CC_STAT_AREA] < min_region_px
            tiny[0] = False  # component 0 is the background of this level mask
            if tiny.any():
                small |= tiny[components]
        if not small.any():
            break
        keep = (out >= 0) & ~small
        if not keep.any():
            break
        # Distance transform with labels: every pixel learns the nearest
        # kept pixel (a zero of the input), in one vectorised pass.
        source = np.where(keep, 0, 1).astype(np.uint8)
        _, nearest = cv2.distanceTransformWithLabels(
            source, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
        )
        # DIST_LABEL_PIXEL numbers the zero pixels 1..n in row-major order.
        kept_levels = out[keep]
        fill = kept_levels[nearest[small] - 1]
        out[small] = fill
    return out
