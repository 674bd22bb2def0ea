"""`aikon sketch` and the command line as a user runs them (real processes, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_aikon(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "aikon", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def sketched(tmp_path_factory, sample_photo):
    out = tmp_path_factory.mktemp("sketch")
    proc = run_aikon("sketch", str(sample_photo), "-o", str(out / "p.svg"), "--preview", str(out / "p.png"),
                     "--report", str(out / "r.json"), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_sketch_writes_svg_preview_and_report(sketched):
    out, proc = sketched
    root = ET.parse(out / "p.svg").getroot()
    assert root.get("width") == "210mm" and root.get("height") == "297mm"
    assert root.get("viewBox") == "0 0 210 297"
    ns = {"svg": "http://www.w3.org/2000/svg", "ink": "http://www.inkscape.org/namespaces/inkscape"}
    layers = root.findall("svg:g", ns)
    labels = [g.get(f"{{{ns['ink']}}}label") for g in layers]
    assert labels[-1].endswith("lines") and all(g.get(f"{{{ns['ink']}}}groupmode") == "layer" for g in layers)
    assert (out / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "r.json").read_text())
    for key in ("faces", "subject", "timings_s", "paths", "points", "pen_down_mm", "pen_up_mm"):
        assert key in report
    assert len(report["faces"]) == 1 and len(report["faces"][0]["box"]) == 4
    assert report["paths"] == sum(len(g.findall("svg:polyline", ns)) for g in layers)
    assert "1 face" in proc.stdout


def test_preview_shows_ink_inside_the_page(sketched):
    import cv2

    out, _ = sketched
    png = cv2.imread(str(out / "p.png"), cv2.IMREAD_GRAYSCALE)
    assert png.shape[0] > png.shape[1]  # portrait A4
    ink = png < 128
    assert 0.02 < ink.mean() < 0.6
    # Nothing in the 15 mm margin (1800 px / 297 mm = 6.06 px/mm -> ~90 px), allow the pen's half width.
    margin_px = int(15 * png.shape[0] / 297) - 3
    assert not ink[:margin_px].any() and not ink[-margin_px:].any()
    assert not ink[:, :margin_px].any() and not ink[:, -margin_px:].any()


@pytest.mark.parametrize("content", [b"", b"this is not an image\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    out = tmp_path / "out.svg"
    proc = run_aikon("sketch", str(bad), "-o", str(out), "--preview", str(tmp_path / "out.png"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "bad.png" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.png"]


def test_missing_file_and_bad_paper(tmp_path, sample_photo):
    proc = run_aikon("sketch", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o.svg"))
    assert proc.returncode == 2 and "nope.jpg" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_aikon("sketch", str(sample_photo), "-o", str(tmp_path / "o.svg"), "--paper", "B99")
    assert proc.returncode == 2 and "paper" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.svg").exists()


def test_every_command_has_help_with_an_example():
    from aikon.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "sketch" in sub.choices
    for name, command in sub.choices.items():
        text = command.format_help()
        assert "example" in text.lower() and "aikon " + name in text, name


def test_help_is_fast_to_import():
    # `aikon --help` must not import the heavy libraries.
    code = ("import sys; from aikon.cli import build_parser; build_parser(); "
            "heavy = [m for m in ('cv2', 'sklearn', 'mediapipe', 'scipy', 'svgelements') if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
