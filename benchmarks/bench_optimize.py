"""Benchmark: aikon's path optimisation against vpype's ``linemerge linesort`` on the same inputs.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_optimize.py [--quick] [--time-budget S]

vpype is installed for this benchmark only, into its own virtualenv under
``benchmarks/.cache/vpype-venv`` (created on first run with ``pip install
vpype``); it is never a dependency of aikon. Inputs, all generated into
``benchmarks/.cache/optimize/``:

(a) ``sketch``: ``aikon sketch samples/astronaut.png --no-optimize`` (the
    pipeline's raw hatching and lines); synthetic hatching if that fails.
(b) ``random-10k``: 10,000 random short segments (0.5-5 mm) on A4.
(c) ``random-50k``: 50,000 random short segments on A4.
(d) ``vpype-made``: an SVG generated *and written* by vpype (a grid of random
    lines and circles, and a paragraph of Hershey text in a second layer).

For each input, in one run: vpype ``read IN linemerge linesort write OUT``
(the greedy sort users run), the same with ``linesort --two-opt`` for
reference (skipped with ``--quick`` and on 50k, where it takes minutes),
``aikon optimize IN -o OUT`` as a user runs it (same merge tolerance as
vpype's default, 0.05 mm), and aikon's ``optimize_drawing`` in-process. Wall
times are of the commands as users run them (process start to exit). Pen-up
travel of every output is measured by the same code: each output SVG is read
back with :func:`aikon.geometry.svgimport.read_svg`, travel summed between
consecutive paths (layers in order, not counting the move from the origin).

Targets (issue 3): aikon's pen-up travel <= 0.80 x vpype's greedy, and
aikon's wall time no worse than vpype's, on every input. Results are printed
and written to ``benchmarks/results/optimize.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / ".cache"
VENV = CACHE / "vpype-venv"
WORK = CACHE / "optimize"
RESULTS = REPO / "benchmarks" / "results" / "optimize.md"
VPYPE_MERGE_TOL_MM = 0.05  # vpype linemerge's default tolerance
TEXT = ("The quick brown fox jumps over the lazy dog while the pen plotter draws every letter of this "
        "sentence with care and patience, lifting the pen between strokes as rarely as it can. ") * 3

sys.path.insert(0, str(REPO))
from aikon.drawing import Drawing, Layer, Page, pen_down_length, pen_up_travel  # noqa: E402
from aikon.geometry.optimize import DEFAULT_TIME_BUDGET_S, optimize_drawing  # noqa: E402
from aikon.geometry.svgimport import read_svg  # noqa: E402
from aikon.output.svg import write_svg  # noqa: E402


def vpype_bin() -> Path:
    """The benchmark's own vpype, installed on first use."""
    exe = VENV / ("Scripts" if os.name == "nt" else "bin") / "vpype"
    if not exe.exists():
        print(f"installing vpype into {VENV} (benchmark only) ...", flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = VENV / ("Scripts" if os.name == "nt" else "bin") / "pip"
        subprocess.run([str(pip), "install", "-q", "vpype"], check=True)
    return exe


def timed(cmd: list[str], timeout: float | None = None) -> float | None:
    """Wall time of a command in seconds (None if it timed out)."""
    t0 = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def random_segments_svg(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.uniform([10, 10], [200, 287], (n, 2))
    ang = rng.uniform(0, 2 * np.pi, n)
    b = a + np.c_[np.cos(ang), np.sin(ang)] * rng.uniform(0.5, 5.0, n)[:, None]
    paths = tuple(np.array([p, q]) for p, q in zip(a, b))
    write_svg(Drawing(Page(210, 297), (Layer("segments", paths),)), path)


def synthetic_hatching_svg(path: Path, seed: int) -> None:
    """Fallback for input (a): strokes like hatching in a few tone layers."""
    rng = np.random.default_rng(seed)
    layers = []
    for k, angle in enumerate((0.3, 1.1, 2.0, 2.7)):
        d = np.array([np.cos(angle), np.sin(angle)])
        paths = []
        for _ in range(600):
            a = rng.uniform([20, 30], [190, 270])
            length = rng.uniform(2, 25)
            t = np.linspace(0, length, max(2, int(length / 0.5)))[:, None]
            paths.append(a + t * d + rng.normal(0, 0.05, (len(t), 2)))
        layers.append(Layer(f"shade-{k + 1}", tuple(paths)))
    write_svg(Drawing(Page(210, 297), tuple(layers)), path)


def make_inputs(vpype: Path, quick: bool) -> list[tuple[str, Path, str]]:
    WORK.mkdir(parents=True, exist_ok=True)
    inputs = []
    sketch = WORK / "sketch.svg"
    if not sketch.exists():
        result = subprocess.run([sys.executable, "-m", "aikon", "sketch", str(REPO / "samples" / "astronaut.png"),
                                 "-o", str(sketch), "--no-optimize", "-q"], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"aikon sketch failed ({result.stderr.strip()}); using synthetic hatching", flush=True)
            synthetic_hatching_svg(sketch, 1)
    inputs.append(("sketch", sketch, "aikon sketch samples/astronaut.png --no-optimize"))
    r10 = WORK / "random-10k.svg"
    if not r10.exists():
        random_segments_svg(r10, 10_000, 10)
    inputs.append(("random-10k", r10, "10,000 random segments 0.5-5 mm on A4"))
    if not quick:
        r50 = WORK / "random-50k.svg"
        if not r50.exists():
            random_segments_svg(r50, 50_000, 50)
        inputs.append(("random-50k", r50, "50,000 random segments 0.5-5 mm on A4"))
    other = WORK / "vpype-made.svg"
    if not other.exists():
        subprocess.run([str(vpype), "-s", "7", "begin", "grid", "-o", "15mm", "15mm", "12", "17",
                        "random", "-n", "4", "-a", "12mm", "12mm", "circle", "6mm", "6mm", "4mm", "end",
                        "translate", "10mm", "10mm",
                        "text", "-l", "2", "-s", "14", "-w", "180mm", "-p", "15mm", "20mm", TEXT,
                        "pagesize", "a4", "write", str(other)], check=True, capture_output=True)
    inputs.append(("vpype-made", other, "vpype random lines + circles grid, Hershey text; written by vpype"))
    return inputs


def travel_and_ink(svg: Path) -> tuple[float, float, int]:
    d = read_svg(svg)
    return pen_up_travel(d), pen_down_length(d), d.path_count


def run(args: argparse.Namespace) -> str:
    vpype = vpype_bin()
    version = subprocess.run([str(vpype), "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    for name, src, description in make_inputs(vpype, args.quick):
        print(f"== {name}: {description}", flush=True)
        drawing = read_svg(src)
        out_v = WORK / f"{name}.vpype.svg"
        out_v2 = WORK / f"{name}.vpype-2opt.svg"
        out_a = WORK / f"{name}.aikon.svg"
        t_v = timed([str(vpype), "read", str(src), "linemerge", "linesort", "write", str(out_v)])
        t_v2 = None
        if not args.quick and drawing.path_count <= 20_000:
            t_v2 = timed([str(vpype), "read", str(src), "linemerge", "linesort", "--two-opt", "write", str(out_v2)],
                         timeout=600)
        t_a = timed([sys.executable, "-m", "aikon", "optimize", str(src), "-o", str(out_a),
                     "--merge-tol", str(VPYPE_MERGE_TOL_MM), "--time-budget", str(args.time_budget)])
        import scipy.spatial  # noqa: F401  (time the algorithm, not the first import)

        t0 = time.perf_counter()
        optimize_drawing(drawing, merge_tol=VPYPE_MERGE_TOL_MM, time_budget_s=args.time_budget)
        t_fn = time.perf_counter() - t0
        travel_in, ink_in, paths_in = pen_up_travel(drawing), pen_down_length(drawing), drawing.path_count
        travel_v, ink_v, paths_v = travel_and_ink(out_v)
        travel_a, ink_a, paths_a = travel_and_ink(out_a)
        travel_v2 = travel_and_ink(out_v2)[0] if t_v2 is not None else None
        row = dict(name=name, paths_in=paths_in, travel_in=travel_in, ink_in=ink_in,
                   travel_v=travel_v, paths_v=paths_v, ink_v=ink_v, t_v=t_v,
                   travel_v2=travel_v2, t_v2=t_v2,
                   travel_a=travel_a, paths_a=paths_a, ink_a=ink_a, t_a=t_a, t_fn=t_fn)
        rows.append(row)
        print(f"   vpype greedy : travel {travel_v:10.1f} mm  {paths_v:6d} paths  {t_v:6.2f} s", flush=True)
        if travel_v2 is not None:
            print(f"   vpype 2-opt  : travel {travel_v2:10.1f} mm  ({travel_v2 / travel_v:.3f}x greedy)  "
                  f"{t_v2:6.2f} s ({t_v2 / t_v:.2f}x)", flush=True)
        print(f"   aikon        : travel {travel_a:10.1f} mm  {paths_a:6d} paths  {t_a:6.2f} s command, "
              f"{t_fn:.2f} s optimize_drawing", flush=True)
        print(f"   ratios aikon/vpype: travel {travel_a / travel_v:.3f}  wall time {t_a / t_v:.3f}", flush=True)
    return report(rows, version, args)


def report(rows: list[dict], version: str, args: argparse.Namespace) -> str:
    lines = [
        "# Path optimisation: aikon vs vpype",
        "",
        f"Written by `benchmarks/bench_optimize.py` on {time.strftime('%Y-%m-%d')} "
        f"({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, shared machine); "
        f"{version}. aikon `--time-budget {args.time_budget:g}`, merge tolerance {VPYPE_MERGE_TOL_MM} mm for both.",
        "",
        "Pen-up travel is measured by the same code for every output (read back with aikon's SVG reader; "
        "travel between consecutive paths, layers in order, not counting the move from the origin). "
        "Wall times are whole commands as a user runs them (process start to exit, including reading and "
        "writing the SVG); `optimize_drawing` is aikon's library call alone.",
        "",
        "| input | paths in | vpype greedy travel (mm) | vpype --two-opt travel | aikon travel (mm) "
        "| **travel aikon / vpype** | vpype time (s) | vpype --two-opt time | aikon command (s) "
        "| optimize_drawing (s) | **time aikon / vpype** |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        v2 = (f"{r['travel_v2']:.0f} ({r['travel_v2'] / r['travel_v']:.3f}x)" if r["travel_v2"] is not None
              else "not run")
        t2 = f"{r['t_v2']:.2f} ({r['t_v2'] / r['t_v']:.2f}x)" if r["t_v2"] is not None else "not run"
        lines.append(
            f"| {r['name']} | {r['paths_in']} | {r['travel_v']:.0f} | {v2} | {r['travel_a']:.0f} "
            f"| **{r['travel_a'] / r['travel_v']:.3f}** | {r['t_v']:.2f} | {t2} | {r['t_a']:.2f} "
            f"| {r['t_fn']:.2f} | **{r['t_a'] / r['t_v']:.3f}** |")
    lines += ["", "Ink check (pen-down length in mm; aikon simplifies within pen width / 4, merges within "
              f"{VPYPE_MERGE_TOL_MM} mm):", "",
              "| input | input | vpype | aikon | paths: input / vpype / aikon |", "|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['ink_in']:.1f} | {r['ink_v']:.1f} | {r['ink_a']:.1f} "
                     f"| {r['paths_in']} / {r['paths_v']} / {r['paths_a']} |")
    ok_travel = all(r["travel_a"] <= 0.80 * r["travel_v"] for r in rows)
    ok_time = all(r["t_a"] <= r["t_v"] for r in rows)
    lines += ["", f"Targets: travel <= 0.80x vpype greedy on every input: **{'met' if ok_travel else 'NOT met'}**; "
              f"wall time no worse than vpype: **{'met' if ok_time else 'NOT met'}**.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 50k input and vpype --two-opt")
    parser.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET_S,
                        help=f"aikon's ordering time budget, s (default {DEFAULT_TIME_BUDGET_S:g}, as the command)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/results")
    args = parser.parse_args()
    text = run(args)
    print()
    print(text)
    if not args.no_write:
        from aikon.fileio import write_text_atomic

        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(RESULTS, text)
        print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
