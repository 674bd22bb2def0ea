"""Pipeline benchmark: per-stage timings at 512 px and 1536 px, and the whole command.

Not a test: it prints numbers and ratios against baselines measured in the same
run, and writes benchmarks/results/pipeline.md.

    python benchmarks/bench_pipeline.py [--repeat 5] [--linedraw]

Targets (2-core machine): the pipeline (sum of the report's stage timings, SVG
included) under 0.6 s at 512 px and under 1.5 s at 1536 px; the whole
``aikon sketch`` process at most half the time of linedraw on the same photo.
Baselines in this run: ``python -c pass`` (interpreter start-up) and
``python -c "import cv2, sklearn.cluster"`` (the heavy imports alone); with
``--linedraw`` also linedraw (github.com/LingDong-/linedraw, fetched into
benchmarks/.cache/ by the user; its path via $LINEDRAW_DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "astronaut.png"
STAGES = ["detect", "frame", "tones", "lines", "hatching", "layout", "optimize", "svg"]


def timed_process(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_input(size: int, directory: Path) -> Path:
    import cv2

    image = cv2.imread(str(SAMPLE))
    path = directory / f"astronaut_{size}.png"
    cv2.imwrite(str(path), cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC))
    return path


def stage_timings(photo: Path, repeat: int, directory: Path) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        report = directory / "r.json"
        subprocess.run([sys.executable, "-m", "aikon", "sketch", str(photo), "-o", str(directory / "o.svg"),
                        "--report", str(report), "-q"], check=True)
        runs.append(json.loads(report.read_text())["timings_s"])
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--linedraw", action="store_true", help="also time linedraw ($LINEDRAW_DIR)")
    args = parser.parse_args()
    lines = ["# Pipeline benchmark", "", f"machine: {os.cpu_count()} cores; median of {args.repeat} runs", ""]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        lines += ["| stage | 512 px (s) | 1536 px (s) |", "| --- | ---: | ---: |"]
        per_size = {size: stage_timings(make_input(size, tmpdir), args.repeat, tmpdir) for size in (512, 1536)}
        for stage in ["load"] + STAGES + ["preview"]:
            if any(stage in t for t in per_size.values()):
                lines.append(f"| {stage} | {per_size[512].get(stage, 0):.3f} | {per_size[1536].get(stage, 0):.3f} |")
        totals = {size: sum(t.get(s, 0.0) for s in STAGES) for size, t in per_size.items()}
        lines.append(f"| **pipeline (sum, SVG included)** | **{totals[512]:.3f}** (target < 0.6) | "
                     f"**{totals[1536]:.3f}** (target < 1.5) |")
        lines.append("")
        python_start = timed_process([sys.executable, "-c", "pass"], args.repeat)
        heavy = timed_process([sys.executable, "-c", "import numpy, cv2, sklearn.cluster"], args.repeat)
        whole = timed_process([sys.executable, "-m", "aikon", "sketch", str(SAMPLE), "-o", str(tmpdir / "w.svg"),
                               "-q"], args.repeat)
        helptime = timed_process([sys.executable, "-m", "aikon", "--help"], args.repeat)
        lines += ["| whole process | seconds | ratio |", "| --- | ---: | ---: |",
                  f"| python -c pass | {python_start:.3f} | |",
                  f"| import numpy, cv2, sklearn.cluster | {heavy:.3f} | |",
                  f"| aikon --help | {helptime:.3f} | |",
                  f"| aikon sketch samples/astronaut.png (512 px) | {whole:.3f} | "
                  f"{whole / heavy:.2f}x the heavy imports |"]
        linedraw_dir = os.environ.get("LINEDRAW_DIR")
        if args.linedraw and linedraw_dir:
            ld = timed_process([sys.executable, str(Path(linedraw_dir) / "linedraw.py"), "-i", str(SAMPLE),
                                "-o", str(tmpdir / "ld.svg")], args.repeat)
            lines.append(f"| linedraw on the same photo | {ld:.3f} | aikon/linedraw = {whole / ld:.2f} "
                         f"(target <= 0.5) |")
        else:
            lines.append("| linedraw (reference, not run: set LINEDRAW_DIR and --linedraw) | ~2.6 (issue) | "
                         f"aikon/2.6 = {whole / 2.6:.2f} (target <= 0.5) |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
