"""GRBL 1.1 line and word rules, modal interpretation and strokes (aikon.gcode_reader)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aikon.errors import InputError
from aikon.gcode_reader import (
    GcodeState,
    PenModel,
    check_grbl_line,
    check_grbl_program,
    clean_grbl_line,
    execute_block,
    interpret,
    is_stream_safe,
    pen_model_from,
    read_float,
    strokes_from_moves,
)
from aikon.plotter.grbl_codes import GRBL_ALARMS, GRBL_ERRORS, alarm_message, error_message


# ---- line filter -----------------------------------------------------------

def test_clean_strips_spaces_comments_and_uppercases():
    assert clean_grbl_line("g1 x1.5 (move) y-2 ; rest of line") == ("G1X1.5Y-2", False)
    assert clean_grbl_line("G0 (a (nested?) X5") == ("G0X5", False)  # ')' ends the comment, as in GRBL
    assert clean_grbl_line("/G0 X1\t") == ("G0X1", False)


def test_clean_drops_realtime_and_non_ascii_characters():
    assert clean_grbl_line("G1 X1?!~\x18 Y2 é") == ("G1X1Y2", False)
    assert not is_stream_safe("G1 X1 ?")
    assert not is_stream_safe("(café)")
    assert not is_stream_safe("G1 X1\r")
    assert is_stream_safe("G1 X1.000 Y2.000 F1500")


def test_line_length_limit_counts_after_stripping():
    body = "G1X" + "1" * 76            # 79 characters: accepted
    assert len(body) == 79
    assert check_grbl_line(body) is None
    assert check_grbl_line(body + "1") == 11  # 80: overflow
    # Spaces and comments do not count.
    assert check_grbl_line("G1 X" + "1" * 20 + " " * 100 + "(" + "c" * 100 + ")") is None


def test_read_float_follows_grbl():
    assert read_float("X-1.5Y", 1) == (-1.5, 5)
    assert read_float("X+.5", 1) == (0.5, 4)
    assert read_float("X.", 1) is None
    assert read_float("X-", 1) is None
    assert read_float("X1e3", 1) == (1.0, 2)  # no exponents: 'E' starts a new (unsupported) word


# ---- word rules: every error a sender can meet ------------------------------

@pytest.mark.parametrize("line, code", [
    ("G1 X1.2.3", 1),          # second '.' is not a letter
    ("1 G0", 1),
    ("G1 X", 2),
    ("G1 X-", 2),
    ("G1 X.", 2),
    ("$$X", 3),
    ("$RST=?", 3),
    ("G4 P-1", 4),
    ("G1 X1 F-100", 4),
    ("S-5", 4),
    ("$J=X10", 22),            # jog needs a feed rate
    ("$J=G1X10F100", 16),      # no G1 inside a jog
    ("G5 X1", 20),
    ("G1 E5", 20),             # extruder word
    ("G1 X1 A2", 20),
    ("M7", 20),                # mist coolant is not compiled in by default
    ("M280 P0 S90", 20),       # Marlin servo command
    ("G90.1", 20),
    ("G0 G1 X1", 24),          # two axis commands
    ("G28 G0 X1", 24),
    ("G20 G21", 21),           # modal group violation
    ("M3 M5", 21),
    ("G17 G18", 21),
    ("G1.5 X1", 23),
    ("G59.1", 23),
    ("G1 X1 X2", 25),
    ("F100 F200", 25),
    ("G10 L2 P1", 26),
    ("G92", 26),
    ("N99999999 G0 X1", 27),
    ("G4", 28),
    ("G10 X5", 28),
    ("G10 L2 P7 X5", 29),
    ("G53 G2 X1 Y1 I1", 30),
    ("G80 X1", 31),
    ("G2 Z1 I1", 32),
    ("G2 X10 R2", 34),
    ("G2 X10", 35),
    ("G2 X10 I1", 33),         # radius to start and end differ
    ("G0 X1 I1", 36),          # unused word
    ("G1 X1 P2", 36),
    ("G43.1 X2", 37),
    ("T300", 38),
])
def test_word_rule_errors(line, code):
    assert check_grbl_line(line) == code
    assert code in GRBL_ERRORS


@pytest.mark.parametrize("line", [
    "", "(only a comment)", "; nothing", "G21 G90", "G0 X10 Y10", "G1 X1 Y2 F1500", "M3 S1000", "M5",
    "G4 P0.25", "G2 X10 Y0 R5", "G2 X10 Y0 I5 J0", "G92 X0 Y0", "G10 L20 P1 X0", "G43.1 Z2", "G49",
    "G38.2 Z-10 F100", "G91.1", "G28", "G28.1", "G54", "T1", "N10 G0 X1", "$", "$$", "$X", "$H", "$G",
    "$#", "$I", "$C", "$N", "$SLP", "$RST=$", "$110=5000.5", "$N0=G21", "$J=G91 X10 F1000", "M2", "M30",
])
def test_valid_lines_pass(line):
    assert check_grbl_line(line) is None


def test_check_program_carries_modal_state():
    # G1 without any feed rate so far: error:22; G93 needs F on every G1 move.
    program = ["G21", "G1 X1", "G1 X1 F100", "G1 X5", "G93", "G1 X2", "G1 X3 F10", "G94", "G1 X4"]
    assert check_grbl_program(program) == [(2, 22), (6, 22), (9, 22)]


def test_failed_block_leaves_state_unchanged():
    state = GcodeState(feed_rate=100.0)
    result = execute_block(state, "G91G1X1E2")
    assert result.error == 20 and result.state is state


# ---- message tables --------------------------------------------------------

def test_code_tables_are_complete():
    assert sorted(GRBL_ERRORS) == [*range(1, 18), *range(20, 39)]
    assert sorted(GRBL_ALARMS) == list(range(1, 10))
    assert error_message(22).startswith("error:22 Undefined feed rate")
    assert alarm_message(1).startswith("ALARM:1 Hard limit")
    assert "unknown" in error_message(99)


# ---- interpretation ------------------------------------------------------------

def test_interpret_modal_motion_units_and_distance():
    moves = interpret(["G20 G90", "G0 X1 Y1", "G21 G91", "G1 X10 F600", "Y5", "G90 G0 X0 Y0"])
    assert [m.kind for m in moves] == ["rapid", "feed", "feed", "rapid"]
    assert moves[0].end == pytest.approx((25.4, 25.4, 0.0))
    assert moves[1].end == pytest.approx((35.4, 25.4, 0.0))
    assert moves[1].feed == 600.0
    assert moves[2].end == pytest.approx((35.4, 30.4, 0.0)) and moves[2].feed == 600.0  # modal G1 and F
    assert moves[3].end == (0.0, 0.0, 0.0) and moves[3].feed is None


def test_interpret_inch_feed_and_dwell_seconds():
    moves = interpret(["G20 G1 X1 F10", "G4 P1.5"])
    assert moves[0].feed == pytest.approx(254.0)
    assert moves[1].kind == "dwell" and moves[1].duration == 1.5


def test_servo_pen_and_strokes():
    program = ["G21 G90", "M5", "G0 X10 Y10", "M3 S1000", "G4 P0.1", "G1 X20 Y10 F1000", "G1 X20 Y20",
               "M5", "G0 X0 Y0", "M3 S1000", "G1 X5 Y0", "M5"]
    moves = interpret(program)
    pens = [m for m in moves if m.kind == "pen"]
    assert [p.pen_down for p in pens] == [True, False, True, False]
    assert not any(m.pen_down for m in moves if m.kind == "rapid")
    strokes = strokes_from_moves(moves)
    assert len(strokes) == 2
    np.testing.assert_allclose(strokes[0], [[10, 10], [20, 10], [20, 20]])
    np.testing.assert_allclose(strokes[1], [[0, 0], [5, 0]])


def test_servo_pen_with_up_and_down_values():
    pen = {"kind": "servo", "down_value": 30, "up_value": 90}
    moves = interpret(["M3 S90", "G0 X1", "M3 S30", "G1 X3 F100", "M3 S90", "G1 X4"], pen=pen)
    strokes = strokes_from_moves(moves)
    assert len(strokes) == 1
    np.testing.assert_allclose(strokes[0], [[1, 0], [3, 0]])


def test_z_pen_strokes():
    pen = PenModel("z", down_value=0.0, up_value=5.0)
    moves = interpret(["G0 Z5", "G0 X10 Y10", "G1 Z0 F300", "G1 X20 F1000", "G1 Y15", "G0 Z5", "G0 X0 Y0"],
                      pen=pen)
    strokes = strokes_from_moves(moves)
    assert len(strokes) == 1
    np.testing.assert_allclose(strokes[0], [[10, 10], [20, 10], [20, 15]])


def test_program_end_lifts_servo_pen():
    moves = interpret(["M3 S1000", "G1 X5 F100", "M2"])
    assert moves[-1].kind == "pen" and not moves[-1].pen_down


def test_arc_is_split_within_tolerance():
    moves = interpret(["M3 S1", "G0 X0 Y0", "G2 X10 Y0 I5 J0 F600"])
    stroke = strokes_from_moves(moves)[0]
    assert len(stroke) > 10
    np.testing.assert_allclose(stroke[-1], [10, 0])
    radii = np.hypot(stroke[:, 0] - 5, stroke[:, 1])
    np.testing.assert_allclose(radii, 5.0, atol=1e-9)
    # Clockwise from (0,0) around (5,0) goes through positive y.
    assert stroke[:, 1].max() == pytest.approx(5.0, abs=0.01)
    mids = (stroke[1:] + stroke[:-1]) / 2
    # GRBL floors the segment count, so the sagitta may exceed $12 by a hair.
    assert 5.0 - np.hypot(mids[:, 0] - 5, mids[:, 1]).min() <= 0.0025


def test_interpret_rejects_bad_line_with_number_and_meaning():
    with pytest.raises(InputError, match=r"line 2: error:20 Unsupported command"):
        interpret(["G0 X1", "G1 X2 E1 F100"])
    with pytest.raises(InputError, match=r"line 1: error:11"):
        interpret(["G1X" + "1" * 80])


def test_marlin_dialect_framing_servo_and_dwell_ms():
    pen = {"kind": "m280", "down_value": 40, "up_value": 90}
    lines = ["N1 G21*54", "N2 M280 P0 S90*99", "N3 G0 X5 Y5*1", "N4 M400*2", "N5 M280 P0 S40*3",
             "N6 G4 P150*4", "N7 G1 X9 Y5 F1200*5", "N8 M280 P0 S90*6"]
    moves = interpret(lines, pen=pen, dialect="marlin")
    dwell = [m for m in moves if m.kind == "dwell"][0]
    assert dwell.duration == pytest.approx(0.150)
    strokes = strokes_from_moves(moves)
    np.testing.assert_allclose(strokes[0], [[5, 5], [9, 5]])


def test_pen_model_from_variants():
    assert pen_model_from(None) == PenModel()
    assert pen_model_from({"type": "z", "down": -1.0, "up": 3.0}) == PenModel("z", -1.0, 3.0)

    class FakeProfile:
        pen = {"kind": "servo", "down_s": 1000, "up_s": 0}

    assert pen_model_from(FakeProfile()) == PenModel("servo", 1000.0, 0.0)
    with pytest.raises(ValueError):
        PenModel("laser")


def test_interpret_does_not_mutate_and_is_repeatable():
    program = ("G21", "M3 S1", "G1 X1 Y1 F100", "M5")
    assert interpret(program) == interpret(program)
    assert math.isclose(interpret(program)[1].end[0], 1.0)


def test_pen_model_from_bundled_profiles():
    profiles = pytest.importorskip("aikon.profiles")
    servo = pen_model_from(profiles.load_profile("grbl-servo"))
    assert servo.kind == "servo" and servo.servo_is_down("M3", 90) and not servo.servo_is_down("M3", 30)
    z = pen_model_from(profiles.load_profile("grbl-z"))
    assert z.kind == "z" and z.z_is_down(0.0) and not z.z_is_down(5.0)
