"""``aikon detect``: find the faces in a photograph and print them (table or JSON)."""

from __future__ import annotations

import argparse
import os

DETECTORS = ("haar", "mediapipe", "yunet", "none")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="find faces in a photo and print their boxes",
        description="Find the faces in a photograph and print each one's box (x, y, width, height in image "
                    "pixels, origin top-left), score and, where the detector gives them, keypoints. "
                    "Faces are listed largest first.",
        epilog="examples:\n"
               "  aikon detect photo.jpg\n"
               "  aikon detect photo.jpg --json\n"
               "  aikon detect group.jpg --detector mediapipe --face-model blaze_face_short_range.tflite --json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="image file (JPEG, PNG, WebP, TIFF, BMP)")
    p.add_argument("--json", action="store_true",
                   help='print a JSON list of {"box": [x, y, w, h], "score": s, "keypoints": {...}}')
    p.add_argument("--detector", choices=DETECTORS, default="haar",
                   help="face detector (default: haar, built in; mediapipe and yunet need --face-model)")
    p.add_argument("--face-model", metavar="PATH", default=os.environ.get("AIKON_FACE_MODEL"),
                   help="model file for mediapipe (.tflite) or yunet (.onnx); default $AIKON_FACE_MODEL")
    p.add_argument("--min-score", type=_unit_interval, default=None, metavar="S",
                   help="drop faces scoring below S in [0, 1] (default: the detector's tuned threshold)")
    p.add_argument("--max-pixels", type=_positive_int, default=None, metavar="N",
                   help="refuse images with more pixels than this (default $AIKON_MAX_PIXELS or 50000000)")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not positive")
    return value


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def run(args: argparse.Namespace) -> int:
    import json
    import time

    from aikon.faces import detect_faces
    from aikon.imaging import load_image

    image = load_image(args.input, max_pixels=args.max_pixels)
    started = time.perf_counter()
    faces = detect_faces(image, backend=args.detector, model_path=args.face_model, min_score=args.min_score)
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps([face.to_json() for face in faces]))
        return 0
    height, width = image.shape[:2]
    print(f"{args.input}: {width}x{height} px, {len(faces)} face(s) by {args.detector} in {elapsed:.2f} s")
    if faces:
        print(f"{'#':>3} {'x':>8} {'y':>8} {'width':>8} {'height':>8} {'score':>6}  keypoints")
        for index, face in enumerate(faces):
            x, y, w, h = face.box
            names = ", ".join(face.keypoints) if face.keypoints else "-"
            print(f"{index:>3} {x:8.1f} {y:8.1f} {w:8.1f} {h:8.1f} {face.score:6.3f}  {names}")
    return 0
