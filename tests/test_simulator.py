"""The GRBL 1.1 simulator, driven byte by byte on its virtual clock (no sleeps)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from aikon.gcode_reader import interpret, strokes_from_moves
from aikon.plotter import grbl_codes as codes
from aikon.plotter.sim_planner import MotionPlanner, junction_speed_sqr, trapezoid_time
from aikon.plotter.simulator import DEFAULT_SETTINGS, Fault, GrblSimulator, settings_from_profile

BANNER = b"\r\nGrbl 1.1h ['$' for help]\r\n"

JOB = [
    "G21 G90", "M5", "G4 P0.1",
    "G0 X10 Y10", "M3 S1000", "G4 P0.1", "G1 X30 Y10 F1500", "G1 X30 Y25", "G1 X10 Y25", "M5", "G4 P0.1",
    "G0 X50 Y50", "M3 S1000", "G4 P0.1", "G1 X60 Y55 F1500", "G1 X70 Y50", "G1 X80 Y55", "M5", "G4 P0.1",
    "G0 X0 Y0",
]


def replies(sim: GrblSimulator) -> list[str]:
    return [r for r in sim.read().decode("ascii").split("\r\n") if r]


def status(sim: GrblSimulator) -> str:
    sim.feed(b"?")
    found = [r for r in replies(sim) if r.startswith("<")]
    assert found, "no status report"
    return found[-1]


def stream_counting(sim: GrblSimulator, lines: list[str], *, dt: float = 0.01, max_time: float = 600.0) -> list[str]:
    """A character-counting sender (like GRBL's stream.py) on the virtual clock; returns every reply."""
    pending: list[int] = []
    answers: list[str] = []
    index = 0
    while (index < len(lines) or pending) and sim.time < max_time:
        while index < len(lines) and sum(pending) + len(lines[index]) + 1 <= codes.RX_BUFFER_SIZE:
            data = (lines[index] + "\n").encode()
            sim.feed(data)
            pending.append(len(data))
            index += 1
        sim.advance(dt)
        for reply in replies(sim):
            answers.append(reply)
            if reply == "ok" or reply.startswith("error:"):
                pending.pop(0)
    return answers


def new_sim(**kw) -> GrblSimulator:
    sim = GrblSimulator(**kw)
    assert sim.read() == BANNER
    return sim


# ---- banner, counting, RX buffer, planner ------------------------------------

def test_banner_on_power_up_and_soft_reset():
    sim = GrblSimulator()
    assert sim.read() == BANNER
    sim.feed(b"\x18")
    assert sim.read() == BANNER  # idle reset: no alarm
    assert status(sim).startswith("<Idle|")


def test_character_counting_streams_job_and_trace_equals_strokes():
    sim = new_sim()
    answers = stream_counting(sim, JOB)
    assert answers.count("ok") == len(JOB)
    assert not [a for a in answers if a.startswith(("error", "ALARM", "[MSG:SIM"))]
    sim.run_until_idle()
    assert sim.rx_overflows == 0
    expected = strokes_from_moves(interpret(JOB))
    traced = sim.strokes()
    assert len(traced) == len(expected) == 2
    for got, want in zip(traced, expected):
        np.testing.assert_allclose(got, want, atol=1e-9)
    assert json.loads(sim.trace.to_json())["strokes"][0][0] == [10.0, 10.0]
    assert status(sim).startswith("<Idle|MPos:0.000,0.000,0.000")


def test_crlf_line_end_gives_an_extra_ok():
    sim = new_sim()
    sim.feed(b"G21\r\n")
    assert replies(sim) == ["ok", "ok"]


def test_ok_only_when_parsed_into_planner_and_backpressure():
    sim = new_sim()
    moves = [f"G1 X{10 * (i + 1)} F6000" for i in range(20)]
    sim.feed("".join(m + "\n" for m in moves).encode())
    # 15 blocks fit the planner (GRBL's 16-slot ring keeps one free): 15 oks, the rest waits in RX.
    assert replies(sim) == ["ok"] * 15
    assert sim.planner.is_full
    waiting = sum(len(m) + 1 for m in moves[16:])
    assert codes.RX_BUFFER_SIZE - 1 - sim.rx_free == waiting  # line 16 is in the line buffer, blocked
    # The first block (10 mm at 100 mm/s, a=500) takes at least 0.1 s; nothing is answered before.
    sim.advance(0.05)
    assert replies(sim) == []
    sim.advance(0.3)
    assert replies(sim).count("ok") >= 1


def test_rx_overflow_is_detected_when_a_sender_does_not_count():
    sim = new_sim()
    lines = [f"G1 X{i % 2 * 50} Y{i} F3000" for i in range(40)]
    sim.feed("".join(line + "\n" for line in lines).encode())  # everything at once
    out = replies(sim)
    assert sim.rx_overflows > 0
    assert any(r.startswith("[MSG:SIM:RX overflow") for r in out)
    assert any(e["kind"] == "rx_overflow" for e in sim.trace.events)


def test_counting_sender_never_overflows_long_job():
    sim = new_sim()
    lines = [f"G1 X{(i * 7) % 100}.123 Y{(i * 13) % 100}.456 F6000" for i in range(200)]
    answers = stream_counting(sim, lines, dt=0.005)
    assert answers.count("ok") == 200 and sim.rx_overflows == 0


# ---- GRBL line and word rules --------------------------------------------------

@pytest.mark.parametrize("line, reply", [
    ("G1X" + "1" * 77, "error:11"),
    ("G1 X1 E2 F100", "error:20"),
    ("G1 X1.2.3 F100", "error:1"),
    ("G1 X F100", "error:2"),
    ("G1 X1 X2 F100", "error:25"),
    ("G20 G21", "error:21"),
    ("G1 X5", "error:22"),             # no feed rate yet
    ("$Q", "error:2"),                 # GRBL reads a setting number there
    ("$$X", "error:3"),
    ("M280 P0 S90", "error:20"),
    ("G1 X1 Y2 F100 (a comment with G9 E5) ; and more", "ok"),
    ("g1 x1 f100", "ok"),
])
def test_line_rules(line, reply):
    sim = new_sim()
    sim.feed((line + "\n").encode())
    assert replies(sim) == [reply]


def test_comments_and_spaces_do_not_count_towards_the_limit():
    sim = new_sim()
    long_comment = "G0 X1 (" + "x" * 100 + ")"
    sim.feed((long_comment + "\n").encode())
    assert replies(sim) == ["ok"]


def test_realtime_bytes_act_inside_a_line_and_never_enter_it():
    sim = new_sim()
    sim.feed(b"G1 X1?0 (status? in a comment) F600\n")
    out = replies(sim)
    assert out[0].startswith("<") and out[1].startswith("<") and out[2] == "ok"
    sim.run_until_idle()
    assert sim.position == pytest.approx((10.0, 0.0, 0.0))  # "X1?0" was read as X10
    # A non-ASCII byte (>= 0x80) is taken as real-time too: the line stays intact.
    sim.feed("G0 X2\xa0 Y3\n".encode("latin-1"))
    assert replies(sim) == ["ok"]
    sim.run_until_idle()
    assert sim.position == pytest.approx((2.0, 3.0, 0.0))


def test_feed_hold_inside_a_comment_still_holds():
    sim = new_sim()
    sim.feed(b"G1 X100 F3000\n")
    sim.advance(0.5)
    sim.feed(b"(pause here!)\n")
    assert status(sim).startswith("<Hold:1|")


# ---- real-time commands: hold, resume, reset ---------------------------------------

def test_hold_decelerates_then_resume_finishes():
    sim = new_sim()
    sim.feed(b"M3 S1000\nG1 X100 F3000\n")
    sim.advance(1.0)  # cruising at 50 mm/s
    x_hold = sim.position[0]
    sim.feed(b"!")
    assert status(sim).startswith("<Hold:1|")
    sim.advance(0.05)  # stopping from 50 mm/s at 500 mm/s^2 takes 0.1 s
    assert status(sim).startswith("<Hold:1|")
    sim.advance(0.06)
    assert status(sim).startswith("<Hold:0|")
    stopped = sim.position[0]
    assert stopped == pytest.approx(x_hold + 50 ** 2 / (2 * 500))  # v^2 / 2a = 2.5 mm
    sim.advance(5.0)
    assert sim.position[0] == stopped  # stays held
    sim.feed(b"~")
    sim.run_until_idle()
    assert sim.position[0] == pytest.approx(100.0)
    np.testing.assert_allclose(sim.strokes()[0], [[0, 0], [100, 0]])


def test_hold_when_idle_blocks_new_motion_until_resume():
    sim = new_sim()
    sim.feed(b"!")
    assert status(sim).startswith("<Hold:0|")
    sim.feed(b"G0 X5\n")
    assert replies(sim) == ["ok"]
    sim.advance(2.0)
    assert sim.position[0] == 0.0
    sim.feed(b"~")
    sim.run_until_idle()
    assert sim.position[0] == pytest.approx(5.0)


def test_soft_reset_while_moving_raises_alarm_3():
    sim = new_sim()
    sim.feed(b"G1 X100 F3000\nG1 X0\n")
    sim.advance(0.5)
    assert replies(sim) == ["ok", "ok"]
    sim.feed(b"\x18")
    out = replies(sim)
    assert out == ["ALARM:3", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]"]
    assert status(sim).startswith("<Alarm|")
    assert sim.planner.is_empty
    x = sim.position[0]
    assert 0 < x < 100
    sim.feed(b"G0 X0\n")
    assert replies(sim) == ["error:9"]  # G-code locked
    sim.feed(b"$X\n")
    assert replies(sim) == ["[MSG:Caution: Unlocked]", "ok"]
    assert status(sim).startswith(f"<Idle|MPos:{x:.3f}")


def test_soft_reset_after_hold_complete_keeps_position_without_alarm():
    sim = new_sim()
    sim.feed(b"G1 X100 F3000\n")
    sim.advance(0.5)
    sim.feed(b"!")
    sim.advance(0.5)
    assert replies(sim) == ["ok"]
    sim.feed(b"\x18")
    assert replies(sim) == ["Grbl 1.1h ['$' for help]"]
    assert status(sim).startswith("<Idle|")


# ---- motion timing -------------------------------------------------------------------

def assert_move_ends_at(sim, line: bytes, seconds: float, idle_status: str = "<Idle|") -> None:
    """``line`` still runs 1 us before ``seconds`` and is done (status ``idle_status``...) 1 us after."""
    sim.feed(line)
    sim.advance(seconds - 1e-6)
    assert status(sim).startswith("<Run|")
    sim.advance(2e-6)
    assert status(sim).startswith(idle_status)


def test_single_move_time_equals_trapezoid_formula():
    # 100 mm at F3000 (50 mm/s), a = 500 mm/s^2: 0.1 s (2.5 mm) up, 0.1 s (2.5 mm) down,
    # 95 mm cruise at 50 mm/s: 2.1 s.
    expected = 0.1 + 0.1 + 95.0 / 50.0
    assert trapezoid_time(100.0, 50.0, 500.0) == pytest.approx(expected)
    assert_move_ends_at(new_sim(settings={120: 500, 121: 500}), b"G1 X100 F3000\n", expected,
                        "<Idle|MPos:100.000,0.000,0.000")


def test_short_move_is_a_triangle():
    # 2 mm cannot reach 50 mm/s at 500 mm/s^2: t = 2 * sqrt(L / a).
    assert_move_ends_at(new_sim(), b"G1 X2 F3000\n", 2 * math.sqrt(2.0 / 500.0))


def test_collinear_moves_do_not_stop_at_the_joint():
    sim = new_sim()
    sim.feed(b"G1 X50 F3000\nG1 X100\n")
    elapsed = sim.run_until_idle(step=0.001)
    assert elapsed == pytest.approx(trapezoid_time(100.0, 50.0, 500.0), abs=0.0015)


def test_right_angle_corner_speed_follows_junction_deviation():
    v2 = junction_speed_sqr((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (500.0, 500.0, 200.0), 0.01)
    # GRBL: a * delta * sin(theta/2) / (1 - sin(theta/2)), theta = 90 deg, a along (-1,1)/sqrt2 = 500*sqrt2.
    s = math.sqrt(0.5 * (1 - 0.0))
    assert v2 == pytest.approx(500 * math.sqrt(2) * 0.01 * s / (1 - s))
    planner = MotionPlanner((6000, 6000, 1000), (500, 500, 200), 0.01)
    planner.add("feed", (0, 0, 0), (50, 0, 0), 3000, 1)
    planner.add("feed", (50, 0, 0), (50, 50, 0), 3000, 2)
    assert planner.blocks[1].entry_speed == pytest.approx(math.sqrt(v2))


def test_rapids_use_max_rate_per_axis():
    sim = new_sim(settings={110: 6000, 111: 3000, 120: 500, 121: 500})
    sim.feed(b"G0 Y100\n")
    elapsed = sim.run_until_idle(step=0.001)
    assert elapsed == pytest.approx(trapezoid_time(100.0, 50.0, 500.0), abs=0.0015)


# ---- pen, dwell, sync ------------------------------------------------------------

def test_pen_commands_wait_for_motion_and_dwell_takes_time():
    sim = new_sim()
    sim.feed(b"G1 X10 F600\nM3 S1000\nG4 P0.5\nG0 X0\n")
    assert replies(sim) == ["ok"]  # M3 waits for the move to finish ($32=0)
    sim.advance(1.1)  # 10 mm at 10 mm/s + ramps
    assert replies(sim) == ["ok"]  # M3 done; the dwell is running
    assert sim.pen_down
    sim.advance(0.4)
    assert replies(sim) == []
    sim.advance(0.2)
    assert replies(sim) == ["ok", "ok"]  # dwell over, G0 queued


def test_z_pen_trace():
    pen = {"kind": "z", "down_value": 0.0, "up_value": 5.0}
    sim = new_sim(pen=pen)
    job = ["G0 Z5", "G0 X10 Y10", "G1 Z0 F300", "G1 X20 F1000", "G1 Y20", "G0 Z5", "G0 X0 Y0"]
    stream_counting(sim, job)
    sim.run_until_idle()
    traced = sim.strokes()
    assert len(traced) == 1
    np.testing.assert_allclose(traced[0], [[10, 10], [20, 10], [20, 20]])


# ---- $ commands --------------------------------------------------------------------

def test_dollar_commands():
    sim = new_sim(settings={110: 7000})
    sim.feed(b"$$\n")
    out = replies(sim)
    assert "$110=7000.000" in out and "$32=0" in out and out[-1] == "ok"
    sim.feed(b"$G\n")
    assert replies(sim) == ["[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]", "ok"]
    sim.feed(b"$I\n")
    assert replies(sim)[1] == "[OPT:V,15,128]"
    sim.feed(b"$H\n")
    assert replies(sim) == ["error:5"]  # homing disabled
    sim.feed(b"$110=-1\n$999=1\n$20=1\n$120=250\n")
    assert replies(sim) == ["error:4", "error:3", "error:10", "ok"]
    assert sim.planner.accelerations[0] == 250


def test_check_mode_validates_without_moving():
    sim = new_sim()
    sim.feed(b"$C\n")
    assert replies(sim) == ["[MSG:Enabled]", "ok"]
    sim.feed(b"G1 X50 F100\nG1 X1 E2\nM3 S1000\n")
    assert replies(sim) == ["ok", "error:20", "ok"]
    assert status(sim).startswith("<Check|MPos:0.000,0.000,0.000")
    sim.feed(b"$C\n")
    assert replies(sim) == ["[MSG:Disabled]", "ok", "Grbl 1.1h ['$' for help]"]
    assert status(sim).startswith("<Idle|")


def test_status_report_fields_and_wco_refresh():
    sim = new_sim()
    first = status(sim)
    assert first == "<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:0.000,0.000,0.000>"
    assert status(sim) == "<Idle|MPos:0.000,0.000,0.000|FS:0,0|Ov:100,100,100>"
    assert status(sim) == "<Idle|MPos:0.000,0.000,0.000|FS:0,0>"
    sim.feed(b"G92 X-5\n$10=3\n")
    replies(sim)
    report = status(sim)
    assert "Bf:15,128" in report


def test_settings_from_grbl_servo_profile():
    profiles = pytest.importorskip("aikon.profiles")
    profile = profiles.load_profile("grbl-servo")
    s = settings_from_profile(profile)
    assert s[110] == profile.motion.travel_speed * 60
    assert s[120] == profile.motion.draw_acceleration
    assert s[11] == profile.motion.junction_deviation
    assert settings_from_profile(None) == DEFAULT_SETTINGS
    sim = new_sim(profile=profile)
    # Servo pen from the profile: M3 S30 is up, M3 S90 is down.
    sim.feed(b"M3 S30\nG1 X5 F1000\nM3 S90\nG1 X10\nM3 S30\n")
    sim.run_until_idle()
    np.testing.assert_allclose(sim.strokes()[0], [[5, 0], [10, 0]])
    # A move outside the work area is recorded.
    sim.feed(b"G0 X400\n")
    sim.run_until_idle()
    assert any(e["kind"] == "out_of_bounds" for e in sim.trace.events)


# ---- faults ------------------------------------------------------------------------

def test_fault_parsing():
    assert Fault.parse("disconnect-at=12") == Fault("disconnect-at", 12.0)
    assert Fault.parse("error-at=3:22") == Fault("error-at", 3.0, 22)
    assert Fault.parse("garble-rate=0.01").value == 0.01
    for bad in ("explode-at=3", "alarm-at=0", "garble-rate=2", "error-at=3:99", "stall-at=x"):
        with pytest.raises(ValueError):
            Fault.parse(bad)


def test_fault_error_at():
    sim = new_sim(faults=["error-at=2"])
    sim.feed(b"G21\nG0 X5\nG0 X6\n")
    assert replies(sim) == ["ok", "error:20", "ok"]
    sim.run_until_idle()
    assert sim.position[0] == pytest.approx(6.0)


def test_fault_disconnect_at_stops_motion_and_loses_position_on_power_up():
    sim = new_sim(faults=["disconnect-at=3"])
    sim.feed(b"M3 S1000\nG1 X100 F3000\n")
    sim.advance(1.0)
    assert replies(sim) == ["ok", "ok"]
    sim.feed(b"G1 X0\n")  # line 3: the board dies
    assert not sim.link_up
    assert sim.read() == b""
    where = sim.physical_position
    sim.advance(5.0)
    sim.feed(b"?")
    assert sim.read() == b"" and sim.physical_position == where
    stroke = sim.strokes()[0]
    assert stroke[-1][0] == pytest.approx(where[0]) and 0 < where[0] < 100
    sim.power_cycle()
    assert sim.read() == BANNER
    assert status(sim).startswith("<Idle|MPos:0.000,0.000,0.000")  # machine position restarts at 0
    sim.feed(b"M3 S1000\nG1 X10 F3000\n")  # draws 10 mm from where the carriage really is
    sim.run_until_idle()
    np.testing.assert_allclose(sim.strokes()[-1], [[where[0], 0], [where[0] + 10, 0]])
    # The user pushes the carriage back to the physical origin and confirms: drawing is true again.
    sim.feed(b"M5\nG92 X0 Y0\n")
    sim.run_until_idle()
    sim.place_carriage(0.0, 0.0)
    sim.feed(b"M3 S1000\nG1 X0 Y5 F3000\nM5\n")
    sim.run_until_idle()
    np.testing.assert_allclose(sim.strokes()[-1], [[0, 0], [0, 5]])


def test_fault_alarm_at_halts_until_reset():
    sim = new_sim(faults=["alarm-at=2"])
    sim.feed(b"M3 S1000\nG1 X100 F3000\nG1 X0\n")
    assert replies(sim) == ["ok", "ok", "ok"]
    sim.advance(3.0)
    assert replies(sim) == ["ALARM:1", "[MSG:Reset to continue]"]
    assert sim.position[0] == pytest.approx(50.0)  # half way through line 2
    sim.feed(b"?G0 X1\n")
    assert replies(sim) == []  # nothing is served until a reset
    sim.feed(b"\x18")
    assert replies(sim) == ["Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]"]
    assert status(sim).startswith("<Alarm|MPos:50.000")
    np.testing.assert_allclose(sim.strokes()[0], [[0, 0], [50, 0]])


def test_fault_stall_at_goes_silent():
    sim = new_sim(faults=["stall-at=2"])
    sim.feed(b"G0 X5\n")
    sim.advance(0.05)
    sim.feed(b"G0 X6\n?\x18")
    sim.advance(10)
    assert replies(sim) == ["ok"]
    assert sim.position[0] < 5.0  # frozen mid-move
    sim.power_cycle()
    assert sim.read() == BANNER


def test_fault_garble_is_seeded():
    def run(seed):
        sim = GrblSimulator(faults=["garble-rate=0.3"], seed=seed)
        for i in range(30):
            sim.feed(b"G21\n")
        return sim.read()

    a, b = run(1), run(1)
    assert a == b
    assert a != run(2)
    text = a.decode()
    assert text.count("\r\n") >= 31  # line ends are never garbled
    assert text.count("ok\r\n") < 30  # some replies were corrupted


def test_z_pen_lowered_in_the_planner_draws_the_next_moves():
    # Z starts up at 5 mm; everything is queued before anything runs.
    pen = {"kind": "z", "down_value": 0.0, "up_value": 5.0}
    sim = new_sim(pen=pen)
    sim.feed(b"G0 Z5\nG0 X5\nG1 Z0 F600\nG1 X15 F1200\nG0 Z5\nG0 X30\nG1 Z0 F600\nG1 Y10 F1200\nG0 Z5\n")
    assert replies(sim) == ["ok"] * 9
    sim.run_until_idle()
    traced = sim.strokes()
    assert len(traced) == 2
    np.testing.assert_allclose(traced[0], [[5, 0], [15, 0]])
    np.testing.assert_allclose(traced[1], [[30, 0], [30, 10]])


def test_feed_hold_suspends_a_dwell():
    sim = new_sim()
    sim.feed(b"G4 P1\nG0 X1\n")
    sim.advance(0.5)
    sim.feed(b"!")
    sim.advance(10.0)
    assert replies(sim) == []  # the dwell is frozen
    sim.feed(b"~")
    sim.advance(0.49)
    assert replies(sim) == []
    sim.advance(0.02)
    assert replies(sim) == ["ok", "ok"]


def test_jog_and_jog_cancel():
    sim = new_sim()
    sim.feed(b"$J=G91 X50 F3000\n")
    assert replies(sim) == ["ok"]
    sim.advance(0.3)
    assert status(sim).startswith("<Jog|")
    sim.feed(b"G0 X1\n")
    assert replies(sim) == ["error:9"]  # G-code is locked out while jogging
    sim.feed(bytes([0x85]))
    sim.advance(0.5)
    assert status(sim).startswith("<Idle|")
    x = sim.position[0]
    assert 0 < x < 50
    sim.feed(b"G91 G0 X1\n")  # the parser continues from where the jog stopped
    sim.run_until_idle()
    assert sim.position[0] == pytest.approx(x + 1)


@pytest.mark.parametrize("profile_name", ["grbl-servo", "grbl-z"])
def test_gcode_writer_output_runs_clean_and_trace_matches(profile_name):
    """The profile's G-code writer and the simulator agree: no error, same strokes, same time."""
    profiles = pytest.importorskip("aikon.profiles")
    gcode = pytest.importorskip("aikon.output.gcode")
    from aikon.drawing import Drawing, Layer, Page

    rng = np.random.default_rng(3)
    paths = [np.cumsum(rng.uniform(-4, 4, size=(12, 2)), axis=0) + [60 + 20 * i, 80] for i in range(5)]
    paths.append(np.array([[20.0, 20.0], [60.0, 20.0], [60.0, 60.0], [20.0, 60.0], [20.0, 20.0]]))
    drawing = Drawing(Page(210.0, 297.0), (Layer("lines", tuple(paths)),))
    profile = profiles.load_profile(profile_name)
    job = gcode.gcode_job(drawing, profile)
    sim = new_sim(profile=profile)
    answers = stream_counting(sim, list(job.lines), dt=0.002)
    assert answers.count("ok") == len(job.lines)
    assert not [a for a in answers if not (a == "ok" or a.startswith("<"))]
    sim.run_until_idle(step=0.002)
    expected, _ = gcode.machine_paths(drawing, profile)
    traced = sim.strokes()
    assert len(traced) == len(expected)
    for got, want in zip(traced, expected):
        np.testing.assert_allclose(got, want, atol=0.0006)  # 3 decimals in the G-code
    assert not [e for e in sim.trace.events if e["kind"] == "out_of_bounds"]
    # The host-side planner's estimate matches the simulated machine (the sender adds some latency).
    assert sim.time == pytest.approx(job.plan().duration, rel=0.02)


def test_homing_enabled_boots_locked_and_home_unlocks():
    sim = GrblSimulator(settings={22: 1})
    assert sim.read() == BANNER + b"[MSG:'$H'|'$X' to unlock]\r\n"
    sim.feed(b"G0 X1\n")
    assert replies(sim) == ["error:9"]
    sim.feed(b"$H\n")
    assert replies(sim) == []  # answered when the cycle is over
    assert status(sim).startswith("<Home|")
    sim.advance(1.0)
    assert replies(sim) == ["ok"]
    assert status(sim).startswith("<Idle|MPos:0.000,0.000,0.000")
