"""G-code writer: golden files, round trip through the reader, one test per output rule."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

from aikon.drawing import Drawing, Layer, Page, as_path
from aikon.errors import OutOfBoundsError, ProfileError
from aikon.gcode_reader import check_grbl_program, interpret, strokes_from_moves
from aikon.output.gcode import gcode_job, gcode_lines, write_gcode
from aikon.planner import limits_from_profile, plan_drawing, plan_steps, steps_from_gcode_moves
from aikon.profiles import bundled_profile_dir, load_profile
from test_profiles import write_profile

GOLDEN = Path(__file__).parent / "golden" / "gcode"
GCODE_PROFILES = ("grbl-servo", "grbl-z", "marlin-servo", "marlin-z")


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("AIKON_CONFIG_DIR", str(tmp_path / "config"))


def small_drawing() -> Drawing:
    """Two layers on a 120 x 90 mm page: a square, a zig-zag, a dot and a diagonal."""
    square = as_path([[10, 10], [40, 10], [40, 40], [10, 40], [10, 10]])
    zigzag = as_path([[50, 60], [55.5, 70.25], [61.0, 60], [66.5, 70.25]])
    dot = as_path([[80.0, 20.0]])
    diagonal = as_path([[100.0, 80.0], [0.0004, 89.9996]])  # rounds onto the page corner
    return Drawing(Page(120.0, 90.0), (Layer("lines", (square, zigzag)), Layer("shade-1", (dot, diagonal))))


def random_drawing(seed: int = 3, n: int = 40) -> Drawing:
    rng = np.random.default_rng(seed)
    paths = []
    for _ in range(n):
        start = rng.uniform(5, 145, size=2)
        steps = rng.normal(0, 2.0, size=(int(rng.integers(2, 12)), 2))
        paths.append(as_path(np.clip(start + np.cumsum(steps, axis=0), 0, 150)))
    return Drawing(Page(150.0, 150.0), (Layer("random", tuple(paths)),))


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("name", GCODE_PROFILES)
def test_golden_file(name):
    text = gcode_job(small_drawing(), load_profile(name)).text()
    golden = GOLDEN / f"{name}.gcode"
    if os.environ.get("AIKON_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, newline="\n")
    assert golden.is_file(), f"missing {golden}; run with AIKON_UPDATE_GOLDEN=1 to create it"
    assert text == golden.read_bytes().decode("ascii")


def test_every_gcode_profile_has_a_golden_file():
    gcode_profiles = {p.stem for p in bundled_profile_dir().glob("*.toml")
                      if load_profile(p.stem).firmware in ("grbl", "marlin")}
    assert gcode_profiles == {p.stem for p in GOLDEN.glob("*.gcode")}


# --------------------------------------------------------------------------- round trip


def _page_strokes(lines, profile, page):
    moves = interpret(lines, pen=profile, dialect=profile.firmware)
    frame = profile.frame(page.width, page.height)
    return moves, [frame.to_page(s) for s in strokes_from_moves(moves, min_points=1)]


@pytest.mark.parametrize("name", GCODE_PROFILES)
@pytest.mark.parametrize("drawing", [small_drawing(), random_drawing()], ids=["small", "random"])
def test_round_trip_reproduces_strokes(name, drawing):
    profile = load_profile(name)
    lines = gcode_lines(drawing, profile)
    moves, strokes = _page_strokes(lines, profile, drawing.page)
    expected = list(drawing.all_paths())
    assert len(strokes) == len(expected)
    for got, want in zip(strokes, expected):
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 0.01
    # every move with XY motion is pen-down exactly when it draws a segment of the drawing
    drawn = sum(max(len(p) - 1, 0) for p in expected)
    xy_moves = [m for m in moves if m.kind in ("rapid", "feed") and m.start[:2] != m.end[:2]]
    assert sum(m.pen_down for m in xy_moves) == drawn
    assert all(not m.pen_down for m in xy_moves if m.kind == "rapid")


@pytest.mark.parametrize("name", GCODE_PROFILES)
def test_estimate_from_read_back_gcode_equals_plan(name):
    profile = load_profile(name)
    drawing = random_drawing()
    job = gcode_job(drawing, profile)
    steps, start = steps_from_gcode_moves(interpret(job.lines, pen=profile, dialect=profile.firmware),
                                          z_speed=profile.pen.z_speed, z_acceleration=profile.pen.z_acceleration)
    from_gcode = plan_steps(steps, limits_from_profile(profile), start=start)
    assert from_gcode.duration == pytest.approx(job.plan().duration, rel=1e-9)
    # the plan of the drawing differs only by rounding to 0.001 mm
    assert job.plan().duration == pytest.approx(plan_drawing(drawing, profile).duration, rel=1e-4)


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize("name", GCODE_PROFILES)
def test_ascii_line_length_line_ends(name):
    profile = load_profile(name)
    text = gcode_job(random_drawing(), profile).text()
    assert text.isascii()
    assert "\r" not in text
    assert text.endswith("\n")
    assert all(len(line) <= profile.gcode.max_line_length for line in text.split("\n"))
    assert not re.search(r"-0\.0+(?![0-9])", text), "negative zero written"


@pytest.mark.parametrize("name", ["grbl-servo", "grbl-z"])
def test_grbl_has_no_comments_and_is_accepted(name):
    lines = gcode_lines(random_drawing(), load_profile(name))
    assert not any(";" in line or "(" in line or "%" in line for line in lines)
    assert check_grbl_program(lines) == []


def test_comment_only_when_profile_allows():
    lines = gcode_lines(small_drawing(), load_profile("marlin-servo"))
    assert lines[0].startswith(";")
    assert sum(";" in line for line in lines) == 1


def test_starts_absolute_millimetres():
    lines = gcode_lines(small_drawing(), load_profile("grbl-servo"))
    assert lines[0] == "G21 G90 G94"
    lines = gcode_lines(small_drawing(), load_profile("marlin-z"))
    assert lines[1:3] == ["G21", "G90"]


@pytest.mark.parametrize("name", GCODE_PROFILES)
def test_pen_up_before_every_travel_and_at_the_end(name):
    profile = load_profile(name)
    lines = gcode_lines(random_drawing(), profile)
    up = profile.pen.up_command if profile.pen.mode == "servo" else f"G1 Z{profile.pen.up_z:.3f}"
    first_xy = next(i for i, line in enumerate(lines) if re.match(r"G[01] X", line))
    assert any(line.startswith(up) for line in lines[:first_xy]), "no lift before the first travel"
    assert lines[-1].startswith("G0 X") and any(line.startswith(up) for line in lines[-3:])
    moves = interpret(lines, pen=profile, dialect=profile.firmware)
    pen_down = False  # lifted by the first lines (checked above)
    for m in moves:
        if m.kind == "pen":
            pen_down = m.pen_down
        elif m.kind == "rapid" or (m.kind == "feed" and m.start[:2] != m.end[:2] and not m.pen_down):
            assert pen_down is False, f"travel on line {m.line} without a lifted pen"
    assert pen_down is False


@pytest.mark.parametrize("name", GCODE_PROFILES)
def test_dwell_after_every_pen_move(name):
    profile = load_profile(name)
    lines = gcode_lines(random_drawing(), profile)
    pen = profile.pen
    if pen.mode == "servo":
        is_pen = [line in (pen.up_command, pen.down_command) for line in lines]
    else:
        is_pen = [line.startswith("G1 Z") for line in lines]
    assert sum(is_pen) == 2 * random_drawing().path_count + 1
    for i, flag in enumerate(is_pen):
        if flag:
            assert lines[i + 1].startswith("G4 P"), lines[i:i + 2]


def test_dwell_units_per_firmware():
    grbl = gcode_lines(small_drawing(), load_profile("grbl-servo"))
    marlin = gcode_lines(small_drawing(), load_profile("marlin-servo"))
    assert "G4 P0.15" in grbl  # seconds
    assert "G4 P200" in marlin  # milliseconds
    assert all(re.fullmatch(r"G4 P\d+", line) for line in marlin if line.startswith("G4"))


def test_marlin_waits_for_motion_before_servo():
    lines = gcode_lines(small_drawing(), load_profile("marlin-servo"))
    for i, line in enumerate(lines):
        if line.startswith("M280"):
            assert lines[i - 1] == "M400"


@pytest.mark.parametrize("name", GCODE_PROFILES)
def test_feed_rates_explicit(name):
    profile = load_profile(name)
    moves = interpret(gcode_lines(random_drawing(), profile), pen=profile, dialect=profile.firmware)
    for m in moves:
        if m.kind == "feed" and m.start[:2] != m.end[:2]:
            expected = profile.motion.draw_speed if m.pen_down else profile.motion.travel_speed
            assert m.feed == pytest.approx(expected * 60.0)
    lines = gcode_lines(random_drawing(), profile)
    # the first draw move after each pen-down states its feed
    down = profile.pen.down_command if profile.pen.mode == "servo" else f"G1 Z{profile.pen.down_z:.3f}"
    for i, line in enumerate(lines):
        if line.startswith(down):
            first_draw = next(l for l in lines[i + 1:] if l.startswith("G1 X"))
            assert f" F{profile.motion.draw_speed * 60:g}" in first_draw


def test_marlin_travel_sets_its_feed():
    lines = gcode_lines(small_drawing(), load_profile("marlin-servo"))
    assert [line for line in lines if line.startswith("G0")][0].endswith(" F6000")


@pytest.mark.parametrize("origin, x_sign, y_sign, expected", [
    ("front-left", 1, 1, "G0 X10.000 Y80.000"),      # y flipped: page y 10 on a 90 mm page
    ("top-left", 1, 1, "G0 X10.000 Y10.000"),
    ("top-right", 1, 1, "G0 X110.000 Y10.000"),
    ("back-right", -1, -1, "G0 X-110.000 Y-10.000"),
])
def test_machine_transform_and_flips(tmp_path, origin, x_sign, y_sign, expected):
    path = write_profile(tmp_path, f'inherits = "grbl-servo"\nname = "t"\ndescription = "t"\n[work_area]\n'
                                   f'origin = "{origin}"\nx_sign = {x_sign}\ny_sign = {y_sign}\n')
    profile = load_profile(path)
    lines = gcode_lines(small_drawing(), profile)
    assert [line for line in lines if line.startswith("G0")][0] == expected
    _, strokes = _page_strokes(lines, profile, small_drawing().page)
    assert np.abs(strokes[0] - small_drawing().layers[0].paths[0]).max() <= 0.0005


def test_decimals_follow_profile(tmp_path):
    path = write_profile(tmp_path, 'inherits = "grbl-servo"\nname = "t"\ndescription = "t"\n'
                                   '[gcode]\ndecimals = 1\n')
    lines = gcode_lines(small_drawing(), load_profile(path))
    assert "G1 X55.5 Y19.8 F3000" in lines  # page y 70.25 -> machine 19.75 -> 19.8


def test_line_too_long_for_profile(tmp_path):
    path = write_profile(tmp_path, 'inherits = "marlin-servo"\nname = "t"\ndescription = "t"\n'
                                   '[gcode]\ndecimals = 6\nmax_line_length = 20\n')
    with pytest.raises(ProfileError, match="max_line_length"):
        gcode_lines(small_drawing(), load_profile(path))


# --------------------------------------------------------------------------- safety


def big_drawing() -> Drawing:
    return Drawing(Page(400.0, 300.0), (Layer("l", (as_path([[20, 20], [350, 20], [350, 280]]),)),))


def test_out_of_bounds_refused_before_writing(tmp_path):
    out = tmp_path / "out.gcode"
    with pytest.raises(OutOfBoundsError) as info:
        write_gcode(big_drawing(), load_profile("grbl-servo"), out)
    message = str(info.value)
    assert "X goes to 350.000 mm, 50.000 mm beyond the maximum 300" in message
    assert "--fit" in message
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


def test_out_of_bounds_on_flipped_axis_names_y():
    # grbl-servo: origin front-left, page y=20 on a 400 x 330 page is machine Y 310 > 300
    drawing = Drawing(Page(200.0, 330.0), (Layer("l", (as_path([[20, 20], [30, 200]]),)),))
    with pytest.raises(OutOfBoundsError, match=r"Y goes to 310\.000 mm, 10\.000 mm beyond"):
        gcode_lines(drawing, load_profile("grbl-servo"))


def test_fit_scales_and_centres_into_area():
    profile = load_profile("grbl-servo")
    job = gcode_job(big_drawing(), profile, fit=True)
    assert job.fit.changed
    moves = interpret(job.lines, pen=profile)
    (stroke,) = strokes_from_moves(moves)
    assert stroke[:, 0].min() >= 0 and stroke[:, 0].max() <= 300
    assert stroke[:, 1].min() >= 0 and stroke[:, 1].max() <= 300
    width, height = np.ptp(stroke, axis=0)
    assert width == pytest.approx(300.0, abs=0.001)  # the wider side fills the area
    assert width / height == pytest.approx(330.0 / 260.0, rel=1e-4)  # proportions kept
    assert stroke[:, 1].min() == pytest.approx(300 - stroke[:, 1].max(), abs=0.001)  # centred


@pytest.mark.parametrize("name", GCODE_PROFILES + ("back-right",))
def test_every_move_inside_the_area_and_pen_down_only_after_a_move_there(tmp_path, name):
    if name == "back-right":  # a machine working in negative coordinates
        name = str(write_profile(tmp_path, 'inherits = "grbl-servo"\nname = "br"\ndescription = "t"\n'
                                           '[work_area]\norigin = "back-right"\nx_sign = -1\ny_sign = -1\n'))
    profile = load_profile(name)
    (x0, x1), (y0, y1) = profile.work_area.machine_x_range, profile.work_area.machine_y_range
    page = Page(150.0, 150.0)
    origin = profile.frame(page.width, page.height).to_page(np.zeros((1, 2)))[0]
    # the first stroke starts exactly at the machine origin, where the job assumes the carriage is
    at_origin = Drawing(page, (Layer("l", (as_path([origin, (75.0, 75.0)]), as_path([(20, 20), (40, 30)]))),))
    for drawing, fit in ((at_origin, False), (random_drawing(), False), (big_drawing(), True)):
        job = gcode_job(drawing, profile, fit=fit)
        moves = interpret(job.lines, pen=profile, dialect=profile.firmware, pen_down=True)
        positioned = False
        for m in moves:
            if m.kind in ("rapid", "feed"):
                assert x0 <= m.end[0] <= x1 and y0 <= m.end[1] <= y1, f"line {m.line} leaves the area"
                line = job.lines[m.line - 1]
                positioned = positioned or (not m.pen_down and " X" in line and " Y" in line)
            elif m.kind == "pen" and m.pen_down:
                assert positioned, f"pen down on line {m.line} before any move put the carriage there"
        last = [m for m in moves if m.kind in ("rapid", "feed")][-1]
        assert not last.pen_down and last.end[:2] == tuple(profile.end.park)


def test_fit_leaves_a_fitting_drawing_alone():
    profile = load_profile("grbl-servo")
    assert gcode_lines(small_drawing(), profile, fit=True) == gcode_lines(small_drawing(), profile)


def test_ebb_profile_refused():
    with pytest.raises(ProfileError, match="does not take G-code"):
        gcode_lines(small_drawing(), load_profile("axidraw-v3"))


def test_write_to_stream_and_file_identical(tmp_path):
    profile = load_profile("grbl-z")
    buffer = io.StringIO()
    write_gcode(small_drawing(), profile, buffer)
    out = tmp_path / "a.gcode"
    job = write_gcode(small_drawing(), profile, out)
    assert out.read_bytes().decode("ascii") == buffer.getvalue() == job.text()


def test_empty_drawing_lifts_and_parks():
    lines = gcode_lines(Drawing(Page(100.0, 100.0)), load_profile("grbl-servo"))
    assert lines == ["G21 G90 G94", "M3 S30", "G4 P0.15", "G0 X0.000 Y0.000"]


def test_progress_times_per_line():
    profile = load_profile("grbl-servo")
    job = gcode_job(random_drawing(), profile)
    plan = job.plan()
    remaining = [job.time_remaining_after_line(plan, i) for i in range(-1, len(job.lines))]
    assert remaining[0] == pytest.approx(plan.duration)
    assert remaining[-1] == 0.0
    assert all(a >= b for a, b in zip(remaining, remaining[1:]))
    assert len(job.stroke_lines) == random_drawing().path_count
    for k, line_index in enumerate(job.stroke_lines):
        assert job.time_remaining_after_line(plan, int(line_index)) == pytest.approx(
            plan.time_remaining_after_stroke(k))


def test_input_drawing_not_modified():
    drawing = small_drawing()
    before = [p.copy() for p in drawing.all_paths()]
    gcode_lines(drawing, load_profile("grbl-servo"), fit=True)
    gcode_lines(big_drawing(), load_profile("grbl-servo"), fit=True)
    for p, q in zip(before, drawing.all_paths()):
        np.testing.assert_array_equal(p, q)


# --------------------------------------------------------------------------- against the GRBL simulator


def stream_into_simulator(lines, profile, step: float = 0.005):
    """Character-counting sender (127 usable RX bytes) on the simulator's virtual clock.

    Returns (seconds until idle, simulator); fails on any error, alarm or a run past an hour."""
    from aikon.plotter.simulator import GrblSimulator, stream_counted

    sim = GrblSimulator(profile=profile)
    result = stream_counted(sim, lines, step_s=step, time_limit_s=3600.0)
    assert result.clean, result
    return result.seconds, sim


@pytest.mark.parametrize("name", ["grbl-servo", "grbl-z"])
def test_plan_matches_grbl_simulator(name):
    profile = load_profile(name)
    t = np.linspace(0, 2 * np.pi, 200)
    circle = as_path(np.c_[60 + 5 * np.cos(t), 60 + 5 * np.sin(t)])  # 0.16 mm segments: look-ahead bound
    zigzag = as_path([(10 + 1.5 * k, 20 + (8.0 if k % 2 else 0.0)) for k in range(15)])  # sharp corners
    drawing = Drawing(Page(150.0, 150.0), (Layer("l", (circle, zigzag) + random_drawing(n=5).layers[0].paths),))
    job = gcode_job(drawing, profile)
    sim_seconds, sim = stream_into_simulator(list(job.lines), profile)
    assert job.plan().duration == pytest.approx(sim_seconds, rel=0.01)
    # and the simulator drew the drawing's strokes
    strokes = [profile.frame(150.0, 150.0).to_page(s) for s in sim.strokes()]
    assert len(strokes) == sum(1 for p in drawing.all_paths() if len(p) > 1)
