"""Pipeline benchmark: per-stage timings at 512 px and 1536 px, and the whole command.

Not a test: it prints numbers and ratios against baselines measured in the same
run, and writes benchmarks/results/pipeline.md.

    python benchmarks/bench_pipeline.py [--repeat 5] [--linedraw]

Targets (2-core machine): the pipeline (sum of the report's stage timings, SVG
included) under 0.6 s at 512 px and under 1.5 s at 1536 px; the whole
``aikon sketch`` process at most half the time of linedraw on the same photo.
Baselines in this run: ``python -c pass`` (interpreter start-up) and
``python -c "import numpy, cv2, sklearn.cluster"`` (the heavy imports alone);
with ``--linedraw`` also linedraw (github.com/LingDong-/linedraw: its
single-file ``linedraw.py`` with ``util.py``, ``strokesort.py``, ``perlin.py``
and ``filters.py`` placed by the user in benchmarks/.cache/linedraw/, which git
ignores, or in $LINEDRAW_DIR; it runs in this environment: Pillow, numpy, cv2).
Processes run round-robin, so a change of load hits every command alike.
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
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from aikon.pipeline import PIPELINE_STAGES  # noqa: E402
SAMPLE = REPO / "samples" / "astronaut.png"


def timed_processes(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Median wall time of each command, run round-robin so load changes hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def make_input(size: int, directory: Path) -> Path:
    import cv2

    image = cv2.imread(str(SAMPLE))
    path = directory / f"astronaut_{size}.png"
    cv2.imwrite(str(path), cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC))
    return path


def stage_timings(photo: Path, repeat: int, directory: Path) -> dict[str, float]:
    """Median per-stage seconds of the pipeline in one warm process (imports done, as in a
    long-running installation), SVG writing included."""
    from aikon.imaging import load_image
    from aikon.output.svg import write_svg
    from aikon.pipeline import SketchOptions, sketch

    runs = []
    for _ in range(repeat + 1):  # the first run warms up imports and caches and is not counted
        t0 = time.perf_counter()
        image = load_image(photo)
        load_s = time.perf_counter() - t0
        result = sketch(image, SketchOptions())
        t0 = time.perf_counter()
        write_svg(result.drawing, directory / "o.svg")
        runs.append({"load": load_s, **result.timings, "svg": time.perf_counter() - t0})
    runs = runs[1:]
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}


def cold_pipeline(photo: Path, repeat: int, directory: Path) -> float:
    """Median of the report's pipeline_s for a cold `aikon sketch` process (first use, imports in flight)."""
    values = []
    for _ in range(repeat):
        report = directory / "r.json"
        subprocess.run([sys.executable, "-m", "aikon", "sketch", str(photo), "-o", str(directory / "o.svg"),
                        "--report", str(report), "-q"], check=True)
        values.append(json.loads(report.read_text())["pipeline_s"])
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--linedraw", action="store_true",
                        help="also time linedraw (benchmarks/.cache/linedraw or $LINEDRAW_DIR)")
    args = parser.parse_args()
    lines = ["# Pipeline benchmark", "", f"machine: {os.cpu_count()} cores; median of {args.repeat} runs", ""]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        lines += ["| stage (warm process) | 512 px (s) | 1536 px (s) |", "| --- | ---: | ---: |"]
        per_size = {size: stage_timings(make_input(size, tmpdir), args.repeat, tmpdir) for size in (512, 1536)}
        for stage in ["load", *PIPELINE_STAGES, "preview"]:
            if any(stage in t for t in per_size.values()):
                lines.append(f"| {stage} | {per_size[512].get(stage, 0):.3f} | {per_size[1536].get(stage, 0):.3f} |")
        totals = {size: sum(t.get(s, 0.0) for s in PIPELINE_STAGES) for size, t in per_size.items()}
        lines.append(f"| **pipeline (sum, SVG included)** | **{totals[512]:.3f}** (target < 0.6) | "
                     f"**{totals[1536]:.3f}** (target < 1.5) |")
        cold = {size: cold_pipeline(make_input(size, tmpdir), args.repeat, tmpdir) for size in (512, 1536)}
        lines.append(f"| pipeline_s of a cold `aikon sketch` process (its report) | {cold[512]:.3f} | "
                     f"{cold[1536]:.3f} |")
        lines.append("")
        lines.append("Stage rows: one warm process, median over runs after a warm-up run (imports excluded). "
                     "The cold row is the same sum as `aikon sketch --report` gives in a fresh process "
                     "(first calls included; the scikit-learn import is reported on its own line, not in the sum).")
        lines.append("")
        linedraw_dir = os.environ.get("LINEDRAW_DIR", str(REPO / "benchmarks" / ".cache" / "linedraw"))
        linedraw_py = Path(linedraw_dir) / "linedraw.py"
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import numpy, cv2, sklearn.cluster": [sys.executable, "-c", "import numpy, cv2, sklearn.cluster"],
            "aikon --help": [sys.executable, "-m", "aikon", "--help"],
            "aikon sketch samples/astronaut.png (512 px)": [sys.executable, "-m", "aikon", "sketch", str(SAMPLE),
                                                            "-o", str(tmpdir / "w.svg"), "-q"],
        }
        if args.linedraw and linedraw_py.is_file():
            commands["linedraw on the same photo"] = [sys.executable, str(linedraw_py), "-i", str(SAMPLE),
                                                      "-o", str(tmpdir / "ld.svg")]
        measured = timed_processes(commands, args.repeat)
        whole = measured["aikon sketch samples/astronaut.png (512 px)"]
        lines += ["| whole process | seconds | ratio |", "| --- | ---: | ---: |"]
        for name, seconds in measured.items():
            ratio = ""
            if name.startswith("aikon sketch") and "linedraw on the same photo" in measured:
                ratio = f"aikon / linedraw = {whole / measured['linedraw on the same photo']:.2f} (target <= 0.5)"
            lines.append(f"| {name} | {seconds:.3f} | {ratio} |")
        if "linedraw on the same photo" not in measured:
            lines.append(f"| linedraw (not run: see --linedraw) | ~2.6 (issue) | aikon/2.6 = {whole / 2.6:.2f} "
                         f"(target <= 0.5) |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
