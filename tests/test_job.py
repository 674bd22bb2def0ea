"""Job runner against the scripted fake GRBL: finish rule, pause at pen-up, abort, faults and resume."""

from __future__ import annotations

import numpy as np
import pytest

from aikon.errors import FirmwareError, JobAborted, OutOfBoundsError, PortError
from aikon.gcode_reader import interpret
from aikon.plotter.grbl import GrblClient
from aikon.plotter.job import (Controls, ExecutionTracker, JobRunner, build_job, resume_program)
from aikon.plotter.journal import Journal, read_journal, read_job_lines
from aikon.profiles import load_profile
from test_job_fake_device import FakeGrbl

PROFILE = load_profile("grbl-servo")


def program() -> list[str]:
    """Three strokes (a square, a zigzag, a line) with pen commands as the grbl-servo profile writes them."""
    lines = ["G21 G90 (mm, absolute)", "M3 S30", "G4 P0.15"]
    strokes = [[(10, 10), (30, 10), (30, 30), (10, 30), (10, 10)],
               [(50, 10)] + [(50 + 2 * i, 10 + 5 * (i % 2)) for i in range(1, 12)],
               [(80, 80), (100, 90)]]
    for pts in strokes:
        lines.append(f"G0 X{pts[0][0]} Y{pts[0][1]}")
        lines += ["M3 S90", "G4 P0.15"]
        lines.append(f"G1 X{pts[1][0]} Y{pts[1][1]} F3000")
        lines += [f"G1 X{x} Y{y}" for x, y in pts[2:]]
        lines += ["M3 S30", "G4 P0.15"]
    lines.append("G0 X0 Y0")
    return lines


def assert_sent_moves_safe(sent_lines, profile=PROFILE) -> None:
    """What reached the machine: every move ends inside the work area, the pen is lifted before the
    first XY move, and every rapid travel is made with the pen up."""
    (x0, x1), (y0, y1) = profile.work_area.machine_x_range, profile.work_area.machine_y_range
    moves = interpret(sent_lines, pen=profile, pen_down=True)  # pen state unknown before the first line
    lifted = False
    for m in moves:
        if m.kind == "pen":
            lifted = lifted or not m.pen_down
        elif m.kind in ("rapid", "feed"):
            assert x0 <= m.end[0] <= x1 and y0 <= m.end[1] <= y1, f"line {m.line} leaves the work area"
            if m.start[:2] != m.end[:2]:
                assert lifted, f"line {m.line} moves before the pen was lifted"
            if m.kind == "rapid":
                assert not m.pen_down, f"rapid travel with the pen down on line {m.line}"


def expected_strokes(job) -> list[np.ndarray]:
    return [s.points for s in job.strokes]


def _connect(dev) -> GrblClient:
    client = GrblClient(dev)
    client.connect(banner_timeout_s=0.5)
    return client


def _sample(stroke: np.ndarray, step: float = 0.25) -> np.ndarray:
    out = [stroke[0]]
    for a, b in zip(stroke[:-1], stroke[1:]):
        n = max(int(np.ceil(np.hypot(*(b - a)) / step)), 1)
        out += [a + (b - a) * t for t in np.linspace(0, 1, n + 1)[1:]]
    return np.asarray(out)


def _dist_to(points: np.ndarray, strokes: list[np.ndarray]) -> np.ndarray:
    """Distance from each point to the nearest segment of ``strokes``."""
    best = np.full(len(points), np.inf)
    for s in strokes:
        for a, b in zip(s[:-1], s[1:]):
            d = b - a
            L2 = float(d @ d) or 1e-12
            t = np.clip(((points - a) @ d) / L2, 0, 1)
            best = np.minimum(best, np.hypot(*(a + t[:, None] * d - points).T))
    return best


def assert_union_equals_job(traces: list[np.ndarray], job_strokes: list[np.ndarray], *, max_overlap_mm: float = 1e-6):
    """Every job point is drawn, every drawn point is on the job, and nothing is drawn twice.

    "Twice": total traced length minus job length (the union covers the job exactly once
    when the lengths agree and both inclusions hold).
    """
    traces = [t for t in traces if len(t) >= 2]
    for stroke in job_strokes:
        assert _dist_to(_sample(stroke), traces).max() < 1e-3, "part of the job was skipped"
    for trace in traces:
        assert _dist_to(_sample(trace), job_strokes).max() < 1e-3, "something off the job was drawn"
    traced = sum(float(np.hypot(*np.diff(t, axis=0).T).sum()) for t in traces)
    wanted = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in job_strokes if len(s) >= 2)
    assert traced - wanted <= max_overlap_mm + 1e-6, f"{traced - wanted:.4f} mm drawn twice"


def test_build_job_finds_strokes_and_sync_points():
    job = build_job(program(), PROFILE)
    assert len(job.strokes) == 3
    assert [len(s.points) for s in job.strokes] == [5, 12, 2]
    for s in job.strokes:  # every pen move is followed by a dwell (a sync point)
        assert s.down_line + 1 in job.sync_lines and s.up_line + 1 in job.sync_lines
    assert job.total_s > 0 and np.all(np.diff(job.line_end_s) >= 0)
    # a missing dwell after a pen move is inserted
    # (and the profile's lift goes first: this program travels before it lifts the pen)
    bare = build_job(["G0X1Y1", "M3S90", "G1X5Y1F600", "M3S30"], PROFILE)
    assert bare.lines == ("M3S30", "G4P0.150", "G0X1Y1", "M3S90", "G4P0.01", "G1X5Y1F600", "M3S30", "G4P0.01")


def test_job_streams_to_the_end_and_trace_equals_strokes(tmp_path):
    job = build_job(program(), PROFILE)
    dev = FakeGrbl(lines_per_read=1)
    journal = Journal.start(tmp_path / "j.json", job.lines, source="t.gcode", profile="grbl-servo", port="fake",
                            strokes_total=len(job.strokes))
    progress = []
    runner = JobRunner(_connect(dev), job, PROFILE, journal=journal, on_progress=progress.append)
    final = runner.run()
    assert final.strokes_done == 3 and final.lines_acked == len(job.lines) and final.remaining_s == 0
    assert not dev.planner and not dev.pen_down  # finished means executed, not just acknowledged
    assert dev.received_lines == list(job.lines) and not dev.overflow
    assert_union_equals_job(dev.strokes(), expected_strokes(job))
    assert [p.strokes_done for p in progress] == sorted(p.strokes_done for p in progress)
    remaining = [p.remaining_s for p in progress]
    assert remaining[0] > remaining[-1] and all(a >= b - 1e-9 for a, b in zip(remaining, remaining[1:]))
    state = read_journal(tmp_path / "j.json")
    assert state.state == "done" and state.strokes_done == 3 and state.executed_line == len(job.lines) - 1
    assert read_job_lines(state, tmp_path / "j.json") == list(job.lines)


@pytest.mark.parametrize("name", ["grbl-servo", "grbl-z"])
def test_time_left_at_the_start_is_the_writers_plan(name):
    """The plot's time left comes from the motion planner: at the start it is the estimate that
    `aikon gcode`/`aikon estimate` print for the same file (Z pen lifts and dwells included)."""
    from aikon.drawing import Drawing, Layer, Page, as_path
    from aikon.output.gcode import gcode_job

    profile = load_profile(name)
    rng = np.random.default_rng(3)
    paths = tuple(as_path(rng.uniform(10, 140, 2) + np.cumsum(rng.normal(0, 1, (15, 2)), axis=0)) for _ in range(12))
    written = gcode_job(Drawing(Page(150.0, 150.0), (Layer("l", paths),)), profile)
    job = build_job(written.lines, profile)
    assert job.lines == tuple(line.replace(" ", "") for line in written.lines)  # nothing added
    runner = JobRunner(GrblClient(FakeGrbl()), job, profile)
    assert runner.progress().remaining_s == pytest.approx(written.plan().duration, rel=1e-9)


def test_acknowledged_is_not_executed():
    """Strokes count as done only when their pen-up has executed, not when acknowledged."""
    job = build_job(program(), PROFILE)
    tracker = ExecutionTracker(job)
    first = job.strokes[0]
    for i in range(first.up_line + 1):  # everything up to the pen-up acknowledged...
        if i not in job.sync_lines:
            tracker.on_ack(i)
    assert tracker.strokes_done == 0
    tracker.on_ack(first.up_line + 1)  # ... the dwell after it answers only once it ran
    assert tracker.strokes_done == 1 and tracker.partial_mm == 0


def test_status_position_on_the_stroke_advances_partial_progress():
    job = build_job(program(), PROFILE)
    tracker = ExecutionTracker(job)
    square = job.strokes[0]
    tracker.on_ack(square.down_line + 1)  # the pen is down (dwell answered)
    last_acked = square.point_lines[-1]
    tracker.on_position((30.0, 17.5), last_acked)
    assert tracker.partial_mm == pytest.approx(27.5)
    tracker.on_position((20.0, 10.0), last_acked)  # a stale or off-path report never moves it back
    tracker.on_position((25.0, 25.0), last_acked)
    assert tracker.partial_mm == pytest.approx(27.5)
    tracker.on_position((10.0, 30.0), square.point_lines[2])  # beyond the acknowledged lines: ignored
    assert tracker.partial_mm == pytest.approx(27.5)


def test_pause_takes_effect_at_pen_up_and_resume_continues():
    job = build_job(program(), PROFILE)
    dev = FakeGrbl(lines_per_read=1)
    controls = Controls()
    seen = []
    requested_at = []

    def on_event(event):
        if event.kind == "ack" and event.tag == job.strokes[0].point_lines[2] and not requested_at:
            controls.request_pause()  # mid-stroke: must not stop here
            requested_at.append(runner.next_line)

    def on_paused(runner):
        seen.append((dev.pen_down, bool(dev.planner), len(dev.strokes()), runner.progress().strokes_done,
                     runner.next_line))
        controls.request_resume()

    runner = JobRunner(_connect(dev), job, PROFILE, controls=controls, on_event=on_event, on_paused=on_paused)
    runner.run()
    # Lines already in GRBL's buffer run; the pause comes at the first stroke boundary not yet sent,
    # with the pen up and the machine at rest.
    boundary = min(p for p in job.pause_points if p >= requested_at[0])
    done_at_boundary = sum(1 for s in job.strokes if s.up_line < boundary)
    assert seen == [(False, False, done_at_boundary, done_at_boundary, boundary)]
    assert 1 <= done_at_boundary < 3
    assert_union_equals_job(dev.strokes(), expected_strokes(job))


def test_abort_lifts_pen_and_parks(tmp_path):
    job = build_job(program(), PROFILE)
    dev = FakeGrbl(lines_per_read=1)
    controls = Controls()
    journal = Journal.start(tmp_path / "j.json", job.lines, source="t", profile="grbl-servo", port="fake",
                            strokes_total=3)

    def on_event(event):
        if event.kind == "ack" and event.tag == job.strokes[1].point_lines[4]:
            controls.interrupt()  # Ctrl-C: pause ...
            controls.interrupt()  # ... Ctrl-C again: abort now

    runner = JobRunner(_connect(dev), job, PROFILE, controls=controls, on_event=on_event, journal=journal)
    with pytest.raises(JobAborted, match="pen lifted and parked"):
        runner.run()
    assert not dev.pen_down and dev.pos == tuple(PROFILE.end.park) and not dev.planner
    assert_sent_moves_safe(dev.received_lines)
    assert dev.received_lines[-3:] == ["M3S30", "G4P0.150", f"G0X{PROFILE.end.park[0]:.3f}Y{PROFILE.end.park[1]:.3f}"]
    state = read_journal(tmp_path / "j.json")
    assert state.state == "aborted" and state.strokes_done == 1 and state.partial_mm > 0
    # the journal's point is where the pen really stopped: resuming from it completes the job exactly
    _resume_and_check(tmp_path, job, dev.strokes())


def _resume_and_check(tmp_path, job, traces_so_far, max_overlap_mm=1e-6):
    state = read_journal(tmp_path / "j.json")
    lines = read_job_lines(state, tmp_path / "j.json")
    resumed = resume_program(lines, PROFILE, state.strokes_done, state.partial_mm)
    dev2 = FakeGrbl(lines_per_read=1)  # a power-cycled board at the confirmed origin
    JobRunner(_connect(dev2), resumed, PROFILE, strokes_total=len(job.strokes)).run()
    assert_sent_moves_safe(dev2.received_lines)  # resume: lift, travel pen-up to the resume point, ...
    assert_union_equals_job(traces_so_far + dev2.strokes(), expected_strokes(job), max_overlap_mm=max_overlap_mm)
    # nothing before the resume point is drawn again
    if state.strokes_done:
        done = expected_strokes(job)[: state.strokes_done]
        for trace in dev2.strokes():
            far = _dist_to(_sample(trace), done)
            assert (far > 1e-3).any() or len(trace) < 2


@pytest.mark.parametrize("fault", ["error", "alarm", "disconnect"])
@pytest.mark.parametrize("at_stroke,at_point", [(0, 2), (1, 6), (2, 1)])
def test_faults_report_write_journal_and_resume_exactly(tmp_path, fault, at_stroke, at_point):
    job = build_job(program(), PROFILE)
    line_no = job.strokes[at_stroke].point_lines[at_point] + 1  # 1-based line number the device sees
    dev = FakeGrbl(lines_per_read=1, **{f"{fault}_at": line_no})
    journal = Journal.start(tmp_path / "j.json", job.lines, source="t", profile="grbl-servo", port="fake",
                            strokes_total=3)
    expected_error = {"error": FirmwareError, "alarm": FirmwareError, "disconnect": PortError}[fault]
    with pytest.raises(expected_error) as info:
        JobRunner(_connect(dev), job, PROFILE, journal=journal).run()
    message = str(info.value)
    assert "resume with: aikon plot --resume" in message
    if fault == "error":
        assert "Unsupported" in message and not dev.pen_down
    if fault == "alarm":
        assert "ALARM:1" in message and "limit" in message.lower()
    if fault == "disconnect":
        assert "lost the connection" in message
    assert_sent_moves_safe(dev.received_lines)
    state = read_journal(tmp_path / "j.json")
    assert state.state == "failed" and state.reason
    assert state.strokes_done == at_stroke
    traces = dev.strokes()
    if fault == "disconnect":
        # The fake stops dead at the disconnect; the host knows only what was reported before it,
        # so the resume may retrace (never skip) the stretch after the last report.
        _resume_and_check(tmp_path, job, traces, max_overlap_mm=job.strokes[at_stroke].length)
    else:
        _resume_and_check(tmp_path, job, traces)


def test_resume_after_everything_was_drawn_only_lifts_and_parks():
    job = build_job(program(), PROFILE)
    resumed = resume_program(list(job.lines), PROFILE, 3, 0.0)
    assert resumed.strokes == () and resumed.first_stroke == 3
    assert resumed.lines[-1] == "G0X0Y0"


def test_resume_mid_stroke_starts_pen_up_and_draws_only_the_rest():
    job = build_job(program(), PROFILE)
    resumed = resume_program(list(job.lines), PROFILE, 0, 25.0)
    first = resumed.strokes[0]
    assert first.points[0].tolist() == [30.0, 15.0]
    assert first.length == pytest.approx(job.strokes[0].length - 25.0)
    # the pen is lifted before the first travel
    travel = next(i for i, line in enumerate(resumed.lines) if line.startswith("G0X"))
    assert "M3S30" in resumed.lines[:travel]
    assert len(resumed.strokes) == 3 and resumed.first_offset_mm == 25.0


# --------------------------------------------------------------------------- work-area check of G-code files


def test_program_leaving_the_work_area_is_refused_naming_its_file_line():
    lines = program()
    lines.insert(5, "")  # blank and comment-only lines still count in the file's numbering
    lines.insert(6, "(travel)")
    lines.insert(8, "G0 X310 Y20")  # grbl-servo: machine X 0..300
    with pytest.raises(OutOfBoundsError, match=r"G-code line 9 \(G0X310Y20\) moves to X310\.000 Y20\.000, "
                                               r"outside the work area of grbl-servo \(machine X 0\.\.300"):
        build_job(lines, PROFILE)
    with pytest.raises(OutOfBoundsError, match="Y-0.500"):
        build_job(["M3S30", "G4P0.15", "G0X10Y10", "G1X20Y-0.5F600"], PROFILE)


def test_arc_points_are_checked_not_only_its_end():
    # Both arcs run from (10, 150) to (10, 160) about the centre (-10, 155), r = 20.6 mm: the
    # counter-clockwise one stays at x >= 10; the clockwise one goes round to x = -30.6.
    head = ["M3S30", "G4P0.15", "G0X10Y150", "M3S90", "G4P0.15"]
    build_job(head + ["G3X10Y160I-20J5F600", "M3S30", "G4P0.15"], PROFILE)
    with pytest.raises(OutOfBoundsError, match=r"G-code line 6 \(G2X10Y160I-20J5F600\) moves to X-"):
        build_job(head + ["G2X10Y160I-20J5F600", "M3S30", "G4P0.15"], PROFILE)


def test_relative_moves_are_checked_from_the_absolute_position():
    ok = build_job(["M3S30", "G4P0.15", "G90G0X10Y10", "M3S90", "G4P0.15", "G91G1X5Y2F600", "G90", "M3S30"],
                   PROFILE)
    assert ok.strokes[0].points.tolist() == [[10.0, 10.0], [15.0, 12.0]]
    with pytest.raises(OutOfBoundsError, match=r"line 4 \(G91G0X20\) moves to X310"):
        build_job(["M3S30", "G4P0.15", "G90G0X290Y10", "G91G0X20"], PROFILE)
    # a relative move before any absolute position: where it goes depends on where the carriage is
    with pytest.raises(OutOfBoundsError, match=r"line 3 \(G91G0X5Y5\) is a relative \(G91\).*depends on where"):
        build_job(["M3S30", "G4P0.15", "G91G0X5Y5", "G90G0X10Y10"], PROFILE)
    # relative Z only (a Z pen lift) is fine: X and Y stay absolute
    build_job(["M3S30", "G4P0.15", "G90G0X10Y10", "G91G0Z1", "G90"], PROFILE)


def test_moves_to_positions_stored_in_the_board_are_refused():
    with pytest.raises(OutOfBoundsError, match=r"line 3 \(G28\) moves to a position stored in the board"):
        build_job(["M3S30", "G4P0.15", "G28"], PROFILE)
    build_job(["M3S30", "G4P0.15", "G0X1Y1", "G28.1"], PROFILE)  # storing a position moves nothing


def test_a_program_that_travels_before_lifting_gets_the_profile_lift_first():
    job = build_job(["G21G90", "G0X10Y10", "M3S90", "G1X20Y10F600", "M3S30"], PROFILE)
    assert job.lines[:4] == ("M3S30", "G4P0.150", "G21G90", "G0X10Y10")
    assert_sent_moves_safe(list(job.lines))
    written = build_job(program(), PROFILE)  # lifts before its first travel: left as it is
    assert written.lines[:3] == ("G21G90", "M3S30", "G4P0.15")
