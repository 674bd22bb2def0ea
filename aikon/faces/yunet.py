"""YuNet (OpenCV's ``cv2.FaceDetectorYN``) with a user-supplied ONNX model.

The model is not bundled: users download ``face_detection_yunet_2023mar.onnx``
from the OpenCV model zoo and pass it with ``--face-model``. YuNet is fully
convolutional, so it runs on the whole image at once; large images are reduced
to ``WORK_MAX_PX`` on the long side first for speed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aikon.errors import BackendError
from aikon.faces.common import Face, clip_box

DEFAULT_MIN_SCORE = 0.6
NMS_IOU = 0.3
TOP_K = 5000
WORK_MAX_PX = 1280


def detect(image_rgb: np.ndarray, model_path: Path) -> list[Face]:
    """Faces in an ``(H, W, 3)`` uint8 RGB image, with five keypoints each (no ears)."""
    import cv2

    if not hasattr(cv2, "FaceDetectorYN"):
        raise BackendError("the yunet backend needs OpenCV >= 4.5.4 with cv2.FaceDetectorYN; "
                           "pip install --upgrade opencv-contrib-python")
    height, width = image_rgb.shape[:2]
    scale = min(1.0, WORK_MAX_PX / max(height, width))
    work = image_rgb
    if scale < 1.0:
        work = cv2.resize(image_rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(work[:, :, ::-1])
    try:
        detector = cv2.FaceDetectorYN.create(str(model_path), "", (bgr.shape[1], bgr.shape[0]),
                                             DEFAULT_MIN_SCORE / 2, NMS_IOU, TOP_K)
    except cv2.error as exc:
        detail = " ".join(str(exc).split())[-160:]
        raise BackendError(f"cannot load face model {model_path} with cv2.FaceDetectorYN ({detail}); "
                           f"pass a YuNet .onnx file such as face_detection_yunet_2023mar.onnx") from None
    _, rows = detector.detect(bgr)
    return [_to_face(row, 1.0 / scale, width, height) for row in (rows if rows is not None else [])]


def _to_face(row: np.ndarray, inv: float, width: int, height: int) -> Face:
    # Row layout: x, y, w, h, right eye (x, y), left eye, nose tip, right and
    # left mouth corners, score; the "right" points are the image-left ones.
    v = [float(t) * inv for t in row[:14]]
    keypoints = {
        "right_eye": (v[4], v[5]),
        "left_eye": (v[6], v[7]),
        "nose_tip": (v[8], v[9]),
        "mouth": ((v[10] + v[12]) / 2.0, (v[11] + v[13]) / 2.0),
    }
    return Face(box=clip_box(v[:4], width, height), score=float(row[14]), keypoints=keypoints)
