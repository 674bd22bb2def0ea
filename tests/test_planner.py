"""Motion planner: hand-computed trapezoids, triangles and corner speeds (to 1e-9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aikon.drawing import Drawing, Layer, Page, as_path
from aikon.planner import (
    Limits,
    Step,
    job_steps,
    junction_speed,
    limits_from_profile,
    plan_drawing,
    plan_steps,
    velocity_profile,
)
from aikon.profiles import load_profile

A = 500.0
JD = 0.01
PATH_LIMITS = Limits(draw_speed=50.0, travel_speed=100.0, draw_acceleration=A, travel_acceleration=1000.0,
                     junction_deviation=JD)
AXIS_LIMITS = Limits(draw_speed=50.0, travel_speed=100.0, draw_acceleration=A, travel_acceleration=A,
                     junction_deviation=JD, axis_limited=True)


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("AIKON_CONFIG_DIR", str(tmp_path / "config"))


def test_trapezoid_single_segment():
    plan = plan_steps([Step("draw", 100.0, 0.0)], PATH_LIMITS)
    # 0 -> 50 mm/s at 500 mm/s^2: 0.1 s over 2.5 mm, twice; 95 mm at 50 mm/s = 1.9 s
    assert plan.duration == pytest.approx(2.1, abs=1e-9)
    (block,) = plan.blocks
    assert block.profile.v_peak == 50.0
    assert block.profile.accel_time == pytest.approx(0.1, abs=1e-12)
    assert block.profile.cruise_time == pytest.approx(1.9, abs=1e-12)
    assert not block.profile.is_triangle


def test_triangle_short_segment():
    plan = plan_steps([Step("draw", 2.0, 0.0)], PATH_LIMITS)
    vp = math.sqrt(A * 2.0)  # v^2 = 2 a (L/2)
    (block,) = plan.blocks
    assert block.profile.v_peak == pytest.approx(vp, abs=1e-9)
    assert block.profile.is_triangle
    assert plan.duration == pytest.approx(2 * vp / A, abs=1e-9)


def test_travel_uses_travel_speed_and_acceleration():
    plan = plan_steps([Step("travel", 100.0, 0.0)], PATH_LIMITS)
    # 0 -> 100 mm/s at 1000 mm/s^2: 0.1 s over 5 mm, twice; 90 mm cruise = 0.9 s
    assert plan.duration == pytest.approx(1.1, abs=1e-9)


def test_velocity_profile_with_entry_and_exit_speeds():
    p = velocity_profile(10.0, 10.0, 50.0, 20.0, 500.0)
    d_acc = (50 ** 2 - 10 ** 2) / 1000
    d_dec = (50 ** 2 - 20 ** 2) / 1000
    assert p.accel_time == pytest.approx(40 / 500, abs=1e-12)
    assert p.decel_time == pytest.approx(30 / 500, abs=1e-12)
    assert p.cruise_time == pytest.approx((10 - d_acc - d_dec) / 50, abs=1e-12)
    assert p.distance_at(p.duration) == pytest.approx(10.0, abs=1e-9)
    assert p.distance_at(p.accel_time) == pytest.approx(d_acc, abs=1e-9)


@pytest.mark.parametrize("angle_deg", [30.0, 60.0, 90.0, 120.0, 150.0])
def test_junction_speed_formula(angle_deg):
    theta = math.radians(angle_deg)  # angle between the directions, 0 = straight on
    u_in = (1.0, 0.0)
    u_out = (math.cos(theta), math.sin(theta))
    # GRBL: cos = -u_in.u_out, sin(theta_j/2) = sqrt((1-cos)/2), v^2 = a jd s / (1 - s)
    s = math.sqrt((1.0 + math.cos(theta)) / 2.0)
    expected = math.sqrt(A * JD * s / (1.0 - s))
    assert junction_speed(u_in, u_out, A, JD) == pytest.approx(expected, abs=1e-9)


def test_junction_speed_straight_and_reversal():
    assert junction_speed((1.0, 0.0), (1.0, 0.0), A, JD) == math.inf
    assert junction_speed((1.0, 0.0), (-1.0, 0.0), A, JD) == 0.0


def test_right_angle_corner_plan():
    plan = plan_steps([Step("draw", 10.0, 0.0), Step("draw", 10.0, 10.0)], PATH_LIMITS)
    s = math.sqrt(0.5)
    vj = math.sqrt(A * JD * s / (1 - s))
    b1, b2 = plan.blocks
    assert b1.profile.v_final == pytest.approx(vj, abs=1e-9)
    assert b2.profile.v_initial == pytest.approx(vj, abs=1e-9)
    d_dec = (50 ** 2 - vj ** 2) / (2 * A)
    t1 = 0.1 + (10 - 2.5 - d_dec) / 50 + (50 - vj) / A
    assert b1.duration == pytest.approx(t1, abs=1e-9)
    assert plan.duration == pytest.approx(2 * t1, abs=1e-9)


def test_right_angle_corner_axis_limited_uses_junction_acceleration():
    plan = plan_steps([Step("draw", 10.0, 0.0), Step("draw", 10.0, 10.0)], AXIS_LIMITS)
    s = math.sqrt(0.5)
    a_j = A * math.sqrt(2)  # GRBL: acceleration along the junction vector (-1, 1)/sqrt(2)
    assert plan.blocks[0].profile.v_final == pytest.approx(math.sqrt(a_j * JD * s / (1 - s)), abs=1e-9)


def test_diagonal_rapid_is_faster_per_axis():
    plan = plan_steps([Step("travel", 100.0, 100.0, rapid=True)], AXIS_LIMITS)
    (block,) = plan.blocks
    # each axis at 100 mm/s and 500 mm/s^2: path 100*sqrt2 mm/s, 500*sqrt2 mm/s^2
    v, a, length = 100 * math.sqrt(2), A * math.sqrt(2), 100 * math.sqrt(2)
    assert block.profile.v_peak == pytest.approx(v, abs=1e-9)
    assert plan.duration == pytest.approx(2 * v / a + (length - v * v / a) / v, abs=1e-9)


def test_collinear_split_equals_one_segment():
    split = plan_steps([Step("draw", 30.0, 0.0), Step("draw", 100.0, 0.0)], PATH_LIMITS)
    assert split.duration == pytest.approx(2.1, abs=1e-9)


def test_reversal_stops():
    plan = plan_steps([Step("draw", 10.0, 0.0), Step("draw", 0.0, 0.0)], PATH_LIMITS)
    assert plan.blocks[0].profile.v_final == 0.0
    one = plan_steps([Step("draw", 10.0, 0.0)], PATH_LIMITS).duration
    assert plan.duration == pytest.approx(2 * one, abs=1e-9)


def test_pen_steps_and_dwells_stop_motion_and_add_time():
    steps = [Step("draw", 50.0, 0.0), Step("pen_up", seconds=0.0), Step("dwell", seconds=0.25),
             Step("draw", 100.0, 0.0)]
    plan = plan_steps(steps, PATH_LIMITS)
    one = 0.2 + 45 / 50  # 50 mm from rest to rest
    assert plan.duration == pytest.approx(2 * one + 0.25, abs=1e-9)
    assert plan.blocks[0].profile.v_final == 0.0


def test_zero_length_segment_takes_no_time_and_keeps_speed():
    plan = plan_steps([Step("draw", 50.0, 0.0), Step("draw", 50.0, 0.0), Step("draw", 100.0, 0.0)], PATH_LIMITS)
    assert plan.duration == pytest.approx(2.1, abs=1e-9)


def test_lookahead_caps_speed_on_tiny_segments():
    steps = [Step("draw", 0.1 * (i + 1), 0.0) for i in range(200)]
    lim = Limits(50.0, 100.0, A, A, JD, lookahead=15)
    plan = plan_steps(steps, lim)
    mid = plan.blocks[100].profile
    # from block i the firmware must be able to stop within 15 blocks = 1.5 mm
    assert mid.v_initial == pytest.approx(math.sqrt(2 * A * 1.5), abs=1e-9)
    unlimited = plan_steps(steps, Limits(50.0, 100.0, A, A, JD))
    assert unlimited.duration == pytest.approx(0.2 + 15 / 50, abs=1e-9)
    assert plan.duration > unlimited.duration


def test_requested_speed_capped_by_max_rate_when_axis_limited():
    plan = plan_steps([Step("draw", 100.0, 0.0, speed=500.0)], AXIS_LIMITS)
    assert plan.blocks[0].profile.v_peak == 100.0


def _square_drawing() -> Drawing:
    square = as_path([[10, 10], [30, 10], [30, 30], [10, 30], [10, 10]])
    line = as_path([[50, 20], [70, 20]])
    return Drawing(Page(100.0, 100.0), (Layer("lines", (square, line)),))


def test_plan_drawing_counts_pen_time_and_lengths():
    profile = load_profile("grbl-servo")
    plan = plan_drawing(_square_drawing(), profile)
    summary = plan.summary()
    assert summary["pen_lifts"] == 2
    assert summary["pen_down_mm"] == pytest.approx(100.0, abs=1e-9)
    # start (machine origin = page (0, 100)) -> (10,10) -> ... -> (50,20) -> park (0, 100)
    travel = math.hypot(10, 90) + math.hypot(40, 10) + math.hypot(70, 80)
    assert summary["pen_up_mm"] == pytest.approx(travel, abs=1e-9)
    # 3 lifts (start + 2 strokes) and 2 drops, each with its dwell; a servo moves instantly
    assert summary["pen_s"] == pytest.approx(3 * 0.15 + 2 * 0.15, abs=1e-12)
    assert plan.duration == pytest.approx(summary["draw_s"] + summary["travel_s"] + summary["pen_s"], abs=1e-9)
    assert len(plan.stroke_end_times) == 2


def test_z_pen_time_included():
    profile = load_profile("grbl-z")
    plan = plan_drawing(_square_drawing(), profile)
    per_move = 5.0 / 10.0 + 10.0 / 200.0  # 5 mm at 10 mm/s with 200 mm/s^2: L/v + v/a
    assert plan.summary()["pen_s"] == pytest.approx(5 * per_move + 3 * 0.05 + 2 * 0.05, abs=1e-12)


def test_time_remaining_decreases_to_the_park_travel():
    profile = load_profile("grbl-servo")
    plan = plan_drawing(_square_drawing(), profile)
    remaining = [plan.time_remaining_after_stroke(k) for k in (-1, 0, 1)]
    assert remaining[0] == pytest.approx(plan.duration)
    assert remaining[0] > remaining[1] > remaining[2] > 0
    last_block = plan.blocks[-1]
    assert remaining[2] == pytest.approx(last_block.duration, abs=1e-12)
    assert plan.time_remaining_after_step(len(plan.steps) - 1) == 0.0


def test_job_steps_lift_before_every_travel():
    profile = load_profile("marlin-servo")
    steps, stroke_steps = job_steps(_square_drawing().all_paths(), profile, start=(0, 0), park=(0, 0))
    pen_down = None
    for st in steps:
        if st.kind == "pen_up":
            pen_down = False
        elif st.kind == "pen_down":
            pen_down = True
        elif st.kind == "travel":
            assert pen_down is False
        elif st.kind == "draw":
            assert pen_down is True
    assert pen_down is False
    assert [steps[i].kind for i in stroke_steps] == ["dwell", "dwell"]


def test_job_steps_travel_to_the_first_point_even_from_there():
    # The carriage may not be at ``start``: the pen must not go down before a move to the first point.
    profile = load_profile("grbl-servo")
    path = np.array([[0.0, 0.0], [10.0, 0.0]])
    steps, _ = job_steps([path], profile, start=(0, 0), park=(0, 0))
    assert [st.kind for st in steps[:4]] == ["pen_up", "dwell", "travel", "pen_down"]
    assert (steps[2].x, steps[2].y) == (0.0, 0.0)


def test_plan_is_deterministic_and_input_untouched():
    drawing = _square_drawing()
    before = [p.copy() for p in drawing.all_paths()]
    profile = load_profile("axidraw-v3")
    a = plan_drawing(drawing, profile)
    b = plan_drawing(drawing, profile)
    assert a.duration == b.duration
    for p, q in zip(before, drawing.all_paths()):
        np.testing.assert_array_equal(p, q)
    assert limits_from_profile(profile).axis_limited is False


def test_block_position_at_follows_the_segment():
    plan = plan_steps([Step("draw", 100.0, 0.0)], PATH_LIMITS)
    (block,) = plan.blocks
    assert block.position_at(0.0) == (0.0, 0.0)
    assert block.position_at(0.1) == pytest.approx((2.5, 0.0))
    assert block.position_at(block.duration) == pytest.approx((100.0, 0.0))


def test_each_run_starts_at_rest_even_after_a_zero_length_step():
    steps = [Step("draw", 10.0, 0.0), Step("dwell", seconds=0.5), Step("draw", 10.0, 0.0), Step("draw", 10.0, 10.0)]
    plan = plan_steps(steps, PATH_LIMITS)
    one = plan_steps([Step("draw", 10.0, 0.0)], PATH_LIMITS).duration
    assert plan.duration == pytest.approx(2 * one + 0.5, abs=1e-9)
    assert plan.blocks[-1].profile.v_initial == 0.0
