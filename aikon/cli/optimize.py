"""``aikon optimize``: merge, simplify, filter and reorder an SVG's paths for plotting."""

from __future__ import annotations

import argparse
import json


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "optimize",
        help="shorten pen-up travel of an SVG (merge, simplify, reorder)",
        description="Read an SVG (Inkscape, vpype, aikon or any other), and per layer, keeping the layer "
                    "order: join paths whose ends meet, simplify within a tolerance, drop short fragments and "
                    "reorder the paths (reversing open ones, rotating closed ones) to cut pen-up travel. "
                    "Writes a plot-ready SVG in mm and prints before/after statistics. Tolerances default to "
                    "fractions of each layer's pen width (stroke-width in the SVG, else 0.3 mm): merge 1/2, "
                    "simplify 1/4.",
        epilog="example:\n  aikon optimize drawing.svg -o drawing-opt.svg --merge-tol 0.1 --time-budget 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="IN.svg", help="SVG file to optimise")
    parser.add_argument("-o", "--output", metavar="OUT.svg", required=True, help="where to write the result")
    parser.add_argument("--merge-tol", type=float, metavar="MM",
                        help="join paths whose ends are at most this far apart, mm (negative: do not merge)")
    parser.add_argument("--simplify-tol", type=_non_negative, metavar="MM",
                        help="move no point further than this when simplifying, mm (0: do not simplify)")
    parser.add_argument("--min-length", type=_non_negative, metavar="MM", default=None,
                        help="drop paths shorter than this, mm (default: keep all)")
    # Same value as aikon.geometry.optimize.DEFAULT_TIME_BUDGET_S (not imported: this module stays light).
    parser.add_argument("--time-budget", type=_non_negative, metavar="S", default=5.0,
                        help="at most this many seconds for improving the path order after the greedy pass; "
                             "it stops earlier when no move helps (default: 5; 0: greedy only)")
    parser.add_argument("--seed", type=int, metavar="N", default=0, help="seed for the ordering (default: 0)")
    parser.add_argument("--tolerance", type=float, metavar="MM", default=0.05,
                        help="flattening tolerance for curves when reading the SVG, mm (default: 0.05)")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aikon.errors import InputError
    from aikon.geometry.optimize import optimize_drawing
    from aikon.geometry.svgimport import read_svg
    from aikon.output.svg import write_svg

    if not args.tolerance > 0:
        raise InputError("--tolerance must be > 0 mm")
    drawing = read_svg(args.input, tolerance_mm=args.tolerance)
    if drawing.path_count == 0:
        raise InputError(f"{args.input}: no drawable paths (text must be converted to paths first)")
    result, report = optimize_drawing(drawing, merge_tol=args.merge_tol, simplify_tol=args.simplify_tol,
                                      min_length=args.min_length, time_budget_s=args.time_budget, seed=args.seed)
    write_svg(result, args.output)
    if args.json:
        print(json.dumps({"input": str(args.input), "output": str(args.output), "before": report.before,
                          "after": report.after, "seconds": round(report.seconds, 3)}, indent=2))
    else:
        print(f"{args.input} -> {args.output} ({report.seconds:.2f} s)")
        print(report.table())
    return 0
