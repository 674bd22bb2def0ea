"""The face record every backend returns, and box helpers shared by the backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

Box = tuple[float, float, float, float]

KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
"""Keypoint names, in the order BlazeFace (MediaPipe) and YuNet give them.

Right and left are the *subject's*: in an unmirrored frontal photo
``right_eye`` lies on the image's left (smaller x), ``left_eye`` on its right.
The ears are the ear tragions (MediaPipe only); ``mouth`` is the mouth centre
(YuNet: the midpoint of its two mouth corners).
"""


@dataclass(frozen=True)
class Face:
    """One detected face, in input-image pixels (origin top-left, y down).

    Attributes
    ----------
    box
        ``(x, y, w, h)``: left, top, width, height in pixels, inside the image.
    score
        Confidence in [0, 1]; comparable within a backend, not across backends.
    keypoints
        ``{name: (x, y)}`` in pixels, names from :data:`KEYPOINT_NAMES`;
        empty when the backend gives none (Haar).
    """

    box: Box
    score: float
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict, hash=False)

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return self.box[2] * self.box[3]

    @property
    def center(self) -> tuple[float, float]:
        """Box centre ``(x, y)`` in pixels."""
        x, y, w, h = self.box
        return (x + w / 2.0, y + h / 2.0)

    def scaled(self, factor: float) -> "Face":
        """The same face in an image resized by ``factor`` (box and keypoints multiplied)."""
        x, y, w, h = self.box
        return Face(box=(x * factor, y * factor, w * factor, h * factor), score=self.score,
                    keypoints={k: (px * factor, py * factor) for k, (px, py) in self.keypoints.items()})

    def to_json(self) -> dict:
        """``{"box": [x, y, w, h], "score": s, "keypoints": {name: [x, y]}}``.

        Pixels rounded to 0.01, score to 1e-4; ``keypoints`` is omitted when
        there are none.
        """
        out: dict = {"box": [round(float(v), 2) for v in self.box], "score": round(float(self.score), 4)}
        if self.keypoints:
            out["keypoints"] = {k: [round(float(x), 2), round(float(y), 2)] for k, (x, y) in self.keypoints.items()}
        return out


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when disjoint)."""
    inter = _intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _intersection(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def same_face(a: Sequence[float], b: Sequence[float], *, iou: float = 0.3) -> bool:
    """Whether two boxes are taken to be one face.

    Yes when their IoU exceeds ``iou`` or the centre of the smaller box lies
    inside the larger one: two people's faces never overlap that much, while
    a detector's shifted or nested second box on one face (forehead and eyes
    only, a whole-head profile box around a face box) does.
    """
    if box_iou(a, b) > iou:
        return True
    small, large = (a, b) if a[2] * a[3] <= b[2] * b[3] else (b, a)
    cx, cy = small[0] + small[2] / 2.0, small[1] + small[3] / 2.0
    return large[0] <= cx <= large[0] + large[2] and large[1] <= cy <= large[1] + large[3]


def suppress(faces: Iterable[Face], *, iou_only: bool = False) -> list[Face]:
    """Greedy non-maximum suppression: keep the best-scoring face of each group of :func:`same_face` boxes.

    With ``iou_only`` boxes are merged only when their IoU exceeds 0.3 (the
    centre rule is left out), for candidates not yet verified: a confident
    false box must not swallow a real face whose centre it happens to cover.
    """
    def same(a: Box, b: Box) -> bool:
        return box_iou(a, b) > 0.3 if iou_only else same_face(a, b)

    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if not any(same(face.box, other.box) for other in kept):
            kept.append(face)
    return kept


def clip_box(box: Sequence[float], width: int, height: int) -> Box:
    """Clip an ``(x, y, w, h)`` box to the image ``[0, width] x [0, height]``."""
    x0 = min(max(float(box[0]), 0.0), float(width))
    y0 = min(max(float(box[1]), 0.0), float(height))
    x1 = min(max(float(box[0] + box[2]), 0.0), float(width))
    y1 = min(max(float(box[1] + box[3]), 0.0), float(height))
    return (x0, y0, x1 - x0, y1 - y0)


def by_area(faces: Iterable[Face]) -> list[Face]:
    """Faces sorted by box area, largest first (ties: higher score first)."""
    return sorted(faces, key=lambda f: (-f.area, -f.score))
