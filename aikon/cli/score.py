"""``aikon score``: how closely a drawing reproduces its photograph (tone error, SSIM, ink, plot time)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

EPILOG = """examples:
  aikon sketch photo.jpg -o portrait.svg --report report.json
  aikon score portrait.svg --report report.json          (photo and framing from the report)
  aikon score portrait.svg --image photo.jpg --json      (whole photo fitted to the drawing's bounds)
  aikon score drawing.svg --image crop.png --frame 15,30,180,225 --blur 0.5

Both the drawing (rendered at its pen width) and the photo are blurred with a
Gaussian of sigma --blur mm (default 1: an A4 sheet seen from 1-1.5 m), converted
to lightness, and compared: tone error is the RMS lightness difference (0 = same
local tone, 1 = black for white), SSIM the mean structural similarity at windows
of 1.5, 3 and 6 mm (1 = identical). The photo's lightness is stretched to the
paper's range (1st-99th percentile to black-white) unless --no-normalize.
"""


def register(sub) -> None:
    p = sub.add_parser("score", help="measure how well a drawing reproduces a photo (tone error, SSIM, ink, time)",
                       description="Score a drawing against the photograph it was drawn from: render it at its pen "
                                   "width, blur drawing and photo to a viewing distance, and report tone error "
                                   "(RMSE of local lightness), SSIM at three scales, pen-down length, pen lifts "
                                   "and the planner's plot-time estimate.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("drawing", metavar="DRAWING.svg", help="the drawing (any SVG; mm units preferred)")
    p.add_argument("--image", metavar="PHOTO",
                   help="the photograph (default with --report: the report's input image)")
    p.add_argument("--report", metavar="REPORT.json",
                   help="an `aikon sketch --report` file: crop and rotate the photo as the sketch did and place "
                        "it where the sketch put it")
    p.add_argument("--frame", metavar="X,Y,W,H",
                   help="page rectangle in mm the photo covers (default: from --report, else the drawing's "
                        "bounds grown to the photo's aspect ratio)")
    p.add_argument("--blur", type=float, default=None, metavar="MM",
                   help="viewing-distance blur, Gaussian sigma in mm (default 1)")
    p.add_argument("--pen-width", type=float, default=None, metavar="MM",
                   help="pen width in mm for every layer (default: the SVG's stroke widths)")
    p.add_argument("--no-normalize", action="store_true",
                   help="compare the photo's lightness as it is, without stretching it to paper white..black")
    p.add_argument("--profile", default="grbl-servo",
                   help="firmware profile for the plot-time estimate (default: grbl-servo)")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    p.set_defaults(func=run)


def parse_frame(text: str) -> tuple[float, float, float, float]:
    """``"X,Y,W,H"`` (mm) -> a tuple; raises InputError when malformed."""
    from aikon.errors import InputError

    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise InputError(f"--frame {text!r}: expected X,Y,W,H in mm with W and H > 0 (e.g. 15,30,180,225)")
    return values  # type: ignore[return-value]


def _load_report(path: str) -> dict:
    from aikon.errors import InputError

    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
    except FileNotFoundError:
        raise InputError(f"report {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read report {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"report {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(report, dict) or not isinstance(report.get("framing"), dict):
        raise InputError(f"report {path} has no 'framing' section: write it with `aikon sketch --report`")
    return report


def run(args: argparse.Namespace) -> int:
    from aikon.errors import InputError

    if args.blur is not None and not (0 <= args.blur <= 50):
        raise InputError(f"--blur must be between 0 and 50 mm, got {args.blur:g}")
    if args.pen_width is not None and not (0 < args.pen_width <= 20):
        raise InputError(f"--pen-width must be between 0 and 20 mm, got {args.pen_width:g}")
    frame_box = parse_frame(args.frame) if args.frame else None
    report = _load_report(args.report) if args.report else None
    image_path = args.image
    if image_path is None:
        if report is None or not report.get("input"):
            raise InputError("give the photograph with --image PHOTO (or a --report that names its input)")
        image_path = str(report["input"])
        if not Path(image_path).is_file():
            raise InputError(f"the report's input {image_path} does not exist here: pass --image PHOTO")

    from aikon.geometry.svgimport import read_svg
    from aikon.imaging import load_image
    from aikon.profiles import load_profile
    from aikon.score import DEFAULT_VIEWING_BLUR_MM, frame_from_report, score_drawing

    profile = load_profile(args.profile)
    drawing = read_svg(args.drawing)
    if drawing.path_count == 0:
        raise InputError(f"{args.drawing} has no paths to score")
    photo = load_image(image_path)
    if report is not None:
        try:
            photo, report_box = frame_from_report(report, photo)
        except ValueError as exc:
            raise InputError(f"report {args.report}: {exc} (was it written for {image_path}?)") from None
        frame_box = frame_box or report_box
    blur = DEFAULT_VIEWING_BLUR_MM if args.blur is None else args.blur
    scores = score_drawing(drawing, photo, frame_box_mm=frame_box, viewing_blur_mm=blur,
                           pen_width=args.pen_width, normalize=not args.no_normalize, profile=profile)
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    scales = ", ".join(f"{v:.3f} @ {w:g} mm" for v, w in zip(scores["ssim_scales"], scores["ssim_window_mm"]))
    plot = "unknown" if scores["plot_time_s"] is None else _duration(scores["plot_time_s"])
    x, y, w, h = scores["frame_box_mm"]
    print(f"SSIM        {scores['ssim']:.3f}   ({scales})")
    print(f"tone error  {scores['tone_error']:.3f}   (bias {scores['tone_bias']:+.3f}: "
          f"{'drawing lighter' if scores['tone_bias'] > 0 else 'drawing darker'} than the photo)")
    print(f"ink         {scores['ink_m']:.2f} m pen-down, {scores['pen_up_mm'] / 1000:.2f} m pen-up, "
          f"{scores['pen_lifts']} pen lifts")
    print(f"plot time   {plot} on {scores['profile']}")
    print(f"compared    photo at {x:.1f},{y:.1f} mm, {w:.1f}x{h:.1f} mm; viewing blur {blur:g} mm")
    return 0


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"
