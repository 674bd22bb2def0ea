"""`aikon gcode` and `aikon profiles` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aikon.cli import main
from aikon.drawing import Drawing, Layer, Page, as_path
from aikon.gcode_reader import check_grbl_program, interpret, strokes_from_moves
from aikon.output.svg import write_svg
from aikon.profiles import load_profile


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("AIKON_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def small_svg(tmp_path) -> Path:
    square = as_path([[10, 10], [40, 10], [40, 40], [10, 40], [10, 10]])
    path = tmp_path / "small.svg"
    write_svg(Drawing(Page(120.0, 90.0), (Layer("lines", (square, as_path([[50, 50], [80, 60]]))),)), path)
    return path


@pytest.fixture
def big_svg(tmp_path) -> Path:
    path = tmp_path / "big.svg"
    write_svg(Drawing(Page(400.0, 300.0), (Layer("l", (as_path([[20, 20], [350, 20], [350, 280]]),)),)), path)
    return path


def test_gcode_writes_file_grbl_accepts(small_svg, tmp_path, capsys):
    out = tmp_path / "small.gcode"
    assert main(["gcode", str(small_svg), "--profile", "grbl-servo", "-o", str(out)]) == 0
    text = out.read_text()
    lines = text.splitlines()
    assert check_grbl_program(lines) == []
    strokes = strokes_from_moves(interpret(lines, pen=load_profile("grbl-servo")))
    frame = load_profile("grbl-servo").frame(120.0, 90.0)
    assert np.abs(frame.to_page(strokes[0]) - [[10, 10], [40, 10], [40, 40], [10, 40], [10, 10]]).max() <= 0.01
    report = capsys.readouterr().out
    assert "2 paths" in report and "estimated plot time 0:00:" in report


def test_gcode_refuses_out_of_bounds_and_writes_nothing(big_svg, tmp_path, capsys):
    out = tmp_path / "big.gcode"
    assert main(["gcode", str(big_svg), "--profile", "grbl-servo", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "does not fit the work area" in err and "--fit" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_gcode_fit(big_svg, tmp_path, capsys):
    out = tmp_path / "big.gcode"
    assert main(["gcode", str(big_svg), "--profile", "marlin-servo", "-o", str(out), "--fit"]) == 0
    assert "scaled by 0.6667" in capsys.readouterr().out
    (stroke,) = strokes_from_moves(interpret(out.read_text().splitlines(), pen=load_profile("marlin-servo"),
                                             dialect="marlin"))
    assert stroke.min() >= 0 and stroke.max() <= 220


def test_gcode_to_stdout(small_svg, capsys):
    assert main(["gcode", str(small_svg), "--profile", "grbl-z", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("G21 G90 G94\nG1 Z5.000 F600\n")
    assert "lines for grbl-z" in captured.err


def test_gcode_unknown_profile_and_missing_input(small_svg, tmp_path, capsys):
    assert main(["gcode", str(small_svg), "--profile", "nope", "-o", str(tmp_path / "x.gcode")]) == 2
    assert "available: axidraw-v3, grbl-servo" in capsys.readouterr().err
    assert main(["gcode", str(tmp_path / "absent.svg"), "-o", str(tmp_path / "x.gcode")]) == 2
    assert not (tmp_path / "x.gcode").exists()


def test_gcode_ebb_profile_refused(small_svg, tmp_path, capsys):
    assert main(["gcode", str(small_svg), "--profile", "axidraw-v3", "-o", str(tmp_path / "x.gcode")]) == 2
    assert "does not take G-code" in capsys.readouterr().err


def test_profiles_lists_bundled_and_user(tmp_path, capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name in ("grbl-servo", "grbl-z", "marlin-servo", "marlin-z", "axidraw-v3"):
        assert name in out
    user = tmp_path / "config" / "profiles"
    user.mkdir(parents=True)
    (user / "tiny.toml").write_text('inherits = "grbl-servo"\nname = "tiny"\ndescription = "my tiny plotter"\n'
                                    '[work_area]\nwidth = 100.0\nheight = 80.0\n')
    assert main(["profiles", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tiny"]["source"] == "user" and rows["tiny"]["area_mm"] == "100x80"
    assert rows["grbl-servo"]["source"] == "bundled" and rows["grbl-servo"]["firmware"] == "grbl"


def test_profiles_show_one_and_invalid_one(tmp_path, capsys):
    assert main(["profiles", "marlin-servo"]) == 0
    out = capsys.readouterr().out
    assert "M280 P0 S30" in out and "250000 baud" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('inherits = "grbl-servo"\n[motion]\ndraw_speed = -1.0\n')
    assert main(["profiles", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "motion.draw_speed" in err


def test_sample_sketch_gcode_accepted_by_grbl(sample_photo, tmp_path, capsys):
    """The issue's acceptance check: the sample portrait's G-code streams through GRBL without an error."""
    if not sample_photo.is_file():
        pytest.skip("samples/astronaut.png is not present")
    from test_gcode_writer import stream_into_simulator

    svg, gcode = tmp_path / "p.svg", tmp_path / "p.gcode"
    assert main(["sketch", str(sample_photo), "-o", str(svg), "-q"]) == 0
    assert main(["gcode", str(svg), "--profile", "grbl-servo", "-o", str(gcode)]) == 0
    lines = gcode.read_text().splitlines()
    assert check_grbl_program(lines) == []
    assert max(len(line) for line in lines) <= 79
    profile = load_profile("grbl-servo")
    seconds, sim = stream_into_simulator(lines, profile, step=0.05)
    assert [e for e in sim.trace.events if e["kind"] in ("out_of_bounds", "error", "alarm")] == []
    assert sim.trace.lines_error == 0 and sim.trace.lines_ok == len(lines)
    estimate = json_estimate(gcode, capsys)
    assert estimate["duration_s"] == pytest.approx(seconds, rel=0.01)


def json_estimate(path, capsys) -> dict:
    capsys.readouterr()
    assert main(["estimate", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)
