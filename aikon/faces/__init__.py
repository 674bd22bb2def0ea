"""Face detection behind one function, :func:`detect_faces`.

Backends (``backend=``):

``"haar"``
    OpenCV's bundled Haar cascades: frontal detection verified by a second
    cascade, plus confident profile faces. No model file; keypoints empty.
``"mediapipe"``
    MediaPipe BlazeFace (Tasks API) over a pyramid of tiles with a
    verification pass; needs a ``.tflite`` model (``model_path`` or
    ``$AIKON_FACE_MODEL``). Six keypoints. The strongest backend here.
``"yunet"``
    OpenCV's ``FaceDetectorYN``; needs a YuNet ``.onnx`` model. Five keypoints.
``"none"``
    No detection: always ``[]``.

Heavy libraries (OpenCV, MediaPipe) are imported only when a backend runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from aikon.errors import BackendError
from aikon.faces.common import KEYPOINT_NAMES, Face, box_iou, by_area

__all__ = ["BACKENDS", "Face", "KEYPOINT_NAMES", "MODEL_ENV", "box_iou", "detect_faces", "resolve_model_path"]

BACKENDS = ("haar", "mediapipe", "yunet", "none")
MODEL_ENV = "AIKON_FACE_MODEL"

_MODEL_HINTS = {
    "mediapipe": ".tflite", "yunet": ".onnx",
}
_MODEL_EXAMPLES = {
    "mediapipe": "blaze_face_short_range.tflite from MediaPipe's model page",
    "yunet": "face_detection_yunet_2023mar.onnx from the OpenCV model zoo",
}


def detect_faces(image_rgb: np.ndarray, *, backend: str = "haar", model_path: str | os.PathLike | None = None,
                 min_score: float | None = None) -> list[Face]:
    """Find faces in an RGB image.

    Parameters
    ----------
    image_rgb
        ``(H, W, 3)`` uint8 RGB array (grayscale or RGBA arrays are accepted
        and converted, see :func:`aikon.imaging.check_image`); not modified.
    backend
        One of :data:`BACKENDS`.
    model_path
        Model file for ``"mediapipe"`` (``.tflite``) and ``"yunet"``
        (``.onnx``); default ``$AIKON_FACE_MODEL``. Ignored by the others.
    min_score
        Drop faces scoring below this. ``None``: the backend's own tuned
        threshold (mediapipe 0.7, tuned for the short-range model; yunet 0.6; haar filters by verification
        and keeps every verified face).

    Returns
    -------
    list of Face
        Boxes ``(x, y, w, h)`` and keypoints in input-image pixels, sorted by
        box area, largest first.

    Raises
    ------
    BackendError
        Unknown backend, missing model file, unloadable model, or missing package.
    InputError
        ``image_rgb`` is not an image array.
    """
    from aikon.imaging import check_image

    if backend not in BACKENDS:
        raise BackendError(f"unknown face detector {backend!r}: choose one of {', '.join(BACKENDS)}")
    image = check_image(image_rgb, name="face detection input")
    if backend == "none":
        return []
    if backend == "haar":
        from aikon.faces import haar

        faces = haar.detect(image)
        threshold = 0.0
    elif backend == "mediapipe":
        from aikon.faces import blazeface

        faces = blazeface.detect(image, resolve_model_path(backend, model_path))
        threshold = blazeface.DEFAULT_MIN_SCORE
    else:
        from aikon.faces import yunet

        faces = yunet.detect(image, resolve_model_path(backend, model_path))
        threshold = yunet.DEFAULT_MIN_SCORE
    if min_score is not None:
        threshold = float(min_score)
    return by_area(f for f in faces if f.score >= threshold and f.box[2] > 0 and f.box[3] > 0)


def resolve_model_path(backend: str, model_path: str | os.PathLike | None) -> Path:
    """The model file for ``backend``: ``model_path``, else ``$AIKON_FACE_MODEL``; it must exist.

    Raises
    ------
    BackendError
        Neither is given, or the file is missing or a directory; the message
        says what to pass.
    """
    given = model_path if model_path not in (None, "") else os.environ.get(MODEL_ENV) or None
    example = _MODEL_EXAMPLES.get(backend, "a model file")
    if given is None:
        raise BackendError(f"the {backend} backend needs a model file: pass --face-model PATH or set {MODEL_ENV} "
                           f"(e.g. {example}), or use --detector haar")
    path = Path(given).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise BackendError(f"face model {path} {what}: the {backend} backend needs a {_MODEL_HINTS[backend]} "
                           f"file (e.g. {example}) via --face-model PATH or {MODEL_ENV}")
    return path
