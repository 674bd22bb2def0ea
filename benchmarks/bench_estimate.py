"""Plot-time estimate accuracy and planner speed.

Not a test: prints numbers and ratios measured in one run.

    python benchmarks/bench_estimate.py [--profile grbl-servo] [--step 0.005] [--quick]

For each input the G-code written by aikon is streamed, with GRBL's
character-counting flow control (128-byte RX buffer), into the GRBL 1.1
simulator (``aikon.plotter.simulator``: GRBL's look-ahead planner on a virtual
clock, 16-block buffer, dwells, servo syncs). The simulator's execution time is
compared with

* ``plan``   - aikon's estimate (:meth:`aikon.output.gcode.GcodeJob.plan`);
* ``naive``  - the baseline most hosts print: length / speed for every move
  plus the pen dwells (no acceleration, no cornering).

Target (issue 3): plan within 3 % of the simulator. Also prints the planner's
own speed in segments per second.

Inputs: (a) the sample portrait (``aikon sketch samples/astronaut.png``), (b)
random walks of tiny segments (look-ahead bound), (c) long straight strokes
(trapezoids), (d) zig-zags with sharp corners (junction bound), (e) circles of 0.05 mm
segments (look-ahead and junction bound).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aikon.drawing import Drawing, Layer, Page, as_path  # noqa: E402
from aikon.output.gcode import gcode_job  # noqa: E402
from aikon.profiles import load_profile  # noqa: E402


def sample_drawing() -> Drawing:
    from aikon.cli import main
    from aikon.geometry.svgimport import read_svg

    with tempfile.TemporaryDirectory() as tmp:
        svg = Path(tmp) / "s.svg"
        if main(["sketch", str(REPO / "samples" / "astronaut.png"), "-o", str(svg), "-q"]) != 0:
            raise SystemExit("aikon sketch failed")
        return read_svg(svg)


def random_walks(rng: np.random.Generator, n: int = 150, points: int = 60, step: float = 0.3) -> Drawing:
    paths = [np.clip(rng.uniform(20, 180, 2) + np.cumsum(rng.normal(0, step, (points, 2)), axis=0), 1, 199)
             for _ in range(n)]
    return Drawing(Page(200.0, 200.0), (Layer("walks", tuple(as_path(p) for p in paths)),))


def long_lines(rng: np.random.Generator, n: int = 60) -> Drawing:
    paths = [as_path(rng.uniform(5, 195, (2, 2))) for _ in range(n)]
    return Drawing(Page(200.0, 200.0), (Layer("lines", tuple(paths)),))


def zigzags(rng: np.random.Generator, n: int = 40) -> Drawing:
    paths = []
    for _ in range(n):
        x0, y0 = rng.uniform(10, 150, 2)
        pts = [(x0 + 1.5 * k, y0 + (8.0 if k % 2 else 0.0)) for k in range(25)]
        paths.append(as_path(pts))
    return Drawing(Page(200.0, 200.0), (Layer("zigzag", tuple(paths)),))


def dense_circles(rng: np.random.Generator, n: int = 20, points: int = 600) -> Drawing:
    t = np.linspace(0, 2 * np.pi, points)
    paths = [as_path(rng.uniform(20, 180, 2) + 5.0 * np.c_[np.cos(t), np.sin(t)]) for _ in range(n)]
    return Drawing(Page(200.0, 200.0), (Layer("circles", tuple(paths)),))


def naive_estimate(job) -> float:
    m = job.profile.motion
    total = 0.0
    pos = job.start
    for st in job.steps:
        if st.is_line:
            d = math.hypot(st.x - pos[0], st.y - pos[1])
            total += d / (m.draw_speed if st.kind == "draw" else m.travel_speed)
            pos = (st.x, st.y)
        else:
            total += st.seconds
    return total


def simulate(lines: list[str], profile, step: float) -> float:
    """Stream ``lines`` into the simulator with character counting; seconds until idle."""
    from aikon.plotter.simulator import GrblSimulator, stream_counted

    result = stream_counted(GrblSimulator(profile=profile), lines, step_s=step)
    if result.errors:
        line, code = result.errors[0]
        raise SystemExit(f"simulator answered error:{code} to line {line}")
    if result.stopped == "alarm":
        raise SystemExit(f"simulator raised ALARM:{result.alarm_code}")
    if result.stopped:
        raise SystemExit(f"simulation did not finish ({result.stopped})")
    return result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="grbl-servo")
    parser.add_argument("--step", type=float, default=0.005, help="simulator clock step between host polls, s")
    parser.add_argument("--quick", action="store_true", help="skip the sample portrait")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    rng = np.random.default_rng(7)
    inputs = [("random walks", random_walks(rng)), ("long lines", long_lines(rng)), ("zig-zags", zigzags(rng)),
              ("dense circles", dense_circles(rng))]
    if not args.quick:
        inputs.insert(0, ("sample portrait", sample_drawing()))
    print(f"profile {profile.name}; simulator clock step {args.step} s")
    print(f"{'input':<16} {'segments':>8} {'sim s':>9} {'plan s':>9} {'plan/sim':>8} {'naive/sim':>9} "
          f"{'plan ms':>8} {'sim wall s':>10}")
    worst = 0.0
    for name, drawing in inputs:
        job = gcode_job(drawing, profile, fit=True)
        t0 = time.perf_counter()
        plan = job.plan()
        plan_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        sim_s = simulate(list(job.lines), profile, args.step)
        sim_wall = time.perf_counter() - t0
        ratio = plan.duration / sim_s
        worst = max(worst, abs(ratio - 1))
        print(f"{name:<16} {len(plan.segments['step']):>8} {sim_s:>9.3f} {plan.duration:>9.3f} {ratio:>8.5f} "
              f"{naive_estimate(job) / sim_s:>9.4f} {plan_ms:>8.1f} {sim_wall:>10.1f}")
    print(f"largest estimate error against the simulator: {worst * 100:.2f} % (target 3 %)")


if __name__ == "__main__":
    main()
