"""``aikon estimate``: plot time, pen-down length, pen-up travel and pen lifts of an SVG or G-code file."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  aikon estimate portrait.svg --profile grbl-servo
  aikon estimate portrait.gcode --profile marlin-servo --json

The time comes from a motion plan with the profile's speeds, accelerations,
junction deviation (cornering) and pen timing, as the firmware would move:
acceleration and deceleration on every segment, slowing at corners, stopping
for each pen lift and drop and dwelling after it. Homing is not included.
For an SVG the job is the one `aikon gcode` would write (start at the machine
origin, travel to the park position at the end).
"""

GCODE_SUFFIXES = (".gcode", ".gco", ".nc", ".ngc", ".gc", ".g", ".tap", ".txt")


def register(sub) -> None:
    p = sub.add_parser("estimate", help="estimate plot time and pen statistics for an SVG or G-code file",
                       description="Estimate how long a plot takes on a machine (from a motion plan with "
                                   "acceleration, cornering and pen timing) and print pen-down length, pen-up "
                                   "travel and pen lifts.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN.svg|IN.gcode", help="SVG drawing or G-code program")
    p.add_argument("--profile", default="grbl-servo",
                   help="profile name or .toml path (default: grbl-servo; list them with `aikon profiles`)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--tolerance", type=float, default=0.05, metavar="MM",
                   help="flattening tolerance for SVG curves, mm (default 0.05)")
    p.set_defaults(func=run)


def _is_gcode(path: str) -> bool:
    lower = path.lower()
    if lower.endswith(".svg") or lower.endswith(".svgz"):
        return False
    if lower.endswith(GCODE_SUFFIXES):
        return True
    from aikon.errors import InputError

    try:
        with open(path, "rb") as fh:
            head = fh.read(512).lstrip()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return not head.startswith(b"<")


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` for a duration in seconds."""
    total = int(round(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def estimate_file(path: str, profile, *, tolerance_mm: float = 0.05) -> dict:
    """Plan ``path`` (SVG or G-code) for ``profile`` and return the summary dict (s, mm)."""
    from aikon.errors import InputError
    from aikon.planner import limits_from_profile, plan_drawing, plan_steps, steps_from_gcode_moves

    if _is_gcode(path):
        from aikon.gcode_reader import interpret

        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        dialect = "marlin" if profile.firmware == "marlin" else "grbl"
        try:
            moves = interpret(lines, pen=profile, dialect=dialect)
        except InputError as exc:
            raise InputError(f"{path}: {exc} (read as {dialect} G-code for profile {profile.name}; "
                             f"is --profile right for this file?)") from None
        z_mode = profile.pen.mode == "z"
        steps, start = steps_from_gcode_moves(moves, z_speed=profile.pen.z_speed if z_mode else None,
                                              z_acceleration=profile.pen.z_acceleration if z_mode else None)
        plan = plan_steps(steps, limits_from_profile(profile), start=start)
        kind = "gcode"
    else:
        from aikon.geometry.svgimport import read_svg

        from aikon.errors import OutOfBoundsError
        from aikon.output.gcode import machine_paths

        drawing = read_svg(path, tolerance_mm=tolerance_mm)
        plan = plan_drawing(drawing, profile)
        kind = "svg"
        try:
            machine_paths(drawing, profile)
            fits = True
        except OutOfBoundsError:
            fits = False
    summary = plan.summary()
    result = {"input": path, "kind": kind, "profile": profile.name,
              **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary.items()}}
    if kind == "svg":
        result["fits_work_area"] = fits
    return result


def run(args: argparse.Namespace) -> int:
    from aikon.errors import InputError
    from aikon.profiles import load_profile

    if not args.tolerance > 0:
        raise InputError("--tolerance must be greater than 0 mm")
    profile = load_profile(args.profile)
    result = estimate_file(args.input, profile, tolerance_mm=args.tolerance)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"plot time     {format_duration(result['duration_s'])}  ({result['duration_s']:.1f} s on {profile.name}: "
          f"draw {result['draw_s']:.1f} s, travel {result['travel_s']:.1f} s, pen {result['pen_s']:.1f} s)")
    print(f"pen-down      {result['pen_down_mm']:.1f} mm")
    print(f"pen-up travel {result['pen_up_mm']:.1f} mm")
    print(f"pen lifts     {result['pen_lifts']}")
    if result.get("fits_work_area") is False:
        print(f"note: the drawing does not fit the work area of {profile.name}; `aikon gcode` refuses it "
              f"unless given --fit (which scales it, and changes this estimate)", file=sys.stderr)
    return 0
