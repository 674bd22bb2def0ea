"""Haar-cascade face detection with OpenCV's bundled cascades (no model file needed).

Three steps, each there because the plain ``detectMultiScale`` call gets a
kind of photo wrong:

1. Frontal faces: ``haarcascade_frontalface_default`` as in the classic recipe
   (scale step 1.1, 5 neighbours), with the smallest face tied to the image
   size so texture in big photos does not turn into tiny "faces".
2. Verification: each frontal candidate must also be found by the separately
   trained ``haarcascade_frontalface_alt2`` and ``..._alt`` cascades in crops
   around it. Dogs, clothing folds and wallpaper fool one cascade far more
   often than all three.
3. Profiles: ``haarcascade_profileface`` on the image and its mirror image
   (the cascade knows one side only) adds side views the frontal cascade
   misses; only large ones (a side view is drawn only as the main subject),
   only confident ones (final-stage weight >= ``PROFILE_MIN_WEIGHT``)
   that do not overlap a frontal face are kept, since this cascade is the
   least specific of the three.

The score maps the cascade's final-stage weight (``levelWeights`` of
``detectMultiScale3``, roughly -1 to 13) through a logistic curve to (0, 1).
"""

from __future__ import annotations

import math

import numpy as np

from aikon.errors import BackendError
from aikon.faces.common import Face, clip_box, same_face, suppress

SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 5
# Smallest face: 30 px (the cascade's 24 px window plus margin) or 1/24 of the
# image's short side, whichever is larger.
MIN_FACE_PX = 30
MIN_FACE_FRACTION = 1.0 / 24.0
# Long side the image is reduced to before detection: the cascade's cost grows
# with area, and faces above the minimum size survive the reduction.
WORK_MAX_PX = 1280
# Verification crops: the candidate box grown by each of these fractions on
# each side, resized so the long side is VERIFY_PX, searched for a face at
# least VERIFY_MIN_FRACTION of that size.
VERIFY_PADS = (0.2, 0.3, 0.4)
VERIFY_PX = 160
VERIFY_MIN_FRACTION = 0.375
PROFILE_MIN_WEIGHT = 1.5
# Profiles are sought only at >= 1/8 of the short side, on a copy whose short
# side makes that 30 px.
PROFILE_MIN_FACE_FRACTION = 1.0 / 8.0
PROFILE_SHORT_SIDE_PX = 240
# Logistic mapping of the final-stage weight to a score.
WEIGHT_MID = 2.0
WEIGHT_SCALE = 2.0


def detect(image_rgb: np.ndarray) -> list[Face]:
    """Faces in an ``(H, W, 3)`` uint8 RGB image; boxes in its pixels, best-effort order."""
    import cv2

    frontal, verifiers, profile = _cascades()
    height, width = image_rgb.shape[:2]
    gray = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, WORK_MAX_PX / max(height, width))
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    min_face = max(MIN_FACE_PX, int(round(min(gray.shape) * MIN_FACE_FRACTION)))

    inv = 1.0 / scale
    frontal_faces = suppress(Face(box=tuple(v * inv for v in box), score=_score(weight))
                             for box, weight in _detect(frontal, gray, min_face) if _verified(verifiers, gray, box))
    # Profiles only where no frontal face is: the frontal boxes are the better fit.
    profile_faces = [face for face in suppress(Face(box=tuple(v * inv for v in box), score=_score(weight))
                                               for box, weight in _detect_profiles(profile, gray))
                     if not any(same_face(face.box, other.box) for other in frontal_faces)]
    return [Face(box=clip_box(face.box, width, height), score=face.score) for face in frontal_faces + profile_faces]


def _detect(cascade, gray: np.ndarray, min_face: int) -> list[tuple[tuple[float, float, float, float], float]]:
    boxes, _levels, weights = cascade.detectMultiScale3(
        gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(min_face, min_face),
        outputRejectLevels=True)
    return [(tuple(float(v) for v in box), float(weight)) for box, weight in zip(boxes, np.ravel(weights))]


def _detect_profiles(cascade, gray: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
    """Confident profile faces (either side) at least ``PROFILE_MIN_FACE_FRACTION`` of the short side.

    Only large profiles are sought (a side view is worth drawing only as the
    subject), so the search runs on a small copy: ~10x faster than full size.
    """
    import cv2

    height, width = gray.shape
    scale = min(1.0, PROFILE_SHORT_SIDE_PX / min(height, width))
    small = gray
    if scale < 1.0:
        small = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    min_face = max(MIN_FACE_PX, int(round(min(small.shape) * PROFILE_MIN_FACE_FRACTION)))
    found = []
    for mirrored in (False, True):
        source = np.ascontiguousarray(small[:, ::-1]) if mirrored else small
        for box, weight in _detect(cascade, source, min_face):
            if weight < PROFILE_MIN_WEIGHT:
                continue
            if mirrored:  # the cascade knows one side only; the other is found in the mirror image
                box = (small.shape[1] - box[0] - box[2], box[1], box[2], box[3])
            found.append((tuple(v / scale for v in box), weight))
    return found


def _verified(verifiers, gray: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether each verifying cascade also finds a face in most of a few crops around ``box``.

    One crop is not enough: a borderline window flips with a one-pixel change
    of the crop, so the crops differ in margin and a majority decides.
    """
    for verifier in verifiers:
        votes = sum(_found_in_crop(verifier, gray, box, pad) for pad in VERIFY_PADS)
        if 2 * votes <= len(VERIFY_PADS):
            return False
    return True


def _found_in_crop(verifier, gray: np.ndarray, box: tuple[float, float, float, float], pad_fraction: float) -> bool:
    import cv2

    x, y, w, h = box
    pad = pad_fraction * max(w, h)
    x0, y0 = int(max(0, x - pad)), int(max(0, y - pad))
    x1, y1 = int(min(gray.shape[1], x + w + pad)), int(min(gray.shape[0], y + h + pad))
    crop = gray[y0:y1, x0:x1]
    factor = VERIFY_PX / max(crop.shape)
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor))),
                      interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    smallest = int(VERIFY_PX * VERIFY_MIN_FRACTION)
    # With outputRejectLevels the cascade keeps only windows that pass every
    # stage, which is the strictness wanted here.
    found, _levels, _weights = verifier.detectMultiScale3(
        crop, scaleFactor=SCALE_FACTOR, minNeighbors=1, minSize=(smallest, smallest), outputRejectLevels=True)
    return len(found) > 0


def _score(weight: float) -> float:
    return 1.0 / (1.0 + math.exp(-(weight - WEIGHT_MID) / WEIGHT_SCALE))


_CASCADES: dict[str, object] = {}


def _cascades() -> tuple:
    """``(frontal, (verifier, verifier), profile)`` cascades, loaded once per process (~50 ms each)."""
    import cv2

    names = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml",
             "haarcascade_frontalface_alt.xml", "haarcascade_profileface.xml")
    loaded = []
    for name in names:
        if name not in _CASCADES:
            data = getattr(cv2, "data", None)
            path = f"{data.haarcascades}{name}" if data is not None else name
            cascade = cv2.CascadeClassifier(path)
            if cascade.empty():
                raise BackendError(f"the haar backend needs OpenCV's bundled cascade {name}, which is missing from "
                                   f"this OpenCV installation (install opencv-contrib-python)")
            _CASCADES[name] = cascade
        loaded.append(_CASCADES[name])
    return loaded[0], (loaded[1], loaded[2]), loaded[3]
