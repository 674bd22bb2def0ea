"""The portrait pipeline: image array -> Drawing in millimetres.

Composition of the stages with a small options object, no file I/O:

    detect faces -> frame the portrait -> tone regions (k-means) ->
    salient lines + hatching (pixels) -> from_pixels (mm, on the page) ->
    optimise (merge, simplify, order)

Each stage's wall time is recorded in ``SketchResult.timings`` (seconds);
``import_sklearn`` is the wait for scikit-learn's import, not a stage's work.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from aikon.drawing import Drawing, Layer, Page, from_pixels, parse_paper
from aikon.errors import AikonError, NoFaceError
from aikon.strokes.hatching import DEFAULT_MAX_COVERAGE

# Long side, in pixels, of the framed portrait the image stages work on. The
# pen, not the photo, limits detail: at 0.3 mm pen width a 180 mm tall drawing
# has ~600 distinguishable lines, so more pixels only cost time.
DEFAULT_WORKING_PX = 640
# Face detection runs on a copy at most this large (long side); boxes are
# scaled back to input pixels.
DETECT_MAX_PX = 960


@dataclass(frozen=True)
class SketchOptions:
    """Options of :func:`sketch`; lengths in mm."""

    detector: str = "haar"
    face_model: str | None = None
    face_index: int | None = None
    group: bool = False
    require_face: bool = False
    level_eyes: bool = True
    levels: int = 5
    seed: int = 0
    pen_width: float = 0.3
    paper: str = "A4"
    landscape: bool = False
    margin: float = 15.0
    working_px: int = DEFAULT_WORKING_PX
    lines: bool = True
    shading: bool = True
    max_coverage: float = DEFAULT_MAX_COVERAGE  # ink coverage of the darkest tone
    optimize: bool = True
    # Ordering improvement: capped by a move count, not a clock, so the same
    # seed gives the same SVG on any machine; a time budget is opt-in.
    time_budget_s: float | None = None
    max_moves: int = 20_000
    # Strokes shorter than this (mm) are dropped: each costs a pen lift and drop
    # (~0.35 s on a servo pen) for almost no ink. Measured on the quality
    # benchmark's photos: 4-6 % less plot time, SSIM within 0.001.
    min_stroke: float = 2.0


@dataclass
class SketchResult:
    drawing: Drawing
    faces: list
    subject: tuple[int, ...]
    frame: object
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    optimize_report: dict | None = None
    mm_per_px: float = 0.0
    frame_box_mm: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # where the framed image lies on the page


class _Timer:
    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress:
            self.progress(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


def detect_for_framing(image: np.ndarray, *, backend: str, model_path: str | None) -> list:
    """Detect faces on a copy no larger than ``DETECT_MAX_PX``; boxes in input pixels."""
    from aikon.faces import detect_faces

    if backend == "none":
        return []
    h, w = image.shape[:2]
    scale = min(1.0, DETECT_MAX_PX / max(h, w))
    if scale >= 1.0:
        return detect_faces(image, backend=backend, model_path=model_path)
    import cv2

    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return [face.scaled(1.0 / scale) for face in detect_faces(small, backend=backend, model_path=model_path)]


def resize_to_working(image: np.ndarray, working_px: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = working_px / max(h, w)
    if abs(scale - 1.0) < 1e-6:
        return image
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)


#: Stage names whose timings add up to the pipeline's time (the report's ``pipeline_s``, SVG included).
PIPELINE_STAGES = ("detect", "frame", "tones", "lines", "hatching", "layout", "optimize", "svg")


def sketch(image: np.ndarray, options: SketchOptions = SketchOptions(), *,
           faces: Sequence | None = None, progress: Callable[[str], None] | None = None) -> SketchResult:
    """Turn an RGB image into a portrait drawing on a page.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    options : SketchOptions
    faces : list of Face, optional
        Faces already detected (skips detection).
    progress : callable, optional
        Called with each stage's name as it starts.
    """
    from aikon.framing import frame_portrait
    from aikon.geometry.layout import fit_scale_offset
    from aikon.strokes import hatch_regions, salient_lines
    from aikon.tones import segment_tones

    if not 2 <= options.levels <= 12:
        raise AikonError(f"--levels must be between 2 and 12, got {options.levels}")
    if not 0.05 <= options.max_coverage <= 0.98:
        raise AikonError(f"--max-coverage must be between 0.05 and 0.98, got {options.max_coverage:g}")
    if options.min_stroke < 0:
        raise AikonError(f"--min-stroke must be >= 0 mm, got {options.min_stroke:g}")
    if not 0.05 <= options.pen_width <= 5:
        raise AikonError(f"--pen-width must be between 0.05 and 5 mm, got {options.pen_width:g}")
    page: Page = parse_paper(options.paper, landscape=options.landscape)
    timer = _Timer(progress)
    warnings: list[str] = []

    with timer.stage("detect"):
        if faces is None:
            faces = detect_for_framing(image, backend=options.detector, model_path=options.face_model)
    faces = list(faces)
    if not faces and options.detector != "none":
        if options.require_face:
            raise NoFaceError(f"no face found by the {options.detector!r} detector (--require-face is set)")
        warnings.append(f"no face found by the {options.detector!r} detector: drawing the whole image")

    with timer.stage("frame"):
        frame = frame_portrait(image, faces, face_index=options.face_index, group=options.group,
                               level_eyes=options.level_eyes)
        work = resize_to_working(frame.image, options.working_px)
    work_h, work_w = work.shape[:2]
    mm_per_px, offset = fit_scale_offset((work_w, work_h), page, options.margin)
    pen_width_px = options.pen_width / mm_per_px

    # scikit-learn costs most of a second to import; it is timed on its own line
    # so the stage timings measure the work, while the whole command's time
    # includes it. (Importing it in a background thread saved ~0.08 s of the
    # whole command but slowed face detection by GIL contention, measured.)
    with timer.stage("import_sklearn"):
        import sklearn.cluster  # noqa: F401
    with timer.stage("tones"):
        tones = segment_tones(work, levels=options.levels, seed=options.seed)
    line_paths_px: list[np.ndarray] = []
    if options.lines:
        with timer.stage("lines"):
            line_paths_px = salient_lines(work, tones.labels, pen_width_px=pen_width_px)
    shade_px: dict[int, list[np.ndarray]] = {}
    if options.shading:
        with timer.stage("hatching"):
            shade_px = hatch_regions(tones.labels, tones.level_lightness, pen_width_px=pen_width_px,
                                     max_coverage=options.max_coverage)

    with timer.stage("layout"):
        # Pixel (c, r) covers [c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]: shift by half a
        # pixel so the image's outer edge lands exactly on the fitted rectangle, and
        # clamp the sub-pixel overshoot of smoothed lines so nothing leaves it.
        origin = (offset[0] + 0.5 * mm_per_px, offset[1] + 0.5 * mm_per_px)
        lo, hi = np.array([-0.5, -0.5]), np.array([work_w - 0.5, work_h - 0.5])

        def to_mm(paths_px: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
            return from_pixels([np.clip(p, lo, hi) for p in paths_px], mm_per_px, origin)

        layers = []
        for level in range(1, tones.levels):
            layers.append(Layer(f"shade-{level}", to_mm(shade_px.get(level, [])), pen_width=options.pen_width))
        layers.append(Layer("lines", to_mm(line_paths_px), pen_width=options.pen_width))
        drawing = Drawing(page, tuple(layers), {
            "source": "aikon sketch",
            "levels": options.levels,
            "seed": options.seed,
            "pen_width_mm": options.pen_width,
        })

    report = None
    if options.optimize:
        from aikon.geometry.optimize import optimize_drawing

        with timer.stage("optimize"):
            # No simplification pass: the line tracer already simplifies to half the
            # pen width and hatch polylines hold only their corner points.
            drawing, optimized = optimize_drawing(drawing, simplify_tol=0.0, min_length=options.min_stroke,
                                                  time_budget_s=options.time_budget_s,
                                                  max_moves=options.max_moves, seed=options.seed)
            report = {"before": optimized.before, "after": optimized.after,
                      "seconds": round(optimized.seconds, 4)}
    return SketchResult(drawing=drawing, faces=faces, subject=frame.subject, frame=frame,
                        timings=timer.timings, warnings=warnings, optimize_report=report, mm_per_px=mm_per_px,
                        frame_box_mm=(offset[0], offset[1], work_w * mm_per_px, work_h * mm_per_px))
