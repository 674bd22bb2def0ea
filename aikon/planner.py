"""Motion planning and plot-time estimates (pure functions, mm and seconds).

In the spirit of saxi's ``planning.ts`` and GRBL's ``planner.c``:

* every straight segment gets a trapezoidal (or, when too short to reach its
  nominal speed, triangular) velocity profile under an acceleration limit;
* the speed allowed through the joint between two segments comes from GRBL's
  junction-deviation formula (:func:`junction_speed`);
* pen-down drawing and pen-up travel have their own speeds and accelerations;
* pen lifts/drops and dwells take their time and bring the machine to rest
  (GRBL and Marlin empty their planner before a spindle/servo change or a
  dwell, so each stroke starts and ends at rest). A Z pen move is a
  trapezoid at ``z_speed``/``z_acceleration``; GRBL blends the XY move before
  it into the Z move at a small junction speed, which this plan does not, so
  for Z pens the estimate runs up to about 1 % long (measured against the
  GRBL simulator in ``benchmarks/bench_estimate.py``; servo pens agree to 0.01 %).

For GRBL and Marlin the limits are per axis, as in the firmware: a diagonal
segment may go ``1/max(|ux|, |uy|)`` times faster and accelerate harder than an
axis-aligned one, G0 runs at the axis max rate (``travel_speed``), and only a
limited number of blocks (the firmware's planner buffer) can be looked ahead.
An EiBotBoard is planned on the host (like saxi), so there the limits apply to
the path speed and the whole stroke is looked ahead.

The input is a list of :class:`Step` records (what a G-code or EBB writer
emits, one record per command); :func:`job_steps` builds them for a set of
paths, :func:`plan_drawing` plans a drawing and :func:`plan_steps` plans any
step list (e.g. one read back from G-code). A :class:`Plan` has the per-step
end times, so a progress display can say how long is left after any step or
stroke.

Example
-------
>>> lim = Limits(draw_speed=50.0, travel_speed=100.0, draw_acceleration=500.0,
...              travel_acceleration=500.0, junction_deviation=0.01)
>>> plan = plan_steps([Step("draw", 100.0, 0.0)], lim)
>>> round(plan.duration, 9)   # 0.1 s up to 50 mm/s, 95 mm cruise, 0.1 s down
2.1
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from aikon.profiles import move_time

# GRBL's thresholds for "straight on" and "full reversal" junctions (planner.c).
_COS_STRAIGHT = -0.999999
_COS_REVERSAL = 0.999999
STEP_KINDS = ("draw", "travel", "pen_up", "pen_down", "dwell")
# Blocks the firmware sees beyond a junction when it commits the junction's speed.
# GRBL 1.1 and Marlin: BLOCK_BUFFER_SIZE 16 with one slot kept free = 15 blocks,
# and the speed entering block i is fixed while block i-1 (one of the 15) runs,
# so 14 blocks from i on must be able to stop. Checked against the simulator's
# GRBL planner (benchmarks/bench_estimate.py).
FIRMWARE_LOOKAHEAD = {"grbl": 14, "marlin": 14, "ebb": None}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Limits:
    """Machine limits the planner obeys.

    Attributes
    ----------
    draw_speed, travel_speed : float
        Nominal path speeds in mm/s for pen-down and pen-up moves. With
        ``axis_limited`` the travel speed is also the per-axis max rate
        (GRBL ``$110``/60): feed moves are capped by it and rapids run at it.
    draw_acceleration, travel_acceleration : float
        mm/s^2 (per axis when ``axis_limited``).
    junction_deviation : float
        mm (GRBL ``$11``).
    axis_limited : bool
        Firmware-style per-axis limits (GRBL, Marlin) instead of path limits (EBB/saxi).
    lookahead : int or None
        Blocks the firmware can look ahead (each block's entry speed must allow
        stopping by the end of the block ``lookahead - 1`` after it); None = unlimited.
    """

    draw_speed: float
    travel_speed: float
    draw_acceleration: float
    travel_acceleration: float
    junction_deviation: float
    axis_limited: bool = False
    lookahead: int | None = None


def limits_from_profile(profile) -> Limits:
    """:class:`Limits` from an :class:`aikon.profiles.Profile`."""
    m = profile.motion
    return Limits(draw_speed=m.draw_speed, travel_speed=m.travel_speed,
                  draw_acceleration=m.draw_acceleration, travel_acceleration=m.travel_acceleration,
                  junction_deviation=m.junction_deviation,
                  axis_limited=profile.firmware in ("grbl", "marlin"),
                  lookahead=FIRMWARE_LOOKAHEAD.get(profile.firmware))


@dataclass(frozen=True)
class Step:
    """One command of a job, machine-neutral.

    Attributes
    ----------
    kind : str
        ``"draw"`` (pen-down line to ``(x, y)``), ``"travel"`` (pen-up line),
        ``"pen_up"``, ``"pen_down"`` (the pen moves; ``seconds`` is the Z move
        time, 0 for a servo whose settling is a separate dwell), ``"dwell"``.
    x, y : float
        Target in mm for lines.
    speed : float or None
        Requested path speed in mm/s (a G1 F word / 60); None = the limit's
        draw or travel speed.
    rapid : bool
        A G0 travel (runs at the max rate).
    seconds : float
        Duration of pen moves and dwells.
    tag : int
        Caller's reference (stroke index, source line number); -1 = none.
    """

    kind: str
    x: float = 0.0
    y: float = 0.0
    speed: float | None = None
    rapid: bool = False
    seconds: float = 0.0
    tag: int = -1

    @property
    def is_line(self) -> bool:
        return self.kind in ("draw", "travel")


# --------------------------------------------------------------------------- small pure functions


def junction_speed(u_in: Sequence[float], u_out: Sequence[float], acceleration: float,
                   junction_deviation: float) -> float:
    """Highest speed (mm/s) through a joint, by GRBL's junction-deviation formula.

    Parameters
    ----------
    u_in, u_out : (2,) unit vectors
        Direction of the segment arriving at and leaving the joint.
    acceleration : float
        mm/s^2.
    junction_deviation : float
        mm.

    Returns
    -------
    float
        ``sqrt(a * jd * s / (1 - s))`` with ``s = sin(theta/2) = sqrt((1 - cos)/2)``
        and ``cos = -u_in . u_out``; ``inf`` for a straight joint, 0 for a reversal.

    >>> round(junction_speed((1, 0), (0, 1), 500.0, 0.01), 9)  # 90 degree corner
    3.474344228
    """
    cos_theta = -(u_in[0] * u_out[0] + u_in[1] * u_out[1])
    if cos_theta > _COS_REVERSAL:
        return 0.0
    if cos_theta < _COS_STRAIGHT:
        return math.inf
    sin_half = math.sqrt(0.5 * (1.0 - cos_theta))
    return math.sqrt(acceleration * junction_deviation * sin_half / (1.0 - sin_half))


@dataclass(frozen=True)
class VelocityProfile:
    """Trapezoid (or triangle when ``cruise_time == 0``) over one segment; mm, s, mm/s."""

    length: float
    v_initial: float
    v_peak: float
    v_final: float
    acceleration: float
    accel_time: float
    cruise_time: float
    decel_time: float

    @property
    def duration(self) -> float:
        return self.accel_time + self.cruise_time + self.decel_time

    @property
    def is_triangle(self) -> bool:
        return self.cruise_time == 0.0

    def distance_at(self, t: float) -> float:
        """Distance travelled (mm) after ``t`` seconds into the segment."""
        t = min(max(t, 0.0), self.duration)
        a = self.acceleration
        if t <= self.accel_time:
            return self.v_initial * t + 0.5 * a * t * t
        d = self.v_initial * self.accel_time + 0.5 * a * self.accel_time ** 2
        t -= self.accel_time
        if t <= self.cruise_time:
            return d + self.v_peak * t
        d += self.v_peak * self.cruise_time
        t -= self.cruise_time
        return min(self.length, d + self.v_peak * t - 0.5 * a * t * t)


def velocity_profile(length: float, v_initial: float, v_max: float, v_final: float,
                     acceleration: float) -> VelocityProfile:
    """Fastest motion over ``length`` mm from ``v_initial`` to ``v_final`` without exceeding ``v_max``.

    Trapezoid: accelerate to ``v_max``, cruise, decelerate. Triangle when the
    segment is too short to reach ``v_max``: the peak is
    ``sqrt((2 a L + vi^2 + vf^2) / 2)``. ``v_initial`` and ``v_final`` must be
    reachable from each other within ``length`` (the planner's passes ensure it).

    >>> p = velocity_profile(2.0, 0.0, 50.0, 0.0, 500.0)   # too short for 50 mm/s
    >>> round(p.v_peak ** 2, 9), p.cruise_time
    (1000.0, 0.0)
    """
    if length <= 0.0:
        return VelocityProfile(0.0, v_initial, v_initial, v_final, acceleration, 0.0, 0.0, 0.0)
    a = acceleration
    peak_sq = (2.0 * a * length + v_initial ** 2 + v_final ** 2) / 2.0
    if v_max * v_max < peak_sq:
        vp = v_max
        d_acc = (vp * vp - v_initial ** 2) / (2.0 * a)
        d_dec = (vp * vp - v_final ** 2) / (2.0 * a)
        cruise = max(0.0, length - d_acc - d_dec) / vp
    else:
        vp = math.sqrt(peak_sq)
        cruise = 0.0
    vp = max(vp, v_initial, v_final)  # rounding guard
    return VelocityProfile(length, v_initial, vp, v_final, a, (vp - v_initial) / a, cruise, (vp - v_final) / a)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Block:
    """One planned straight segment (a view on a :class:`Plan` row)."""

    step: int
    start: tuple[float, float]
    end: tuple[float, float]
    pen_down: bool
    profile: VelocityProfile
    start_time: float

    @property
    def duration(self) -> float:
        return self.profile.duration

    def position_at(self, t: float) -> tuple[float, float]:
        """Position (mm) ``t`` seconds after the block started."""
        if self.profile.length == 0.0:
            return self.end
        f = self.profile.distance_at(t) / self.profile.length
        return (self.start[0] + f * (self.end[0] - self.start[0]), self.start[1] + f * (self.end[1] - self.start[1]))


@dataclass(frozen=True)
class Plan:
    """A planned job.

    Attributes
    ----------
    steps : tuple of Step
    step_end_times : (M,) float64
        Seconds from the start of the job at which each step is finished.
    segments : dict of arrays
        One row per line step: ``step`` (index), ``start``/``end`` (S, 2) mm,
        ``length``, ``v_initial``, ``v_peak``, ``v_final`` (mm/s),
        ``acceleration`` (mm/s^2), ``accel_time``, ``cruise_time``,
        ``decel_time`` (s), ``pen_down`` (bool).
    stroke_steps : (K,) int
        For plans of a drawing: index of the last step of each stroke (the
        dwell after its pen lift), so ``step_end_times[stroke_steps]`` are the
        times at which each stroke is done.
    """

    steps: tuple[Step, ...]
    step_end_times: np.ndarray
    segments: dict[str, np.ndarray]
    stroke_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def duration(self) -> float:
        """Total plan time in seconds (the plot-time estimate)."""
        return float(self.step_end_times[-1]) if len(self.step_end_times) else 0.0

    @property
    def stroke_end_times(self) -> np.ndarray:
        """(K,) seconds from the start at which each stroke is finished (pen lifted)."""
        return self.step_end_times[self.stroke_steps]

    def time_remaining_after_step(self, index: int) -> float:
        """Seconds left once step ``index`` is done (``-1``: before anything ran)."""
        if index < 0:
            return self.duration
        return self.duration - float(self.step_end_times[index])

    def time_remaining_after_stroke(self, index: int) -> float:
        """Seconds left once stroke ``index`` is finished (``-1``: before the first stroke)."""
        if index < 0:
            return self.duration
        return self.duration - float(self.step_end_times[self.stroke_steps[index]])

    @property
    def blocks(self) -> list[Block]:
        """The planned segments as :class:`Block` records (built on demand)."""
        s = self.segments
        starts = self.step_end_times[s["step"]] - (s["accel_time"] + s["cruise_time"] + s["decel_time"])
        out = []
        for i in range(len(s["step"])):
            prof = VelocityProfile(float(s["length"][i]), float(s["v_initial"][i]), float(s["v_peak"][i]),
                                   float(s["v_final"][i]), float(s["acceleration"][i]), float(s["accel_time"][i]),
                                   float(s["cruise_time"][i]), float(s["decel_time"][i]))
            out.append(Block(int(s["step"][i]), (float(s["start"][i, 0]), float(s["start"][i, 1])),
                             (float(s["end"][i, 0]), float(s["end"][i, 1])), bool(s["pen_down"][i]), prof,
                             float(starts[i])))
        return out

    def summary(self) -> dict[str, float | int]:
        """Totals users compare: times (s), lengths (mm), pen lifts."""
        s = self.segments
        seg_time = s["accel_time"] + s["cruise_time"] + s["decel_time"]
        down = s["pen_down"]
        pen_time = sum(st.seconds for st in self.steps if not st.is_line)
        return {
            "duration_s": self.duration,
            "draw_s": float(seg_time[down].sum()),
            "travel_s": float(seg_time[~down].sum()),
            "pen_s": float(pen_time),
            "pen_down_mm": float(s["length"][down].sum()),
            "pen_up_mm": float(s["length"][~down].sum()),
            "pen_lifts": sum(1 for st in self.steps if st.kind == "pen_down"),
        }


def _axis_factor(ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """1 / max(|ux|, |uy|): how much a per-axis limit stretches along a direction."""
    m = np.maximum(np.abs(ux), np.abs(uy))
    return np.where(m > 0, 1.0 / np.where(m > 0, m, 1.0), 1.0)


def _plan_segments(starts: np.ndarray, ends: np.ndarray, pen_down: np.ndarray, speed: np.ndarray,
                   rapid: np.ndarray, run_id: np.ndarray, limits: Limits) -> dict[str, np.ndarray]:
    """Plan line segments; each run (same ``run_id``) starts and ends at rest.

    All runs are planned in one pass: the first moving segment of a run may
    not be entered faster than 0, which the backward pass carries into the
    end of the previous run.
    """
    delta = ends - starts
    length = np.hypot(delta[:, 0], delta[:, 1])
    n = len(length)
    moving = length > 0.0
    u = np.zeros_like(delta)
    u[moving] = delta[moving] / length[moving, None]
    base_acc = np.where(pen_down, limits.draw_acceleration, limits.travel_acceleration)
    if limits.axis_limited:
        factor = _axis_factor(u[:, 0], u[:, 1])
        acc = base_acc * factor
        max_rate = limits.travel_speed * factor
        nominal = np.where(rapid, max_rate, np.minimum(speed, max_rate))
    else:
        acc = base_acc
        nominal = np.where(rapid, limits.travel_speed, speed)

    # Junction limits between consecutive moving segments (zero-length ones are
    # dropped by the firmware and take no time).
    idx = np.flatnonzero(moving)
    max_entry = np.zeros(n)
    if len(idx) > 1:
        u_prev, u_cur = u[idx[:-1]], u[idx[1:]]
        cos_theta = -(u_prev[:, 0] * u_cur[:, 0] + u_prev[:, 1] * u_cur[:, 1])
        a_j = base_acc[idx[1:]].astype(np.float64)
        if limits.axis_limited:
            # GRBL: the acceleration along the junction vector (u_cur - u_prev), limited per axis
            jv = u_cur - u_prev
            norm = np.hypot(jv[:, 0], jv[:, 1])
            ok = norm > 0
            safe = np.where(ok, norm, 1.0)
            a_j = np.where(ok, a_j * _axis_factor(jv[:, 0] / safe, jv[:, 1] / safe), a_j)
        sin_half = np.sqrt(np.clip(0.5 * (1.0 - cos_theta), 0.0, 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            vj = np.sqrt(a_j * limits.junction_deviation * sin_half / (1.0 - sin_half))
        vj = np.where(cos_theta > _COS_REVERSAL, 0.0, np.where(cos_theta < _COS_STRAIGHT, np.inf, vj))
        max_entry[idx[1:]] = np.minimum(vj, np.minimum(nominal[idx[:-1]], nominal[idx[1:]]))
    if len(idx):
        run_of = run_id[idx]
        first_of_run = np.concatenate(([True], run_of[1:] != run_of[:-1]))
        max_entry[idx[first_of_run]] = 0.0

    m_len, m_acc = length[idx], acc[idx]
    m_entry = max_entry[idx].copy()
    cnt = len(idx)
    two_al = 2.0 * m_acc * m_len
    if limits.lookahead is not None and cnt:
        # Stop-within-lookahead cap: from block i the firmware only knows blocks i..i+W-1.
        csum = np.concatenate(([0.0], np.cumsum(two_al)))
        hi = np.minimum(np.arange(cnt) + limits.lookahead, cnt)
        cap = np.sqrt(csum[hi] - csum[:cnt])
        m_entry = np.minimum(m_entry, cap)
    entry = m_entry.tolist()
    tal = two_al.tolist()
    # backward pass: every entry must allow slowing to the next entry (0 after the last)
    nxt = 0.0
    for k in range(cnt - 1, -1, -1):
        v = math.sqrt(nxt * nxt + tal[k])
        if v < entry[k]:
            entry[k] = v
        nxt = entry[k]
    # forward pass: every exit must be reachable from the entry
    exits = [0.0] * cnt
    for k in range(cnt):
        v_next = entry[k + 1] if k + 1 < cnt else 0.0
        reach = math.sqrt(entry[k] * entry[k] + tal[k])
        if reach < v_next:
            v_next = reach
            entry[k + 1] = reach
        exits[k] = v_next

    vi = np.zeros(n)
    vf = np.zeros(n)
    vi[idx] = entry
    vf[idx] = exits
    # zero-length segments carry the speed of the surrounding motion (no time)
    vp, t_acc, t_cru, t_dec = _profiles(length, vi, nominal, vf, acc)
    return {"start": starts, "end": ends, "length": length, "v_initial": vi, "v_peak": vp, "v_final": vf,
            "acceleration": acc, "accel_time": t_acc, "cruise_time": t_cru, "decel_time": t_dec,
            "pen_down": pen_down.astype(bool)}


def _profiles(length, vi, vmax, vf, a):
    """Vectorised :func:`velocity_profile`: (v_peak, accel_time, cruise_time, decel_time)."""
    safe_a = np.where(a > 0, a, 1.0)
    peak_sq = (2.0 * a * length + vi * vi + vf * vf) / 2.0
    trapezoid = vmax * vmax < peak_sq
    vp = np.where(trapezoid, vmax, np.sqrt(np.maximum(peak_sq, 0.0)))
    vp = np.maximum(vp, np.maximum(vi, vf))
    d_acc = (vp * vp - vi * vi) / (2.0 * safe_a)
    d_dec = (vp * vp - vf * vf) / (2.0 * safe_a)
    safe_vp = np.where(vp > 0, vp, 1.0)
    cruise = np.where(trapezoid, np.maximum(0.0, length - d_acc - d_dec) / safe_vp, 0.0)
    moving = length > 0
    t_acc = np.where(moving, (vp - vi) / safe_a, 0.0)
    t_dec = np.where(moving, (vp - vf) / safe_a, 0.0)
    return vp, t_acc, np.where(moving, cruise, 0.0), t_dec


def plan_steps(steps: Sequence[Step], limits: Limits, *, start: Sequence[float] = (0.0, 0.0),
               stroke_steps: Sequence[int] | None = None) -> Plan:
    """Plan a list of steps.

    Parameters
    ----------
    steps : sequence of Step
    limits : Limits
        (use :func:`limits_from_profile` for a profile).
    start : (2,) mm
        Position before the first step.
    stroke_steps : sequence of int, optional
        Step index ending each stroke (see :attr:`Plan.stroke_steps`).

    Returns
    -------
    Plan
    """
    steps = tuple(steps)
    n_steps = len(steps)
    step_dur = np.zeros(n_steps)
    pos = (float(start[0]), float(start[1]))
    line_idx: list[int] = []
    seg_start: list[tuple[float, float]] = []
    seg_end: list[tuple[float, float]] = []
    for i, st in enumerate(steps):
        if st.kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {st.kind!r}")
        if st.is_line:
            line_idx.append(i)
            seg_start.append(pos)
            pos = (float(st.x), float(st.y))
            seg_end.append(pos)
        else:
            if st.seconds < 0:
                raise ValueError("step durations must not be negative")
            step_dur[i] = st.seconds

    line_idx_arr = np.asarray(line_idx, dtype=np.int64)
    keys = ("start", "end", "length", "v_initial", "v_peak", "v_final", "acceleration", "accel_time",
            "cruise_time", "decel_time", "pen_down")
    if len(line_idx_arr):
        starts = np.asarray(seg_start, dtype=np.float64)
        ends = np.asarray(seg_end, dtype=np.float64)
        pen_down = np.array([steps[i].kind == "draw" for i in line_idx], dtype=bool)
        speed = np.array([(steps[i].speed if steps[i].speed is not None else
                           (limits.draw_speed if steps[i].kind == "draw" else limits.travel_speed))
                          for i in line_idx], dtype=np.float64)
        if np.any(speed <= 0):
            raise ValueError("line speeds must be positive")
        rapid = np.array([steps[i].rapid for i in line_idx], dtype=bool)
        # runs: consecutive line steps with nothing between them
        run_id = np.concatenate(([0], np.cumsum(np.diff(line_idx_arr) != 1)))
        segments = _plan_segments(starts, ends, pen_down, speed, rapid, run_id, limits)
        step_dur[line_idx_arr] = segments["accel_time"] + segments["cruise_time"] + segments["decel_time"]
    else:
        segments = {k: np.zeros((0, 2) if k in ("start", "end") else 0, dtype=bool if k == "pen_down" else float)
                    for k in keys}
    segments["step"] = line_idx_arr
    stroke = np.asarray(stroke_steps if stroke_steps is not None else [], dtype=np.int64)
    return Plan(steps=steps, step_end_times=np.cumsum(step_dur), segments=segments, stroke_steps=stroke)


# Alias: plan a generic move list (e.g. steps read back from G-code).
plan_moves = plan_steps


# --------------------------------------------------------------------------- jobs


def job_steps(paths: Iterable[np.ndarray], profile, *, start: Sequence[float],
              park: Sequence[float] | None) -> tuple[list[Step], list[int]]:
    """The command sequence every writer emits for ``paths`` (in one coordinate frame).

    Pen up (+ dwell) at the start; for each path: travel to its first point
    (always for the first path, even when ``start`` is already there: the
    pen must never go down wherever the carriage happens to be), pen down
    (+ dwell), draw, pen up (+ dwell); finally travel to ``park`` (always,
    even when already there).
    A travel is written as G0 (rapid) when the profile's ``gcode.travel_command``
    is ``"G0"`` (and always for an EBB, whose travel runs at ``travel_speed``).

    Returns
    -------
    steps : list of Step
        Draw steps carry the stroke index as ``tag``.
    stroke_steps : list of int
        Index of the last step (the dwell after the lift) of each stroke.
    """
    rapid = profile.gcode is not None and profile.gcode.travel_command == "G0"
    pen_s = profile.pen.z_travel_time
    up_d, down_d = profile.pen.up_delay, profile.pen.down_delay
    steps: list[Step] = [Step("pen_up", seconds=pen_s), Step("dwell", seconds=up_d)]
    stroke_steps: list[int] = []
    pos = (float(start[0]), float(start[1]))
    k = -1
    for path in paths:
        if len(path) == 0:
            continue
        k += 1
        p0 = (float(path[0][0]), float(path[0][1]))
        if p0 != pos or k == 0:  # the first travel always: the carriage may not be where the job assumes
            steps.append(Step("travel", p0[0], p0[1], rapid=rapid, tag=k))
        steps.append(Step("pen_down", seconds=pen_s, tag=k))
        steps.append(Step("dwell", seconds=down_d, tag=k))
        for x, y in path[1:]:
            steps.append(Step("draw", float(x), float(y), tag=k))
        pos = (float(path[-1][0]), float(path[-1][1]))
        steps.append(Step("pen_up", seconds=pen_s, tag=k))
        steps.append(Step("dwell", seconds=up_d, tag=k))
        stroke_steps.append(len(steps) - 1)
    if park is not None:  # always written: the start position may not be where the job assumed
        steps.append(Step("travel", float(park[0]), float(park[1]), rapid=rapid))
    return steps, stroke_steps


def plan_drawing(drawing, profile, *, park: bool = True) -> Plan:
    """Plan a drawing on a machine: the plot-time estimate and progress timeline.

    Parameters
    ----------
    drawing : aikon.drawing.Drawing
        Page coordinates in mm; layers drawn in order.
    profile : aikon.profiles.Profile
    park : bool
        Include the final travel to the profile's park position.

    Returns
    -------
    Plan
        ``plan.duration`` in seconds; ``plan.stroke_end_times`` per path in
        drawing order. The job starts at the machine origin with the pen in an
        unknown state (so it is lifted first). Homing time is not included.
    """
    frame = profile.frame(drawing.page.width, drawing.page.height)
    start = frame.to_page(np.zeros((1, 2)))[0]
    park_pt = frame.to_page(np.asarray([profile.end.park], dtype=np.float64))[0] if park else None
    steps, stroke_steps = job_steps(drawing.all_paths(), profile, start=start, park=park_pt)
    return plan_steps(steps, limits_from_profile(profile), start=start, stroke_steps=stroke_steps)


def steps_from_gcode_moves(moves: Iterable, *, z_speed: float | None = None,
                           z_acceleration: float | None = None) -> tuple[list[Step], tuple[float, float]]:
    """Planner steps from moves read back from G-code (:func:`aikon.gcode_reader.interpret`).

    Parameters
    ----------
    moves : iterable of aikon.gcode_reader.Move
        ``kind`` rapid/feed/dwell/pen, ``start``/``end`` (x, y, z) machine mm,
        ``feed`` mm/min, ``pen_down``, ``duration`` s, ``line`` (1-based).
    z_speed : float, optional
        mm/s for Z-only rapids (a Z pen moved with G0); default: 10 mm/s.
    z_acceleration : float, optional
        mm/s^2 for Z-only moves (from rest to rest); default: 200 mm/s^2 (GRBL's ``$122``).

    Returns
    -------
    steps : list of Step
        ``tag`` is the source line number. A Z-only move (a Z pen) becomes a
        timed ``dwell`` step (a trapezoid at its feed); pen changes become ``pen_up``/``pen_down``.
    start : (x, y)
        Position before the first move.
    """
    steps: list[Step] = []
    start: tuple[float, float] | None = None
    for m in moves:
        if start is None:
            start = (float(m.start[0]), float(m.start[1]))
        if m.kind == "dwell":
            steps.append(Step("dwell", seconds=float(m.duration), tag=m.line))
        elif m.kind == "pen":
            steps.append(Step("pen_down" if m.pen_down else "pen_up", tag=m.line))
        elif m.kind in ("rapid", "feed"):
            dx, dy = m.end[0] - m.start[0], m.end[1] - m.start[1]
            dz = abs(m.end[2] - m.start[2])
            if dx == 0.0 and dy == 0.0:
                if dz > 0.0:
                    speed = (m.feed / 60.0) if (m.kind == "feed" and m.feed) else (z_speed or 10.0)
                    steps.append(Step("dwell", seconds=move_time(dz, speed, z_acceleration or 200.0), tag=m.line))
                continue
            speed = (m.feed / 60.0) if (m.kind == "feed" and m.feed) else None
            steps.append(Step("draw" if m.pen_down else "travel", float(m.end[0]), float(m.end[1]),
                              speed=speed, rapid=m.kind == "rapid", tag=m.line))
    return steps, (start if start is not None else (0.0, 0.0))
