"""The simulator's motion core: GRBL 1.1's look-ahead planner, executed on a virtual clock.

Follows ``grbl/planner.c``: each straight block gets a nominal speed (the
programmed feed or the axis-limited maximum rate ``$110..$112``), an
acceleration limited per axis (``$120..$122``), and a maximum entry speed from
the junction-deviation rule (``$11``) at the corner with the previous block. A
block added while the planner is empty starts from rest. After every change
(new block, feed hold, resume, override) a reverse pass from the last block
(which must be able to stop) and a forward pass from the executing block's
current speed give every block its entry speed. The executing block then runs
a trapezoid (accelerate, cruise, decelerate) towards the next block's entry
speed, integrated exactly (no time steps): :meth:`MotionPlanner.advance`
stops at phase ends, block ends and requested distances.

Units: mm, mm/s, mm/s^2, seconds (feeds come in as mm/min, as in G-code).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

from aikon.plotter.grbl_codes import PLANNER_BLOCKS

_EPS = 1e-9
SOME_LARGE_VALUE = 1.0e38
MINIMUM_FEED_RATE = 1.0  # mm/min, GRBL's floor for a nominal speed


def limit_by_axis_maximum(limits: Sequence[float], unit: Sequence[float]) -> float:
    """GRBL's ``limit_value_by_axis_maximum``: the largest vector magnitude within every axis limit."""
    best = SOME_LARGE_VALUE
    for limit, u in zip(limits, unit):
        if u != 0.0:
            best = min(best, abs(limit / u))
    return best


def junction_speed_sqr(prev_unit: Sequence[float], unit: Sequence[float], accelerations: Sequence[float],
                       junction_deviation: float) -> float:
    """Maximum speed squared (mm^2/s^2) through the corner between two unit vectors (GRBL's formula)."""
    cos_theta = -sum(p * u for p, u in zip(prev_unit, unit))
    if cos_theta > 0.999999:
        return 0.0  # full reversal: stop
    if cos_theta < -0.999999:
        return SOME_LARGE_VALUE  # straight on
    junction = [u - p for p, u in zip(prev_unit, unit)]
    norm = math.sqrt(sum(j * j for j in junction))
    junction_unit = [j / norm for j in junction]
    junction_acceleration = limit_by_axis_maximum(accelerations, junction_unit)
    sin_theta_d2 = math.sqrt(0.5 * (1.0 - cos_theta))
    return max(0.0, junction_acceleration * junction_deviation * sin_theta_d2 / (1.0 - sin_theta_d2))


def trapezoid_time(length: float, speed: float, acceleration: float, entry: float = 0.0, exit: float = 0.0) -> float:
    """Seconds to travel ``length`` mm from ``entry`` to ``exit`` speed, cruising at most at ``speed``.

    The closed form the simulator must match: with ``entry = exit = 0`` it is
    ``L/v + v/a`` when ``L >= v^2/a``, else ``2*sqrt(L/a)`` (a triangle).
    """
    peak_sqr = (entry * entry + exit * exit) / 2.0 + acceleration * length
    if peak_sqr >= speed * speed:
        d_acc = (speed * speed - entry * entry) / (2 * acceleration)
        d_dec = (speed * speed - exit * exit) / (2 * acceleration)
        return (speed - entry) / acceleration + (speed - exit) / acceleration + (length - d_acc - d_dec) / speed
    peak = math.sqrt(peak_sqr)
    return (peak - entry) / acceleration + (peak - exit) / acceleration


@dataclass
class Block:
    """One straight move in the planner (machine mm)."""

    kind: str                       # rapid | feed | probe | jog
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    length: float                   # mm
    unit: tuple[float, float, float]
    programmed_speed: float         # mm/s before overrides (rapids: the axis-limited max rate)
    max_rate: float                 # mm/s, axis-limited
    acceleration: float             # mm/s^2, axis-limited
    max_junction_speed_sqr: float   # mm^2/s^2 at the entry corner
    line: int                       # received-line index that produced the block
    tag: object = None              # free for the caller (e.g. pen state)
    entry_speed: float = 0.0        # planned, mm/s
    traveled: float = 0.0           # mm done (executing block only)

    def point_at(self, distance: float) -> tuple[float, float, float]:
        s = min(max(distance, 0.0), self.length)
        return (self.start[0] + self.unit[0] * s, self.start[1] + self.unit[1] * s,
                self.start[2] + self.unit[2] * s)


@dataclass
class StepResult:
    """What :meth:`MotionPlanner.advance` did: time used and the block finished, if any."""

    used: float
    finished: Block | None = None
    reached_limit: bool = False
    hold_complete: bool = False


@dataclass
class MotionPlanner:
    """GRBL's 16-slot ring buffer (15 usable blocks) and the executing block's motion.

    Parameters
    ----------
    max_rates : 3 floats
        ``$110..$112`` in mm/min.
    accelerations : 3 floats
        ``$120..$122`` in mm/s^2.
    junction_deviation : float
        ``$11`` in mm.
    """

    max_rates: tuple[float, float, float]
    accelerations: tuple[float, float, float]
    junction_deviation: float
    capacity: int = PLANNER_BLOCKS - 1
    blocks: deque = field(default_factory=deque)
    speed: float = 0.0                  # current speed of the executing block, mm/s
    hold: bool = False                  # feed hold: decelerate to a stop
    feed_override: int = 100            # percent
    rapid_override: int = 100           # percent
    _previous_unit: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _exit_speeds: list = field(default_factory=list)

    # ---- queue -------------------------------------------------------------------
    @property
    def is_full(self) -> bool:
        return len(self.blocks) >= self.capacity

    @property
    def is_empty(self) -> bool:
        return not self.blocks

    @property
    def available(self) -> int:
        return self.capacity - len(self.blocks)

    def clear(self) -> None:
        """Drop every block and stop at once (a reset or an alarm)."""
        self.blocks.clear()
        self.speed = 0.0
        self.hold = False
        self._exit_speeds = []

    def add(self, kind: str, start: Sequence[float], end: Sequence[float], feed: float | None, line: int,
            tag: object = None) -> Block | None:
        """Append a straight move; ``feed`` in mm/min (None: rapid). Zero-length moves add nothing."""
        delta = [e - s for s, e in zip(start, end)]
        length = math.sqrt(sum(d * d for d in delta))
        if length < 1e-9:
            return None
        unit = (delta[0] / length, delta[1] / length, delta[2] / length)
        max_rate = limit_by_axis_maximum([r / 60.0 for r in self.max_rates], unit)
        acceleration = limit_by_axis_maximum(self.accelerations, unit)
        if feed is None:
            programmed = max_rate
        else:
            programmed = max(feed, MINIMUM_FEED_RATE) / 60.0
        if not self.blocks:
            junction = 0.0  # starting from rest
        else:
            junction = junction_speed_sqr(self._previous_unit, unit, self.accelerations, self.junction_deviation)
        block = Block(kind, (start[0], start[1], start[2]), (end[0], end[1], end[2]), length, unit, programmed,
                      max_rate, acceleration, junction, line, tag)
        self.blocks.append(block)
        self._previous_unit = unit
        self.replan()
        return block

    # ---- planning ------------------------------------------------------------------
    def nominal_speed(self, block: Block) -> float:
        """Speed the block cruises at, with overrides, mm/s."""
        percent = self.rapid_override if block.kind == "rapid" else self.feed_override
        if block.kind == "jog":
            percent = 100
        return min(block.programmed_speed * percent / 100.0, block.max_rate)

    def replan(self) -> None:
        """Reverse then forward pass over the queue (GRBL's planner_recalculate)."""
        blocks = self.blocks
        n = len(blocks)
        if n == 0:
            self._exit_speeds = []
            return
        nominal = [self.nominal_speed(b) for b in blocks]
        entry = [0.0] * (n + 1)  # entry[n] = exit of the last block = 0
        for i in range(n - 1, 0, -1):
            b = blocks[i]
            max_entry_sqr = min(b.max_junction_speed_sqr, nominal[i] ** 2, nominal[i - 1] ** 2)
            entry[i] = math.sqrt(min(max_entry_sqr, entry[i + 1] ** 2 + 2 * b.acceleration * b.length))
        # Forward pass from the executing block's current state.
        first = blocks[0]
        reachable = math.sqrt(self.speed ** 2 + 2 * first.acceleration * (first.length - first.traveled))
        if n > 1:
            entry[1] = min(entry[1], reachable)
        for i in range(1, n):
            b = blocks[i]
            b.entry_speed = entry[i]
            entry[i + 1] = min(entry[i + 1], math.sqrt(entry[i] ** 2 + 2 * b.acceleration * b.length))
        self._exit_speeds = entry[1:]

    def exit_speed(self, index: int = 0) -> float:
        if self.hold or index >= len(self._exit_speeds):
            return 0.0
        return self._exit_speeds[index]

    # ---- execution -------------------------------------------------------------------
    def position(self) -> tuple[float, float, float] | None:
        """Position along the executing block, or None when the queue is empty."""
        if not self.blocks:
            return None
        b = self.blocks[0]
        return b.point_at(b.traveled)

    def _phase(self, block: Block) -> tuple[float, float, float]:
        """Current phase of the executing block: (acceleration, duration, distance)."""
        v = self.speed
        a = block.acceleration
        rem = block.length - block.traveled
        if rem <= _EPS:
            return 0.0, 0.0, 0.0
        if self.hold:
            stop = v * v / (2 * a)
            if v <= _EPS:
                return 0.0, 0.0, 0.0
            if stop >= rem:  # the hold continues into the next block
                v_end = math.sqrt(max(v * v - 2 * a * rem, 0.0))
                return -a, (v - v_end) / a, rem
            return -a, v / a, stop
        vn = self.nominal_speed(block)
        ve = min(self.exit_speed(0), vn)
        decel_distance = (v * v - ve * ve) / (2 * a) if v > ve else 0.0
        if v > ve + _EPS and decel_distance >= rem - 1e-12:
            # Final deceleration, landing exactly on the exit speed.
            accel = -(v * v - ve * ve) / (2 * rem)
            return accel, 2 * rem / (v + ve), rem
        if v < vn - _EPS:
            peak_sqr = (v * v + ve * ve) / 2 + a * rem
            target = min(vn, math.sqrt(peak_sqr))
            if target <= v + _EPS:  # nothing left to gain: decelerate
                accel = -(v * v - ve * ve) / (2 * rem) if v > ve else 0.0
                if accel == 0.0:
                    return 0.0, rem / max(v, _EPS), rem
                return accel, 2 * rem / (v + ve), rem
            return a, (target - v) / a, (target * target - v * v) / (2 * a)
        if v > vn + _EPS:  # override lowered: decelerate to the new nominal speed
            d = min((v * v - vn * vn) / (2 * a), rem)
            return -a, (v - math.sqrt(max(v * v - 2 * a * d, 0.0))) / a, d
        cruise = rem - (vn * vn - ve * ve) / (2 * a)
        if cruise <= _EPS:
            accel = -(v * v - ve * ve) / (2 * rem) if v > ve else 0.0
            return accel, (2 * rem / (v + ve)) if v + ve > 0 else 0.0, rem
        return 0.0, cruise / vn, cruise

    def advance(self, dt: float, limit_distance: float | None = None) -> StepResult:
        """Run the executing block for at most ``dt`` seconds, stopping at the first event.

        Events: the block ends (returned in ``finished``), the block reaches
        ``limit_distance`` mm along itself, or a feed hold comes to rest.
        """
        if not self.blocks:
            return StepResult(0.0)
        block = self.blocks[0]
        if self.hold and self.speed <= _EPS:
            self.speed = 0.0
            return StepResult(0.0, hold_complete=True)
        accel, duration, distance = self._phase(block)
        if duration <= 0.0 and distance <= _EPS:
            if block.length - block.traveled <= _EPS:
                return self._finish(0.0)
            return StepResult(0.0, hold_complete=self.hold)
        t = min(dt, duration)
        if limit_distance is not None and limit_distance > block.traveled:
            to_limit = limit_distance - block.traveled
            if to_limit < distance:
                t_limit = _time_for_distance(self.speed, accel, to_limit)
                if t_limit <= t:
                    block.traveled = limit_distance
                    self.speed = max(self.speed + accel * t_limit, 0.0)
                    return StepResult(t_limit, reached_limit=True)
        if t >= duration:  # the phase completes: land exactly on its distance
            block.traveled += distance
            self.speed = max(self.speed + accel * duration, 0.0)
            if block.length - block.traveled <= 1e-9:
                block.traveled = block.length
                return self._finish(duration)
            if self.hold and self.speed <= 1e-9:
                self.speed = 0.0
                return StepResult(duration, hold_complete=True)
            return StepResult(duration)
        block.traveled += self.speed * t + 0.5 * accel * t * t
        self.speed = max(self.speed + accel * t, 0.0)
        return StepResult(t)

    def _finish(self, used: float) -> StepResult:
        block = self.blocks.popleft()
        if self.blocks:
            self.replan()
        else:
            self.speed = 0.0 if not self.hold else self.speed
            self._exit_speeds = []
            if self.hold:
                self.speed = 0.0
        return StepResult(used, finished=block, hold_complete=self.hold and self.speed <= _EPS and not self.blocks)

    def start_hold(self) -> None:
        self.hold = True

    def resume(self) -> None:
        """Leave a completed hold: the remaining moves start again from rest."""
        self.hold = False
        self.speed = 0.0
        if self.blocks:
            self.blocks[0].max_junction_speed_sqr = 0.0
        self.replan()

    def remaining_time(self) -> float:
        """Seconds to run every queued block with the current plan (for tests and estimates)."""
        total = 0.0
        v = self.speed
        for i, b in enumerate(self.blocks):
            rem = b.length - b.traveled
            total += trapezoid_time(rem, self.nominal_speed(b), b.acceleration, v, self.exit_speed(i))
            v = self.exit_speed(i)
        return total


def _time_for_distance(v: float, a: float, s: float) -> float:
    """Smallest t >= 0 with v t + a t^2 / 2 = s."""
    if abs(a) < 1e-12:
        return s / v if v > 0 else math.inf
    disc = v * v + 2 * a * s
    if disc < 0:
        return math.inf
    return (-v + math.sqrt(disc)) / a
