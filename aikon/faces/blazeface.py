"""MediaPipe BlazeFace detection over an image pyramid of tiles, with a verification pass.

BlazeFace sees its input at 128 x 128 (short range) or 192 x 192 (full
range), so on a whole group photo a 40 px face shrinks to a few pixels and is
lost. This backend therefore runs the detector

1. on the whole image and on overlapping square tiles at halving sizes, down
   to tiles about ``TILE_PER_FACE`` times the smallest face wanted, each tile
   overlapping its neighbours by half so every face lies wholly inside some
   tile of a suitable size; detections cut by an inner tile edge are dropped
   (the face is found whole elsewhere);
2. merges the candidates by non-maximum suppression (overlap only: a
   nested box may still be a separate face until verified);
3. re-detects each candidate in square crops centred on it at
   ``VERIFY_CROPS`` times its size, where the face has the proportions the
   model was trained on. The face's score is the *lowest* of the candidate
   score and the verification scores: a real face scores high at every
   framing, while textures that look like a face in one tile (dog fur,
   patterned cloth) do not. With the short-range model on the shared test
   photos, true faces score >= 0.78 (a near-profile) and the best non-face
   0.64 (a dog), hence ``DEFAULT_MIN_SCORE = 0.7``. The full-range model
   scores lower overall (true faces down to ~0.6): pass ``min_score`` for it.

Keypoints come from the verification crop (face at its canonical size).
The verified faces are merged once more, now also treating a box whose
centre lies in a better one as the same face.
``mediapipe`` is imported only when this backend runs (it takes ~1 s).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from aikon.errors import BackendError
from aikon.faces.common import KEYPOINT_NAMES, Face, clip_box, same_face, suppress

DEFAULT_MIN_SCORE = 0.7
# Candidates below this are not worth verifying (true faces reach >= 0.86 in some tile).
CANDIDATE_SCORE = 0.5
# Raw detections below this are ignored by the model itself.
DETECTOR_THRESHOLD = 0.4
# Smallest face searched: 20 px or 1/32 of the image's short side.
MIN_FACE_PX = 20
MIN_FACE_FRACTION = 1.0 / 32.0
# A tile finds faces down to about 1/5.5 of its side (measured: 29 px faces in 166 px tiles).
TILE_PER_FACE = 5.5
# Detections closer than this fraction of the tile side to an inner tile edge are cut faces.
EDGE_MARGIN = 0.02
VERIFY_CROPS = (2.0, 3.0)


def detect(image_rgb: np.ndarray, model_path: Path) -> list[Face]:
    """Faces in an ``(H, W, 3)`` uint8 RGB image; ``score`` as described in the module docstring."""
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions
    except ImportError as exc:
        raise BackendError(f"the mediapipe backend needs the mediapipe package ({exc.name} is missing): "
                           f"pip install mediapipe, or use --detector haar") from None

    image = np.ascontiguousarray(image_rgb)
    options = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                         min_detection_confidence=DETECTOR_THRESHOLD)
    with _native_stderr_silenced():
        try:
            detector = vision.FaceDetector.create_from_options(options)
        except (ValueError, RuntimeError) as exc:
            detail = " ".join(str(exc).split())[:160]
            raise BackendError(f"cannot load face model {model_path} with mediapipe ({detail}); "
                               f"pass a BlazeFace .tflite file such as blaze_face_short_range.tflite") from None
        with detector:
            def run(pixels: np.ndarray) -> list[Face]:
                frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels))
                return [_to_face(d, pixels.shape[1], pixels.shape[0]) for d in detector.detect(frame).detections]

            candidates = [face for face in suppress(_tile_detections(image, run), iou_only=True)
                          if face.score >= CANDIDATE_SCORE]
            verified = [_verify(image, face, run) for face in candidates]
    height, width = image.shape[:2]
    faces = [Face(box=clip_box(f.box, width, height), score=f.score, keypoints=f.keypoints) for f in verified]
    return suppress(faces)


def tile_grid(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """The ``(x, y, w, h)`` windows searched: the whole image, then square tiles of halving size.

    Tiles overlap their neighbours by at least half a tile and the last tile
    of each row and column is flush with the image edge.
    """
    short = min(height, width)
    min_face = max(MIN_FACE_PX, short * MIN_FACE_FRACTION)
    sizes = []
    if max(height, width) > 1.3 * short:  # the whole image is letterboxed: add short-side tiles
        sizes.append(short)
    size = short // 2
    while size >= TILE_PER_FACE * min_face:
        sizes.append(size)
        size //= 2
    windows = [(0, 0, width, height)]
    for size in sizes:
        for y in _starts(height, size):
            for x in _starts(width, size):
                windows.append((x, y, size, size))
    return windows


def _starts(length: int, size: int) -> list[int]:
    if size >= length:
        return [0]
    count = int(np.ceil((length - size) / (size / 2))) + 1
    return [int(round(i * (length - size) / (count - 1))) for i in range(count)]


def _tile_detections(image: np.ndarray, run) -> Iterator[Face]:
    height, width = image.shape[:2]
    for x, y, w, h in tile_grid(height, width):
        margin = EDGE_MARGIN * w
        for face in run(image[y:y + h, x:x + w]):
            bx, by, bw, bh = face.box
            cut = ((bx < margin and x > 0) or (by < margin and y > 0)
                   or (bx + bw > w - margin and x + w < width) or (by + bh > h - margin and y + h < height))
            if not cut:
                yield _shifted(face, x, y)


def _verify(image: np.ndarray, candidate: Face, run) -> Face:
    """The candidate with its score lowered to the worst re-detection score (0 if not re-detected)."""
    x, y, w, h = candidate.box
    cx, cy = x + w / 2.0, y + h / 2.0
    score = candidate.score
    best_view: Face | None = None
    for factor in VERIFY_CROPS:
        side = max(2, int(round(max(w, h) * factor)))
        x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
        crop = _crop_padded(image, x0, y0, side)
        matches = [_shifted(f, x0, y0) for f in run(crop)]
        matches = [f for f in matches if same_face(f.box, candidate.box)]
        found = max(matches, key=lambda f: f.score, default=None)
        score = min(score, found.score if found else 0.0)
        if found is not None and best_view is None:
            best_view = found  # the tightest crop gives the most precise box and keypoints
    view = best_view or candidate
    return Face(box=view.box, score=score, keypoints=view.keypoints)


def _crop_padded(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """A ``side`` x ``side`` window at ``(x0, y0)``; parts outside the image are black."""
    height, width = image.shape[:2]
    out = np.zeros((side, side, 3), np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(width, x0 + side), min(height, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def _shifted(face: Face, dx: float, dy: float) -> Face:
    x, y, w, h = face.box
    return Face(box=(x + dx, y + dy, w, h), score=face.score,
                keypoints={k: (px + dx, py + dy) for k, (px, py) in face.keypoints.items()})


def _to_face(detection, width: int, height: int) -> Face:
    box = detection.bounding_box
    score = float(detection.categories[0].score) if detection.categories else 0.0
    # Keypoints come normalised to the input size; the order is MediaPipe's
    # (right eye, left eye, nose tip, mouth, right ear, left ear).
    keypoints = {name: (float(kp.x) * width, float(kp.y) * height)
                 for name, kp in zip(KEYPOINT_NAMES, detection.keypoints or [])}
    return Face(box=(float(box.origin_x), float(box.origin_y), float(box.width), float(box.height)),
                score=score, keypoints=keypoints)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file for the duration.

    MediaPipe's C++ core logs INFO lines and warnings ("Created TensorFlow Lite
    XNNPACK delegate", "Sparsity tensors...") straight to fd 2, which would
    break the one-line-error rule of the command line; no environment variable
    silences LiteRT's logger, so the descriptor is redirected.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
