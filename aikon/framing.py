"""Framing: from the detected faces to a head-and-shoulders crop.

Pure functions on arrays, in image pixels. The subject is the largest face by
default, a chosen face (``face_index``), or every face (``group``). The crop
extends the face box to take in the hair above and the shoulders below, with
a portrait aspect ratio, and where the detector gives eye keypoints the image
is first rotated about the face so the eyes are level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from aikon.errors import AikonError

# Head-and-shoulders proportions, in face-box heights/widths, measured from
# the detector's box (which spans brows to chin): hair above, shoulders below.
ABOVE = 0.75
BELOW = 1.55
SIDE = 1.15
# Eyes are levelled only for moderate tilts: a large angle is more likely a
# keypoint error (or an intended pose) than a tilted camera.
MAX_LEVEL_DEG = 25.0
MIN_LEVEL_DEG = 1.0


@dataclass(frozen=True)
class Frame:
    """The framed portrait and how it maps back to the input image.

    Attributes
    ----------
    image : (H, W, 3) uint8
        The cropped (and possibly rotated) portrait.
    crop_box : (x, y, w, h)
        The crop in the (rotated) input image's pixels.
    rotation_deg : float
        Counter-clockwise rotation applied about ``center`` before cropping.
    center : (x, y)
        Rotation centre in input pixels.
    subject : list of int
        Indices (into the faces list) of the faces framed.
    whole_image : bool
        True when no face was used and the whole image is the frame.
    """

    image: np.ndarray
    crop_box: tuple[int, int, int, int]
    rotation_deg: float
    center: tuple[float, float]
    subject: tuple[int, ...]
    whole_image: bool


def eye_angle_deg(face) -> float | None:
    """Angle of the line between the eyes (degrees, image y down), or None."""
    kp = getattr(face, "keypoints", None) or {}
    if "left_eye" not in kp or "right_eye" not in kp:
        return None
    (x1, y1), (x2, y2) = sorted([kp["left_eye"], kp["right_eye"]])  # left-to-right in the image
    return math.degrees(math.atan2(y2 - y1, x2 - x1))


def subject_box(faces: Sequence, *, face_index: int | None = None, group: bool = False) -> tuple[tuple[float, float, float, float], float, tuple[int, ...]]:
    """The box (x, y, w, h) to frame, the typical face height in it, and the faces' indices."""
    if not faces:
        raise ValueError("no faces")
    if group:
        boxes = np.array([f.box for f in faces], dtype=float)
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
        # Margins follow the typical face size, not the size of the union.
        face_h = float(np.median(boxes[:, 3]))
        return (float(x0), float(y0), float(x1 - x0), float(y1 - y0)), face_h, tuple(range(len(faces)))
    if face_index is None:
        areas = [f.box[2] * f.box[3] for f in faces]
        face_index = int(np.argmax(areas))
    if not 0 <= face_index < len(faces):
        raise AikonError(f"--face {face_index} is out of range: {len(faces)} face(s) found (0..{len(faces) - 1})")
    box = tuple(float(v) for v in faces[face_index].box)
    return box, box[3], (face_index,)  # type: ignore[return-value]


def head_and_shoulders_box(box: Sequence[float], image_size: tuple[int, int], *, aspect: float = 0.8,
                           face_height: float | None = None) -> tuple[int, int, int, int]:
    """Expand a face box to a head-and-shoulders crop inside the image.

    ``aspect`` is width / height of the crop (0.8 = 4:5 portrait). The crop is
    shifted (not squashed) to stay inside the image, and shrunk only when the
    image itself is too small.
    """
    x, y, w, h = (float(v) for v in box)
    face_h = h if face_height is None else float(face_height)
    img_w, img_h = image_size
    top = y - ABOVE * face_h
    bottom = y + h + BELOW * face_h
    height = bottom - top
    width = max(w + 2 * SIDE * face_h, aspect * height)
    height = max(height, width / aspect)
    cx = x + w / 2
    left = cx - width / 2
    # Fit inside the image, keeping the face in view: shrink if needed, then shift.
    width = min(width, img_w)
    height = min(height, img_h)
    left = min(max(left, 0.0), img_w - width)
    top = min(max(top, 0.0), img_h - height)
    return (int(round(left)), int(round(top)), int(round(width)), int(round(height)))


def frame_portrait(image: np.ndarray, faces: Sequence, *, face_index: int | None = None, group: bool = False,
                   level_eyes: bool = True, aspect: float = 0.8) -> Frame:
    """Crop ``image`` to a head-and-shoulders portrait of the subject.

    With no faces, the whole image is returned (``whole_image=True``).
    """
    img_h, img_w = image.shape[:2]
    if not faces:
        return Frame(image, (0, 0, img_w, img_h), 0.0, (img_w / 2, img_h / 2), (), True)
    box, face_h, subject = subject_box(faces, face_index=face_index, group=group)
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    angle = 0.0
    working = image
    if level_eyes and not group:
        measured = eye_angle_deg(faces[subject[0]])
        if measured is not None and MIN_LEVEL_DEG <= abs(measured) <= MAX_LEVEL_DEG:
            import cv2

            angle = measured
            # Rotating by the eye angle about the face centre makes the eyes level;
            # replicate the border so no black wedges enter the tone segmentation.
            matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
            working = cv2.warpAffine(image, matrix, (img_w, img_h), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
    crop = head_and_shoulders_box(box, (img_w, img_h), aspect=aspect, face_height=face_h)
    x, y, w, h = crop
    return Frame(np.ascontiguousarray(working[y:y + h, x:x + w]), crop, angle, (cx, cy), subject, False)
