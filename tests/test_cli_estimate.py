"""`aikon estimate` on SVG and G-code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aikon.cli import main
from aikon.drawing import Drawing, Layer, Page, as_path
from aikon.output.gcode import write_gcode
from aikon.output.svg import write_svg
from aikon.planner import plan_drawing
from aikon.profiles import load_profile


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("AIKON_CONFIG_DIR", str(tmp_path / "config"))


def drawing() -> Drawing:
    square = as_path([[10, 10], [40, 10], [40, 40], [10, 40], [10, 10]])
    return Drawing(Page(120.0, 90.0), (Layer("lines", (square, as_path([[50, 50], [80, 60]]))),))


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    svg = tmp_path / "d.svg"
    gcode = tmp_path / "d.gcode"
    write_svg(drawing(), svg)
    write_gcode(drawing(), load_profile("marlin-servo"), gcode)
    return svg, gcode


def _json(capsys, *args) -> dict:
    assert main(["estimate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_estimate_svg_matches_plan(files, capsys):
    svg, _ = files
    result = _json(capsys, str(svg), "--profile", "grbl-servo")
    expected = plan_drawing(drawing(), load_profile("grbl-servo"))
    assert result["kind"] == "svg"
    assert result["duration_s"] == pytest.approx(expected.duration, abs=0.001)
    assert result["pen_down_mm"] == pytest.approx(120 + 31.623, abs=0.001)
    assert result["pen_lifts"] == 2
    assert result["fits_work_area"] is True


def test_estimate_gcode_equals_svg_estimate(files, capsys):
    svg, gcode = files
    from_gcode = _json(capsys, str(gcode), "--profile", "marlin-servo")
    from_svg = _json(capsys, str(svg), "--profile", "marlin-servo")
    assert from_gcode["kind"] == "gcode"
    for key in ("duration_s", "pen_down_mm", "pen_up_mm", "pen_lifts", "draw_s", "travel_s", "pen_s"):
        assert from_gcode[key] == pytest.approx(from_svg[key], abs=0.002), key


def test_estimate_slower_machine_takes_longer(files, capsys):
    svg, _ = files
    fast = _json(capsys, str(svg), "--profile", "grbl-servo")
    slow = _json(capsys, str(svg), "--profile", "axidraw-v3")  # 50 mm/s at 200 mm/s^2, 0.2 s pen delays
    assert slow["duration_s"] > fast["duration_s"]


def test_estimate_text_output(files, capsys):
    svg, _ = files
    assert main(["estimate", str(svg)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plot time     0:00:")
    assert "pen-down      151.6 mm" in out and "pen lifts     2" in out


def test_estimate_bad_gcode_and_missing_file(tmp_path, capsys):
    bad = tmp_path / "bad.gcode"
    bad.write_text("G21\nG1 X1.2.3\n")
    assert main(["estimate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "is --profile right" in err
    assert main(["estimate", str(tmp_path / "absent.svg")]) == 2


def test_estimate_notes_a_drawing_that_does_not_fit(tmp_path, capsys):
    big = tmp_path / "big.svg"
    write_svg(Drawing(Page(400.0, 300.0), (Layer("l", (as_path([[20, 20], [350, 20]]),)),)), big)
    assert main(["estimate", str(big)]) == 0
    assert "does not fit the work area of grbl-servo" in capsys.readouterr().err
    assert _json(capsys, str(big))["fits_work_area"] is False
