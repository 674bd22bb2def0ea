"""Plot jobs: lines and strokes, what has executed, the runner, and resume programs.

A :class:`Job` is the list of checked G-code lines streamed to the machine,
with the strokes they draw (pen-down polylines in work mm) and the line that
lowers and lifts the pen for each.

What is *executed* (not merely acknowledged)
--------------------------------------------
GRBL's ``ok`` means "parsed into the planner", not "drawn". The runner knows
a line has executed when:

* the ``ok`` of a ``G4`` dwell arrives: GRBL empties its planner before a
  dwell and answers only after it, so every earlier line has executed. Every
  pen move in a job is followed by a dwell (one is inserted when missing:
  ``G4P0.01``), so each stroke's closing pen-up is a sync point;
* a status report says ``Idle``: every line acknowledged before it executed;
* a status report's position lies on the current stroke (searching forward
  from the known-drawn part, only over segments already acknowledged): the
  stroke is drawn up to that point.

Progress is ``strokes_done`` (strokes whose closing pen-up executed) and
``partial_mm`` (how far along the next stroke drawing is known to have gone).

The resume rule
---------------
``--resume`` re-establishes the position (homing, or the user confirms the
pen is at the machine origin), lifts the pen, travels pen-up to the resume
point and continues:

* a stroke whose closing pen-up executed is never drawn again;
* the interrupted stroke continues from ``partial_mm``, the last point known
  drawn, pen down, to its end; then the job goes on line for line;
* nothing is skipped: every point beyond the known-drawn part is drawn.

When the machine could still answer as the job stopped (error, alarm, stall
with status, pause, abort), the runner asks for its final position after the
motion stopped, so the resume point is where the pen really stopped and
nothing is drawn twice. After a disconnect or power loss the last report may
be up to one poll interval old; the stretch between it and where the pen
really stopped is then retraced along the same line (never a new mark
elsewhere): overlap is preferred to a gap.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from aikon.errors import FirmwareError, InputError, JobAborted, OutOfBoundsError, PortError
from aikon.plotter.grbl import Event, GrblClient, Status, check_line, prepare_line
from aikon.plotter.journal import Journal, job_hash

SYNC_LINE = "G4P0.01"
"""Dwell inserted after a pen move that has none: its ``ok`` proves the move executed."""

POSITION_TOLERANCE_MM = 0.02


# --------------------------------------------------------------------------- job model

def pen_lines(profile: Any, *, down: bool) -> list[str]:
    """Prepared lines that lower (``down=True``) or lift the pen, with the settle dwell."""
    pen = profile.pen
    delay = pen.down_delay if down else pen.up_delay
    if pen.mode == "z":
        z = pen.down_z if down else pen.up_z
        move = f"G1Z{z:.3f}F{pen.z_speed * 60:.0f}" if down else f"G0Z{z:.3f}"
    else:
        move = prepare_line(pen.down_command if down else pen.up_command)
    return [move, f"G4P{max(delay, 0.01):.3f}"]


def pen_model(profile: Any) -> Any:
    """The :class:`aikon.gcode_reader.PenModel` for a profile (S values or Z heights)."""
    from aikon.gcode_reader import PenModel

    pen = profile.pen
    if pen.mode == "z":
        return PenModel("z", float(pen.down_z), float(pen.up_z))

    def s_value(command: str) -> float:
        text = prepare_line(command)
        if text.startswith("M5"):
            return 0.0
        idx = text.find("S")
        return float(text[idx + 1:]) if idx >= 0 else 0.0

    return PenModel("servo", s_value(pen.down_command), s_value(pen.up_command))


@dataclass(frozen=True)
class Stroke:
    """One pen-down polyline of a job.

    Attributes
    ----------
    index : int
    down_line, up_line : int
        Line indices that lower and lift the pen (``up_line`` is past the end
        if the program never lifts it).
    points : (N, 2) float64 array
        Work coordinates in mm, ``points[0]`` where the pen went down.
    point_lines : tuple of int
        The line that reaches each point (``point_lines[0] == down_line``).
    cumlen : (N,) float64 array
        Length along the stroke at each point, mm.
    """

    index: int
    down_line: int
    up_line: int
    points: np.ndarray
    point_lines: tuple[int, ...]
    cumlen: np.ndarray

    @property
    def length(self) -> float:
        return float(self.cumlen[-1])

    def point_at(self, s_mm: float) -> tuple[int, np.ndarray]:
        """``(segment, point)``: the point ``s_mm`` along the stroke and the segment it lies on."""
        if len(self.points) == 1 or s_mm <= 0:
            return 0, self.points[0].copy()
        k = min(int(np.searchsorted(self.cumlen, s_mm, side="right")) - 1, len(self.points) - 2)
        seg = self.cumlen[k + 1] - self.cumlen[k]
        t = 0.0 if seg <= 0 else min(max((s_mm - self.cumlen[k]) / seg, 0.0), 1.0)
        return k, self.points[k] + t * (self.points[k + 1] - self.points[k])


@dataclass(frozen=True)
class Job:
    """Checked lines to stream, the strokes they draw and the time each line ends at.

    Attributes
    ----------
    lines : tuple of str
        Prepared lines (no comments or spaces), each passed :func:`check_line`.
    strokes : tuple of Stroke
    sync_lines : frozenset of int
        Indices of dwell lines (an ``ok`` for one proves every earlier line executed).
    line_end_s : (L,) float64 array
        Estimated seconds from the job start to the end of each line.
    first_stroke, first_offset_mm : int, float
        Where this job starts in the original job (non-zero for a resume
        program): its stroke 0 is original stroke ``first_stroke``, already
        drawn for ``first_offset_mm``.
    """

    lines: tuple[str, ...]
    strokes: tuple[Stroke, ...]
    sync_lines: frozenset[int]
    line_end_s: np.ndarray
    first_stroke: int = 0
    first_offset_mm: float = 0.0
    pause_points: tuple[int, ...] = ()
    hash: str = ""

    @property
    def total_s(self) -> float:
        return float(self.line_end_s[-1]) if len(self.line_end_s) else 0.0


def _clean_program(raw_lines: Sequence[str]) -> tuple[list[str], list[int]]:
    """Prepared, checked lines and the 1-based source line number of each."""
    lines: list[str] = []
    numbers: list[int] = []
    for number, raw in enumerate(raw_lines, start=1):
        line = prepare_line(raw)
        if not line or line == "%":
            continue
        try:
            check_line(line)
        except InputError as exc:
            raise InputError(f"G-code line {number}: {exc}") from None
        lines.append(line)
        numbers.append(number)
    return lines, numbers


# G-code words whose XY destination aikon cannot know before running: G28/G30 go to a position stored in
# the board's EEPROM; G91 (incremental) and G2/G3 (arc centre relative to the start) depend on where the
# carriage is (checked by interpreting from two different starts).
_STORED_POSITION_RE = re.compile(r"G0*(28|30)(?![.\d])")
_START_DEPENDENT_RE = re.compile(r"G0*(91|2|3)(?![.\d])")
_AREA_TOLERANCE_MM = 1e-6  # float noise of inch/offset arithmetic, far below the 0.001 mm output resolution


def check_program_in_area(lines: Sequence[str], moves: Sequence[Any], profile: Any, *,
                          source_lines: Sequence[int] | None = None) -> None:
    """Refuse a program unless every XY move it makes stays inside the profile's work area.

    Every rapid and feed endpoint (arcs as GRBL cuts them into chords) in
    machine mm must lie in the work area; the straight moves between such
    points then stay inside the rectangle too. The program must not depend on
    positions aikon cannot know: ``G28``/``G30`` (a position stored in the
    board) are refused, and so is a relative (``G91``) or arc move made before
    the program gave that axis an absolute position.

    Parameters
    ----------
    lines : sequence of str
        Prepared program lines (as interpreted into ``moves``).
    moves : sequence of aikon.gcode_reader.Move
        ``interpret(lines)`` from the machine origin.
    profile : Profile
        Its ``work_area`` gives the machine X and Y ranges in mm.
    source_lines : sequence of int, optional
        1-based line number in the user's file of each line, for messages.

    Raises
    ------
    OutOfBoundsError
        Naming the line, where it goes and the work area.
    """
    from aikon.gcode_reader import interpret

    def where(index: int) -> str:
        number = source_lines[index] if source_lines is not None else index + 1
        return f"G-code line {number} ({lines[index]})"

    for i, line in enumerate(lines):
        if not line.startswith("$") and _STORED_POSITION_RE.search(line):
            raise OutOfBoundsError(f"{where(i)} moves to a position stored in the board, which aikon cannot "
                                   "check against the work area; use G0 X.. Y.. to an explicit position instead")
    (x0, x1), (y0, y1) = profile.work_area.machine_x_range, profile.work_area.machine_y_range
    for move in moves:
        if move.kind not in ("rapid", "feed"):
            continue
        x, y = move.end[0], move.end[1]
        if not (x0 - _AREA_TOLERANCE_MM <= x <= x1 + _AREA_TOLERANCE_MM
                and y0 - _AREA_TOLERANCE_MM <= y <= y1 + _AREA_TOLERANCE_MM):
            raise OutOfBoundsError(
                f"{where(move.line - 1)} moves to X{x:.3f} Y{y:.3f}, outside the work area of {profile.name} "
                f"(machine X {x0:g}..{x1:g}, Y {y0:g}..{y1:g} mm); nothing was sent")
    if any(_START_DEPENDENT_RE.search(line) for line in lines if not line.startswith("$H")):
        # Interpreted again from a start far away: a move that lands elsewhere depends on the start.
        shifted = interpret(lines, pen=pen_model(profile), start=(1000.5, -777.25, 0.0))
        for a, b in zip(moves, shifted):
            if a.kind in ("rapid", "feed") and (abs(a.end[0] - b.end[0]) > _AREA_TOLERANCE_MM
                                                 or abs(a.end[1] - b.end[1]) > _AREA_TOLERANCE_MM):
                raise OutOfBoundsError(
                    f"{where(a.line - 1)} is a relative (G91) or arc move made before the program set an "
                    "absolute X and Y position: where it goes depends on where the carriage starts, so it "
                    "cannot be checked against the work area; start with an absolute G90 G0 X.. Y.. move")


def _lift_first(lines: list[str], numbers: list[int], moves: list[Any], profile: Any) -> bool:
    """Put the profile's pen lift in front of a program that moves in XY before lifting the pen itself.

    Returns True when lines were added (``numbers`` gets 0 for them).
    """
    from aikon.gcode_reader import interpret

    first_xy = next((m.line for m in moves if m.kind in ("rapid", "feed")
                     and (m.start[0], m.start[1]) != (m.end[0], m.end[1])), None)
    if first_xy is None:
        return False
    # From an assumed pen-down start, a lift before the first XY move shows up as a "pen" move.
    head = interpret(lines[:first_xy], pen=pen_model(profile), pen_down=True)
    if any(m.kind == "pen" and not m.pen_down for m in head):
        return False
    lift = pen_lines(profile, down=False)
    lines[:0] = lift
    numbers[:0] = [0] * len(lift)
    return True


def build_job(raw_lines: Sequence[str], profile: Any, *, first_stroke: int = 0, first_offset_mm: float = 0.0,
              line_times: Callable[[Sequence[str], Any], np.ndarray] | None = None) -> Job:
    """Prepare, check and interpret a G-code program into a :class:`Job`.

    Comments and spaces are stripped; a line with a real-time character,
    non-ASCII text or over 79 characters is refused here, before anything is
    sent (:class:`InputError` naming the line). A dwell is inserted after any
    pen move not followed by one, so every pen move is a sync point.
    """
    from aikon.gcode_reader import interpret

    lines, numbers = _clean_program(raw_lines)
    model = pen_model(profile)
    moves = interpret(lines, pen=model)
    check_program_in_area(lines, moves, profile, source_lines=numbers)
    if _lift_first(lines, numbers, moves, profile):
        moves = interpret(lines, pen=model)
    pen_move_lines = sorted({m.line - 1 for m in moves if m.kind == "pen"})
    if pen_move_lines:
        out: list[str] = []
        pen_set = set(pen_move_lines)
        for i, line in enumerate(lines):
            out.append(line)
            if i in pen_set and not (i + 1 < len(lines) and lines[i + 1].startswith("G4")):
                out.append(SYNC_LINE)
        if len(out) != len(lines):
            lines = out
            moves = interpret(lines, pen=model)

    strokes: list[Stroke] = []
    current: list[tuple[float, float]] = []
    current_lines: list[int] = []
    down_line = -1

    def close(up_line: int) -> None:
        if down_line >= 0 and current:
            pts = np.asarray(current, dtype=np.float64)
            seg = np.hypot(*np.diff(pts, axis=0).T) if len(pts) > 1 else np.zeros(0)
            strokes.append(Stroke(len(strokes), down_line, up_line, pts, tuple(current_lines),
                                  np.concatenate([[0.0], np.cumsum(seg)])))

    pen_down = False
    for move in moves:
        idx = move.line - 1
        if move.kind == "pen":
            if move.pen_down and not pen_down:
                pen_down = True
                down_line = idx
                current = [(move.end[0], move.end[1])]
                current_lines = [idx]
            elif not move.pen_down and pen_down:
                pen_down = False
                close(idx)
                down_line = -1
            continue
        if move.kind in ("rapid", "feed") and pen_down:
            if (move.end[0], move.end[1]) != (move.start[0], move.start[1]):
                current.append((move.end[0], move.end[1]))
                current_lines.append(idx)
    if pen_down:
        close(len(lines))

    sync = frozenset(i for i, line in enumerate(lines) if line.startswith("G4"))
    times = (line_times or estimate_line_seconds)(lines, profile)
    pause_points = set()
    for st in strokes:
        pause_points.add(st.down_line)  # stop before lowering the pen
        after = st.up_line + 1
        while after < len(lines) and after in sync:
            after += 1
        pause_points.add(after)  # stop after the pen-up and its dwell
    return Job(tuple(lines), tuple(strokes), sync, np.asarray(times, dtype=np.float64), first_stroke,
               float(first_offset_mm), tuple(sorted(pause_points)), job_hash(lines))


def estimate_line_seconds(lines: Sequence[str], profile: Any) -> np.ndarray:
    """Cumulative seconds at the end of each line, from the motion planner.

    The lines are interpreted into planner steps (draws, travels, pen moves,
    dwells, each tagged with its line) and planned by :mod:`aikon.planner`
    with the profile's limits (acceleration, junction deviation, the
    firmware's look-ahead), so time left accounts for cornering and pen lifts.
    """
    from aikon.gcode_reader import interpret
    from aikon.planner import Step, limits_from_profile, plan_steps

    steps: list[Step] = []
    z_time = profile.pen.z_travel_time
    # The pen's state before the job is unknown, so its first lift takes time too (as in the writer's plan).
    for move in interpret(lines, pen=pen_model(profile), pen_down=True):
        idx = move.line - 1
        if move.kind == "dwell":
            steps.append(Step("dwell", seconds=move.duration, tag=idx))
        elif move.kind == "pen":
            steps.append(Step("pen_down" if move.pen_down else "pen_up", move.end[0], move.end[1],
                              seconds=z_time, tag=idx))
        elif (move.end[0], move.end[1]) != (move.start[0], move.start[1]):
            speed = None if move.kind == "rapid" or not move.feed else move.feed / 60.0
            steps.append(Step("draw" if move.pen_down else "travel", move.end[0], move.end[1], speed=speed,
                              rapid=move.kind == "rapid", tag=idx))
    per_line = np.zeros(len(lines), dtype=np.float64)
    if steps:
        plan = plan_steps(steps, limits_from_profile(profile))
        for step, end in zip(plan.steps, plan.step_end_times):
            per_line[step.tag] = max(per_line[step.tag], float(end))
    return np.maximum.accumulate(per_line) if len(per_line) else per_line


# --------------------------------------------------------------------------- execution tracking

class ExecutionTracker:
    """What the machine has executed, from acknowledgements, dwells and status reports.

    See the module docstring for the rules. All indices are line indices in
    ``job.lines``; progress is reported in the job's own strokes (callers add
    ``job.first_stroke``).
    """

    def __init__(self, job: Job, *, tolerance_mm: float = POSITION_TOLERANCE_MM) -> None:
        self.job = job
        self.tolerance_mm = tolerance_mm
        self.acked = -1
        self.executed = -1
        self.strokes_done = 0
        self.partial_mm = 0.0

    @property
    def current_stroke(self) -> Stroke | None:
        return self.job.strokes[self.strokes_done] if self.strokes_done < len(self.job.strokes) else None

    def on_ack(self, index: int) -> None:
        self.acked = max(self.acked, index)
        if index in self.job.sync_lines:
            self.mark_executed(index - 1 if index > 0 else -1)
            self.mark_executed(index)

    def on_idle(self, acked_before: int) -> None:
        """A status report said Idle: every line acknowledged before it has executed."""
        self.mark_executed(acked_before)

    def mark_executed(self, index: int) -> None:
        if index <= self.executed:
            return
        self.executed = index
        strokes = self.job.strokes
        while self.strokes_done < len(strokes) and strokes[self.strokes_done].up_line <= index:
            self.strokes_done += 1
            self.partial_mm = 0.0
        stroke = self.current_stroke
        if stroke is not None and stroke.down_line <= index:
            k = bisect.bisect_right(stroke.point_lines, index) - 1
            self.partial_mm = max(self.partial_mm, float(stroke.cumlen[k]))

    def on_position(self, xy: Sequence[float], acked_before: int) -> None:
        """A reported work position: if it lies on the current stroke, that far is drawn."""
        stroke = self.current_stroke
        if stroke is None or stroke.down_line > self.executed or len(stroke.points) < 2:
            return
        p = np.asarray(xy[:2], dtype=np.float64)
        start_seg, _ = stroke.point_at(self.partial_mm)
        last_seg = bisect.bisect_right(stroke.point_lines, acked_before) - 2
        for k in range(start_seg, min(last_seg, len(stroke.points) - 2) + 1):
            a, b = stroke.points[k], stroke.points[k + 1]
            d = b - a
            seg2 = float(d @ d)
            t = 0.0 if seg2 == 0 else min(max(float((p - a) @ d) / seg2, 0.0), 1.0)
            if float(np.hypot(*(a + t * d - p))) <= self.tolerance_mm:
                s = float(stroke.cumlen[k]) + t * math.sqrt(seg2)
                if s >= self.partial_mm - 1e-9:
                    self.partial_mm = max(self.partial_mm, s)
                    return

    def executed_seconds(self) -> float:
        """Estimated job seconds executed so far (from the planner's cumulative times)."""
        times = self.job.line_end_s
        if not len(times):
            return 0.0
        base = float(times[self.executed]) if self.executed >= 0 else 0.0
        stroke = self.current_stroke
        if stroke is not None and self.partial_mm > 0 and len(stroke.points) > 1:
            k, _ = stroke.point_at(self.partial_mm)
            t0 = float(times[stroke.point_lines[k]])
            t1 = float(times[stroke.point_lines[k + 1]])
            seg = float(stroke.cumlen[k + 1] - stroke.cumlen[k])
            frac = 0.0 if seg <= 0 else (self.partial_mm - float(stroke.cumlen[k])) / seg
            base = max(base, t0 + frac * (t1 - t0))
        return base

    def resume_point(self) -> tuple[float, float] | None:
        stroke = self.current_stroke
        if stroke is None:
            return None
        _, p = stroke.point_at(self.partial_mm)
        return (float(p[0]), float(p[1]))


# --------------------------------------------------------------------------- resume programs

def resume_program(raw_lines: Sequence[str], profile: Any, strokes_done: int, partial_mm: float) -> Job:
    """The program that continues ``raw_lines`` after ``strokes_done`` strokes and ``partial_mm`` of the next.

    It sets mm and absolute mode, lifts the pen, travels pen-up (``G0``) to
    the resume point, and then either lowers the pen and finishes the
    interrupted stroke from that point, or replays the original lines from
    the travel to the next stroke. The returned job's stroke 0 is original
    stroke ``strokes_done`` (see :attr:`Job.first_stroke`).
    """
    from aikon.gcode_reader import GcodeState, execute_block

    original = build_job(raw_lines, profile)
    lines = list(original.lines)
    strokes = original.strokes
    if any(line.startswith("G92") or "G92" in line for line in lines):
        raise InputError("cannot resume a program that uses G92 offsets (lost when the board resets)")
    if strokes_done < len(strokes) and partial_mm >= strokes[strokes_done].length - 1e-6 and partial_mm > 0:
        strokes_done, partial_mm = strokes_done + 1, 0.0  # drawn to its end; only the pen-up was missing
    point = None
    if strokes_done >= len(strokes):
        start = strokes[-1].up_line if strokes else 0
        partial_mm = 0.0
    elif partial_mm > 1e-6:
        seg, point = strokes[strokes_done].point_at(partial_mm)
        start = strokes[strokes_done].point_lines[seg + 1]
    else:
        start = strokes[strokes_done - 1].up_line + 1 if strokes_done > 0 else 0
        while start < len(lines) and start in original.sync_lines:
            start += 1

    state = GcodeState()
    for line in lines[:start]:
        if line.startswith("$"):
            continue
        result = execute_block(state, line)
        if result.error is None:
            state = result.state
    if partial_mm > 1e-6:  # state after the segment being drawn: replay from the line after it
        result = execute_block(state, lines[start])
        if result.error is None:
            state = result.state
    offset = state.work_offset
    here = (state.position[0] - offset[0], state.position[1] - offset[1])

    prefix = ["G21", "G90"] + pen_lines(profile, down=False)
    if partial_mm > 1e-6:
        feed = state.feed_rate or profile.motion.draw_speed * 60.0
        prefix.append(f"G0X{point[0]:.3f}Y{point[1]:.3f}")
        prefix += pen_lines(profile, down=True)
        if math.dist(point, here) > 1e-4:
            prefix.append(f"G1X{here[0]:.3f}Y{here[1]:.3f}F{feed:.0f}")
        tail_start = start + 1
    else:
        prefix.append(f"G0X{here[0]:.3f}Y{here[1]:.3f}")
        tail_start = start
    # Restore the modal state the remaining lines expect.
    restore = f"G{state.units}G{state.distance}"
    if state.feed_rate:
        restore += f"F{state.feed_rate:.0f}"
    prefix.append(restore)
    if state.motion in ("G0", "G1"):
        prefix.append(state.motion)
    program = prefix + lines[tail_start:]
    return build_job(program, profile, first_stroke=strokes_done, first_offset_mm=partial_mm)


# --------------------------------------------------------------------------- controls

class Controls:
    """Thread-safe requests from the user (keyboard, Ctrl-C) or a test to the runner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pause_requested = False
        self.abort_requested = False
        self.changed = threading.Event()

    def _request(self, name: str, value: bool) -> None:
        with self._lock:
            setattr(self, name, value)
        self.changed.set()  # wakes a runner waiting while paused

    def request_pause(self) -> None:
        self._request("pause_requested", True)

    def request_resume(self) -> None:
        self._request("pause_requested", False)

    def request_abort(self) -> None:
        self._request("abort_requested", True)

    def interrupt(self) -> None:
        """Ctrl-C: the first pauses (at the next pen-up), the next aborts."""
        if self.pause_requested:
            self.request_abort()
        else:
            self.request_pause()


# --------------------------------------------------------------------------- runner

@dataclass
class Progress:
    """What a progress display shows (strokes and lines in the original job's numbering)."""

    lines_acked: int
    lines_total: int
    strokes_done: int
    strokes_total: int
    remaining_s: float
    state: str
    rx_fill: int = 0


@dataclass
class RunStats:
    """Measured while streaming (for benchmarks and tests)."""

    max_in_flight_bytes: int = 0
    fill_samples: list[int] = field(default_factory=list)
    lines_sent: int = 0
    pauses: int = 0


class JobRunner:
    """Streams a :class:`Job` through a :class:`GrblClient` with pause, abort, journal and faults.

    Parameters
    ----------
    client : GrblClient
        Connected (banner seen).
    job : Job
    profile : Profile
        Pen commands and the park position.
    journal : Journal, optional
        Updated as strokes execute; the runner fills in progress and state.
    controls : Controls, optional
    strokes_total : int, optional
        Strokes in the original job (for resume programs); default ``len(job.strokes)``.
    on_progress : callable, optional
        Called with a :class:`Progress` after each batch of events.
    on_paused : callable, optional
        Called once each time the job comes to rest with the pen up.
    on_event : callable, optional
        Called with every :class:`Event` (tests, logging).
    on_fill : callable, optional
        Called with the counted RX-buffer bytes each time the runner waits for
        room with lines left to send (benchmarks).
    stall_timeout_s : float
        Silence (not even a status reply) after which the plotter is declared stalled.
    finish_timeout_s : float
        Time allowed for the stop/lift/park sequences.
    """

    def __init__(self, client: GrblClient, job: Job, profile: Any, *, journal: Journal | None = None,
                 controls: Controls | None = None, strokes_total: int | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_paused: Callable[["JobRunner"], None] | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_fill: Callable[[int], None] | None = None,
                 stall_timeout_s: float = 5.0, finish_timeout_s: float = 60.0) -> None:
        self.client = client
        self.job = job
        self.profile = profile
        self.journal = journal
        self.controls = controls or Controls()
        self.strokes_total = len(job.strokes) + job.first_stroke if strokes_total is None else strokes_total
        self.on_progress = on_progress
        self.on_paused = on_paused
        self.on_event = on_event
        self.on_fill = on_fill
        self.stall_timeout_s = stall_timeout_s
        self.finish_timeout_s = finish_timeout_s
        self.tracker = ExecutionTracker(job)
        self.stats = RunStats()
        self.next_line = 0
        self.state = "running"
        self._idle_after_ack = False
        self._last_status_pen_lines: int = -1

    # ----------------------------------------------------------------- progress
    def progress_point(self) -> tuple[int, float]:
        """``(strokes_done, partial_mm)`` in the original job's numbering."""
        done = self.tracker.strokes_done
        partial = self.tracker.partial_mm
        if done == 0 and (partial > 0 or self.job.first_offset_mm > 0):
            partial += self.job.first_offset_mm
        return self.job.first_stroke + done, partial

    def progress(self) -> Progress:
        done, _ = self.progress_point()
        remaining = max(self.job.total_s - self.tracker.executed_seconds(), 0.0)
        return Progress(self.tracker.acked + 1, len(self.job.lines), done, self.strokes_total, remaining,
                        self.state, self.client.in_flight_bytes)

    def _journal(self, *, force: bool = False, **changes: Any) -> None:
        if self.journal is None:
            return
        done, partial = self.progress_point()
        self.journal.update(force=force, strokes_done=done, partial_mm=partial,
                            resume_point=self.tracker.resume_point(),
                            executed_line=self.tracker.executed, acked_line=self.tracker.acked, **changes)

    # ----------------------------------------------------------------- events
    def _handle(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)
        kind = event.kind
        if kind == "ack":
            if isinstance(event.tag, int):
                before = self.tracker.strokes_done
                self.tracker.on_ack(event.tag)
                self._idle_after_ack = False
                if self.tracker.strokes_done != before:
                    self._journal()
        elif kind == "status" and event.status is not None:
            self._on_status(event.status)
        elif kind == "error":
            raise _Fault("error", f"the plotter refused line {event.tag + 1 if isinstance(event.tag, int) else '?'} "
                                  f"({event.line}): {event.meaning}", code=event.code)
        elif kind == "alarm":
            raise _Fault("alarm", f"{event.meaning}", code=event.code)
        elif kind == "reset":
            raise _Fault("reset", "the plotter reset unexpectedly (power glitch, or another program reset it); "
                                  "its position may be lost")
        elif kind == "garbled":
            raise _Fault("garbled", f"unreadable reply from the plotter {event.text!r}: a noisy cable or a wrong "
                                    "baud rate; streaming stopped because an acknowledgement may have been lost")

    def _on_status(self, status: Status) -> None:
        if status.state == "Alarm":
            raise _Fault("alarm", "the plotter is in the Alarm state (locked): streaming stopped")
        if status.is_idle:
            self.tracker.on_idle(self.tracker.acked)
            if self.client.in_flight_count == 0:
                self._idle_after_ack = True
        else:
            pos = self.client.work_position(status)
            if pos is not None:
                self.tracker.on_position(pos, self.tracker.acked)

    def _service(self, timeout_s: float = 0.02) -> None:
        try:
            events = self.client.service(timeout_s)
        except PortError as exc:
            raise _Fault("disconnect", str(exc)) from None
        for event in events:
            self._handle(event)
        if self.client.seconds_since_heard() > self.stall_timeout_s:
            raise _Fault("stall", f"the plotter stopped answering (nothing received for {self.stall_timeout_s:g} s, "
                                  "not even a status report)")

    # ----------------------------------------------------------------- main loop
    def run(self) -> Progress:
        """Stream the job to the end (every line acknowledged and the machine Idle).

        Raises
        ------
        JobAborted
            The user aborted; the pen was lifted and the head parked.
        FirmwareError, PortError
            A fault stopped the job; the journal says where to resume.
        """
        client = self.client
        client.polling = True
        lines = self.job.lines
        pause_points = self.job.pause_points
        self._journal(force=True, state="running", reason="")
        try:
            while True:
                if self.controls.abort_requested:
                    self._abort()
                if self.controls.pause_requested:
                    i = bisect.bisect_left(pause_points, self.next_line)
                    stop_at = pause_points[i] if i < len(pause_points) else len(lines)
                else:
                    stop_at = len(lines)
                while self.next_line < stop_at and client.can_send(lines[self.next_line]):
                    client.send_line(lines[self.next_line], tag=self.next_line)
                    self.next_line += 1
                    self._idle_after_ack = False
                self.stats.max_in_flight_bytes = max(self.stats.max_in_flight_bytes, client.in_flight_bytes)
                if self.next_line < stop_at:  # waiting for room: the buffer is as full as it gets
                    self.stats.fill_samples.append(client.in_flight_bytes)
                    if self.on_fill is not None:
                        self.on_fill(client.in_flight_bytes)
                self._service()
                if self.on_progress is not None:
                    self.on_progress(self.progress())
                resting = client.in_flight_count == 0 and self._idle_after_ack
                if self.next_line >= len(lines) and resting:
                    self.tracker.on_idle(self.tracker.acked)
                    self.state = "done"
                    self._journal(force=True, state="done", reason="")
                    self.stats.lines_sent = client.lines_sent
                    return self.progress()
                if self.controls.pause_requested and self.next_line == stop_at and resting:
                    self._pause()
        except _Fault as fault:
            self._fail(fault)
            raise AssertionError("unreachable")  # _fail always raises

    def _pause(self) -> None:
        self.state = "paused"
        self.stats.pauses += 1
        self._journal(force=True, state="paused", reason="paused by the user")
        if self.on_progress is not None:
            self.on_progress(self.progress())
        if self.on_paused is not None:
            self.on_paused(self)
        while self.controls.pause_requested and not self.controls.abort_requested:
            self.controls.changed.clear()
            self._service(0.05)
        if self.controls.abort_requested:
            self._abort()
        self.state = "running"
        self._journal(force=True, state="running", reason="")

    # ----------------------------------------------------------------- stopping
    def _stop_motion(self) -> Status | None:
        """Feed hold, wait for Hold:0, read the final position, soft reset (flushes the buffers)."""
        client = self.client
        status = client.stop(timeout_s=self.finish_timeout_s)
        if status is not None and status.state != "Alarm":
            self._note_position(status)
        client.clear_lockout()
        return status

    def _note_position(self, status: Status) -> None:
        """A report taken after motion stopped: the current stroke is drawn up to its position."""
        pos = self.client.work_position(status)
        if pos is not None:
            self.tracker.on_position(pos, self.tracker.acked)

    def _lift_and_park(self, *, park: bool) -> None:
        from aikon.plotter.grbl import stream_lines

        program = ["G21", "G90"] + pen_lines(self.profile, down=False)
        if park:
            x, y = self.profile.end.park
            program.append(f"G0X{x:.3f}Y{y:.3f}")
        stream_lines(self.client, program, timeout_s=self.finish_timeout_s)

    def _abort(self) -> None:
        client = self.client
        moving = client.in_flight_count > 0 or not self._idle_after_ack
        try:
            if moving:
                self._stop_motion()
            else:
                self.tracker.on_idle(self.tracker.acked)
            self._lift_and_park(park=True)
        except (PortError, FirmwareError) as exc:
            self.state = "aborted"
            self._journal(force=True, state="aborted", reason=f"aborted; lifting and parking failed: {exc}")
            raise JobAborted(f"aborted by the user, but lifting the pen and parking failed: {exc}") from None
        self.state = "aborted"
        done, _ = self.progress_point()
        self._journal(force=True, state="aborted", reason="aborted by the user")
        path = f" --resume {self.journal.path}" if self.journal else ""
        raise JobAborted(f"aborted by the user after {done} of {self.strokes_total} strokes; pen lifted and parked"
                         + (f" (continue later with: aikon plot{path})" if path else ""))

    def _fail(self, fault: "_Fault") -> None:
        client = self.client
        notes: list[str] = []
        if fault.kind in ("error", "garbled"):
            # Stop what is buffered (it would run past the refused line), then lift the pen.
            try:
                self._stop_motion()
                self._lift_and_park(park=False)
                notes.append("pen lifted")
            except (PortError, FirmwareError, _Fault) as exc:
                notes.append(f"could not lift the pen: {exc}")
        elif fault.kind == "alarm":
            # After a critical alarm GRBL serves nothing until a soft reset ("[MSG:Reset to continue]");
            # the reset keeps the position, so the status after it says where the pen stopped.
            try:
                if not client.needs_reset:
                    client.wait_for(lambda e: e.kind == "message" and "Reset to continue" in e.text, 1.0,
                                    what="GRBL's reset request")
            except PortError:
                pass
            try:
                client.soft_reset()
                self._note_position(client.query_status(timeout_s=2.0))
            except PortError:
                pass
            notes.append("the machine is locked: home ($H) or unlock ($X) before resuming; the pen may be down")
        elif fault.kind == "stall":
            try:
                self._note_position(client.query_status(timeout_s=1.0))
            except PortError:
                pass
        self.state = "failed"
        done, partial = self.progress_point()
        reason = fault.message + ("; " + "; ".join(notes) if notes else "")
        self._journal(force=True, state="failed", reason=reason)
        where = f"{done} of {self.strokes_total} strokes done"
        resume = f"; resume with: aikon plot --resume {self.journal.path}" if self.journal else ""
        message = f"{reason} ({where}{resume})"
        if fault.kind in ("disconnect", "stall"):
            raise PortError(message)
        raise FirmwareError(message)


class _Fault(Exception):
    def __init__(self, kind: str, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code
