"""``aikon gcode``: SVG -> G-code for a firmware profile (GRBL or Marlin)."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  aikon gcode portrait.svg --profile grbl-servo -o portrait.gcode
  aikon gcode big.svg --profile marlin-servo -o big.gcode --fit
  aikon gcode portrait.svg --profile ./my-plotter.toml -o -      (to standard output)

The page is placed with its corner on the machine's origin corner (see
`aikon profiles NAME`). A drawing that leaves the work area is refused; --fit
scales it down and centres it instead. Paths are written in the SVG's order:
run `aikon optimize` first to shorten pen-up travel.
"""


def register(sub) -> None:
    p = sub.add_parser("gcode", help="write G-code for a plotter profile from an SVG",
                       description="Convert an SVG drawing into G-code for a GRBL or Marlin pen plotter described "
                                   "by a firmware profile: absolute mm, pen lifted before every travel and at the "
                                   "end, a dwell after each pen move, every coordinate checked against the work "
                                   "area before anything is written.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN.svg", help="SVG drawing (units and viewBox respected)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.gcode", help="G-code file to write ('-' = stdout)")
    p.add_argument("--profile", default="grbl-servo",
                   help="profile name or .toml path (default: grbl-servo; list them with `aikon profiles`)")
    p.add_argument("--fit", action="store_true",
                   help="scale down and centre a drawing that does not fit the work area (instead of refusing it)")
    p.add_argument("--tolerance", type=float, default=0.05, metavar="MM",
                   help="flattening tolerance for curves in the SVG, mm (default 0.05)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aikon.cli.estimate import format_duration
    from aikon.errors import InputError
    from aikon.geometry.svgimport import read_svg
    from aikon.output.gcode import gcode_job, write_gcode
    from aikon.profiles import load_profile

    if not args.tolerance > 0:
        raise InputError("--tolerance must be greater than 0 mm")
    profile = load_profile(args.profile)
    drawing = read_svg(args.input, tolerance_mm=args.tolerance)
    if args.output == "-":
        job = gcode_job(drawing, profile, fit=args.fit)
        sys.stdout.write(job.text())
        report = sys.stderr
    else:
        job = write_gcode(drawing, profile, args.output, fit=args.fit)
        report = sys.stdout
    if not args.quiet:
        plan = job.plan()
        summary = plan.summary()
        if job.fit.changed:
            print(f"fitted into the work area: scaled by {job.fit.scale:.4f} and centred", file=report)
        print(f"{args.output}: {len(job.lines)} lines for {profile.name}, {drawing.path_count} paths, "
              f"{summary['pen_down_mm'] / 1000:.2f} m pen down, estimated plot time "
              f"{format_duration(plan.duration)}", file=report)
    return 0
