"""``aikon sketch``: photograph -> portrait drawing (SVG, preview PNG, report, G-code)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

EPILOG = """examples:
  aikon sketch samples/astronaut.png -o portrait.svg --preview portrait.png
  aikon sketch photo.jpg -o a3.svg --paper A3 --levels 6 --pen-width 0.5 --report report.json
  aikon sketch group.jpg -o group.svg --group --detector mediapipe --face-model blaze_face_short_range.tflite
  aikon sketch photo.jpg -o p.svg --gcode p.gcode --profile grbl-servo

Layers in the SVG: shade-1 (lightest shading) .. shade-K-1 (darkest), then lines;
plot them with one pen, or one pen per layer (vpype, AxiDraw and Inkscape read the layers).
"""


def register(sub) -> None:
    p = sub.add_parser("sketch", help="turn a photograph into a portrait drawing (SVG)",
                       description="Turn a photograph into a pen-plotter portrait: find the face, frame head and "
                                   "shoulders, segment tones with k-means, hatch each tone region, trace the "
                                   "salient lines, lay it out on the page and write SVG.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="photograph: JPEG, PNG, WebP, TIFF or BMP")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="SVG file to write")
    p.add_argument("--preview", metavar="OUT.png", help="also write a PNG preview of the drawing on paper")
    p.add_argument("--report", metavar="OUT.json", help="write a JSON report (faces, timings, statistics)")
    p.add_argument("--gcode", metavar="OUT.gcode", help="also write G-code for --profile")
    p.add_argument("--profile", default="grbl-servo", help="firmware profile for --gcode (default: grbl-servo)")
    p.add_argument("--fit", action="store_true", help="with --gcode: scale the drawing into the machine's work area")
    g = p.add_argument_group("faces and framing")
    g.add_argument("--detector", choices=["haar", "mediapipe", "yunet", "none"], default="haar",
                   help="face detector (default: haar, built in; mediapipe and yunet need --face-model)")
    g.add_argument("--face-model", metavar="PATH", default=os.environ.get("AIKON_FACE_MODEL"),
                   help="model file for mediapipe (.tflite) or yunet (.onnx); default $AIKON_FACE_MODEL")
    g.add_argument("--face", type=int, metavar="N", dest="face_index",
                   help="draw face N (0 = largest) instead of the largest face")
    g.add_argument("--group", action="store_true", help="frame all faces together")
    g.add_argument("--require-face", action="store_true", help="fail (exit 2) if no face is found")
    g.add_argument("--no-level-eyes", action="store_true", help="do not rotate to level the eyes")
    d = p.add_argument_group("drawing")
    d.add_argument("--levels", type=int, default=5, metavar="K", help="tone levels for k-means (default 5)")
    d.add_argument("--seed", type=int, default=0, help="random seed (same seed, same SVG; default 0)")
    d.add_argument("--pen-width", type=float, default=0.3, metavar="MM", help="pen width in mm (default 0.3)")
    d.add_argument("--max-coverage", type=float, default=None, metavar="C",
                   help="ink coverage of the darkest tone, 0..1 (default 0.95): lower is lighter and quicker to plot")
    d.add_argument("--min-stroke", type=float, default=None, metavar="MM",
                   help="drop strokes shorter than this, each costs a pen lift (default 2 mm; 0 keeps all)")
    d.add_argument("--paper", default="A4", help="A2..A6, Letter, Legal, Tabloid or WxH in mm (default A4)")
    d.add_argument("--landscape", action="store_true", help="landscape orientation")
    d.add_argument("--margin", type=float, default=15.0, metavar="MM", help="page margin in mm (default 15)")
    d.add_argument("--working-px", type=int, default=None, metavar="N",
                   help="long side in pixels of the framed image the stages work on (default 640)")
    d.add_argument("--no-lines", action="store_true", help="omit the salient lines")
    d.add_argument("--no-shading", action="store_true", help="omit the hatching")
    d.add_argument("--no-optimize", action="store_true", help="skip path optimisation (merge, simplify, order)")
    d.add_argument("--time-budget", type=float, default=None, metavar="S",
                   help="seconds for the path-ordering improvement pass")
    p.add_argument("--max-pixels", type=int, default=None, metavar="N",
                   help="refuse images with more pixels than this (default 50000000)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def _check_writable(path: str | None) -> None:
    from aikon.errors import InputError

    if path is None:
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"cannot write {path}: directory {parent} is not writable")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    for target in (args.output, args.preview, args.report, args.gcode):
        _check_writable(target)

    from aikon.drawing import drawing_stats
    from aikon.imaging import load_image
    from aikon.pipeline import DEFAULT_WORKING_PX, PIPELINE_STAGES, SketchOptions, sketch
    from aikon.progress import ProgressBar

    options = SketchOptions(
        detector=args.detector, face_model=args.face_model, face_index=args.face_index, group=args.group,
        require_face=args.require_face, level_eyes=not args.no_level_eyes, levels=args.levels, seed=args.seed,
        pen_width=args.pen_width, paper=args.paper, landscape=args.landscape, margin=args.margin,
        working_px=args.working_px or DEFAULT_WORKING_PX, lines=not args.no_lines, shading=not args.no_shading,
        optimize=not args.no_optimize,
        **({"time_budget_s": args.time_budget} if args.time_budget is not None else {}),
        **({"max_coverage": args.max_coverage} if args.max_coverage is not None else {}),
        **({"min_stroke": args.min_stroke} if args.min_stroke is not None else {}),
    )
    stages = ["load", *PIPELINE_STAGES]
    bar = ProgressBar(len(stages), "sketch", enabled=None if not args.quiet else False)

    def progress(name: str) -> None:
        if name in stages:
            bar.update(stages.index(name), detail=name, force=True)

    t0 = time.perf_counter()
    progress("load")
    kwargs = {"max_pixels": args.max_pixels} if args.max_pixels else {}
    image = load_image(args.input, **kwargs)
    load_s = time.perf_counter() - t0

    result = sketch(image, options, progress=progress)
    timings = {"load": load_s, **result.timings}

    from aikon.output.svg import write_svg

    progress("svg")
    t0 = time.perf_counter()
    write_svg(result.drawing, args.output, title=f"aikon portrait of {Path(args.input).name}")
    timings["svg"] = time.perf_counter() - t0
    if args.preview:
        from aikon.output.preview import write_preview

        t0 = time.perf_counter()
        write_preview(result.drawing, args.preview)
        timings["preview"] = time.perf_counter() - t0
    if args.gcode:
        from aikon.output.gcode import write_gcode
        from aikon.profiles import load_profile

        t0 = time.perf_counter()
        write_gcode(result.drawing, load_profile(args.profile), args.gcode, fit=args.fit)
        timings["gcode"] = time.perf_counter() - t0
    bar.close()

    stats = drawing_stats(result.drawing)
    if args.report:
        from aikon.fileio import write_text_atomic
        from aikon.score import score_drawing

        # The drawing against the framed photo it was made from (aikon score's method).
        t0 = time.perf_counter()
        score = score_drawing(result.drawing, result.frame.image, frame_box_mm=result.frame_box_mm,
                              profile=args.profile if args.gcode else "grbl-servo")
        timings["score"] = time.perf_counter() - t0

        report = {
            "input": str(args.input),
            "image_size": [int(image.shape[1]), int(image.shape[0])],
            "detector": args.detector,
            "faces": [f.to_json() for f in result.faces],
            "subject": list(result.subject),
            "framing": {"crop_box": list(result.frame.crop_box), "rotation_deg": round(result.frame.rotation_deg, 3),
                        "center": [round(float(v), 3) for v in result.frame.center],
                        "frame_box_mm": [round(float(v), 4) for v in result.frame_box_mm],
                        "whole_image": result.frame.whole_image},
            "page_mm": [result.drawing.page.width, result.drawing.page.height],
            "mm_per_px": result.mm_per_px,
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
            "pipeline_s": round(sum(timings.get(k, 0.0) for k in PIPELINE_STAGES), 4),
            "process_s": round(time.perf_counter() - started, 4),
            "paths": stats["paths"],
            "points": stats["points"],
            "pen_down_mm": stats["pen_down_mm"],
            "pen_up_mm": stats["pen_up_mm"],
            "pen_lifts": stats["pen_lifts"],
            "layers": {layer.name: len(layer.paths) for layer in result.drawing.layers},
            "optimize": result.optimize_report,
            "score": score,
            "warnings": result.warnings,
            "options": {"levels": args.levels, "seed": args.seed, "pen_width_mm": args.pen_width,
                        "paper": args.paper, "landscape": args.landscape, "margin_mm": args.margin},
        }
        write_text_atomic(args.report, json.dumps(report, indent=2) + "\n")

    if not args.quiet:
        for warning in result.warnings:
            print(f"aikon sketch: warning: {warning}", file=sys.stderr)
        face_note = (f"{len(result.faces)} face(s), drawing face {list(result.subject)}" if result.subject
                     else "no face used")
        written = ", ".join(p for p in (args.output, args.preview, args.report, args.gcode) if p)
        print(f"{face_note}; {stats['paths']} paths, pen-down {stats['pen_down_mm'] / 1000:.2f} m, "
              f"pen-up {stats['pen_up_mm'] / 1000:.2f} m; wrote {written} in {time.perf_counter() - started:.2f} s")
    return 0
