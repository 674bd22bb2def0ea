"""G-code writer for GRBL and Marlin plotters, driven by a firmware profile.

The only place (with the EBB writer) where page coordinates become machine
coordinates: the page is placed with its corner on the profile's origin
corner and axes flipped as the profile says (:meth:`Profile.frame`).

Rules the output follows (see ``../shared/PROTOCOLS.md``):

* absolute millimetres (``G21 G90``, plus ``G94`` on GRBL);
* ASCII only, ``\\n`` line ends, no comments unless the profile allows them
  (never for GRBL: real-time characters act even inside comments), every line
  within the profile's ``max_line_length`` (79 for GRBL);
* a fixed number of decimals (the profile's), never ``-0.000``;
* the pen is lifted at the start, before every travel move and at the end;
  every pen move is followed by a dwell (``G4 P<seconds>`` on GRBL,
  ``G4 P<milliseconds>`` on Marlin); on Marlin ``M400`` precedes ``M280`` so
  the servo waits for the motion to finish;
* the feed is set explicitly: the first draw move of each stroke carries
  ``F<draw speed>`` (so a job can resume at any stroke); travel is ``G0`` (GRBL: rapid at the machine's max rate,
  ``$110``; Marlin: ``G0`` with ``F<travel speed>``) or ``G1 F<travel speed>``
  as the profile's ``gcode.travel_command`` says;
* no ``M2``/``M30`` at the end: on servo forks it switches the servo "spindle"
  off, which can drop the pen;
* before anything is written, every coordinate is checked against the work
  area: a drawing that does not fit raises
  :class:`~aikon.errors.OutOfBoundsError` saying which axis and how far, or
  with ``fit=True`` is scaled down (keeping proportions) and centred in the
  work area. A drawing that fits is never moved.

The job is built from the same :func:`aikon.planner.job_steps` the planner
uses, so :meth:`GcodeJob.plan` gives the time estimate and per-line progress
of exactly the lines written.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from aikon.drawing import Drawing
from aikon.errors import OutOfBoundsError, ProfileError
from aikon.fileio import atomic_output
from aikon.planner import Plan, Step, job_steps, limits_from_profile, plan_steps
from aikon.profiles import Profile

_BOUNDS_TOLERANCE = 1e-9  # mm; float noise from the frame transform, far below the output resolution


@dataclass(frozen=True)
class FitResult:
    """How a drawing was placed: machine ``= point * scale + offset`` after the frame transform."""

    scale: float
    offset: tuple[float, float]

    @property
    def changed(self) -> bool:
        return self.scale != 1.0 or self.offset != (0.0, 0.0)


@dataclass(frozen=True)
class GcodeJob:
    """A G-code program and the plan it was written from.

    Attributes
    ----------
    lines : tuple of str
        The program, without line terminators.
    steps : tuple of Step
        Planner steps in machine mm (see :mod:`aikon.planner`).
    line_step : (L,) int64
        For each line, the index of the last step that is complete once the
        line has executed (-1 for set-up lines before any step).
    stroke_lines : (K,) int64
        For each stroke, the index of the line after which it is finished (pen up).
    fit : FitResult
        Scale and offset applied (identity unless ``fit=True`` had to act).
    profile : Profile
    """

    lines: tuple[str, ...]
    steps: tuple[Step, ...]
    line_step: np.ndarray
    stroke_lines: np.ndarray
    stroke_steps: tuple[int, ...]
    fit: FitResult
    profile: Profile
    start: tuple[float, float]

    def plan(self) -> Plan:
        """Plan these exact moves with the profile's limits (duration = plot-time estimate)."""
        return plan_steps(self.steps, limits_from_profile(self.profile), start=self.start,
                          stroke_steps=self.stroke_steps)

    def time_remaining_after_line(self, plan: Plan, index: int) -> float:
        """Seconds left once line ``index`` (0-based) has executed, from ``plan`` (:meth:`plan`)."""
        if index < 0:
            return plan.duration
        return plan.time_remaining_after_step(int(self.line_step[index]))

    def text(self) -> str:
        """The whole program with ``\\n`` line ends (and a final newline)."""
        return "".join(line + "\n" for line in self.lines)


# --------------------------------------------------------------------------- geometry


def _area_ranges(profile: Profile) -> tuple[tuple[float, float], tuple[float, float]]:
    return profile.work_area.machine_x_range, profile.work_area.machine_y_range


def check_in_area(points: np.ndarray, profile: Profile) -> None:
    """Raise :class:`OutOfBoundsError` unless every machine point ``(N, 2)`` mm is in the work area."""
    if not len(points):
        return
    (x0, x1), (y0, y1) = _area_ranges(profile)
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    problems = []
    for axis, low, high, a0, a1 in (("X", lo[0], hi[0], x0, x1), ("Y", lo[1], hi[1], y0, y1)):
        if low < a0 - _BOUNDS_TOLERANCE:
            problems.append(f"{axis} goes to {low:.3f} mm, {a0 - low:.3f} mm below the minimum {a0:g}")
        if high > a1 + _BOUNDS_TOLERANCE:
            problems.append(f"{axis} goes to {high:.3f} mm, {high - a1:.3f} mm beyond the maximum {a1:g}")
    if problems:
        wa = profile.work_area
        raise OutOfBoundsError(
            f"the drawing does not fit the work area of {profile.name} ({wa.width:g} x {wa.height:g} mm, "
            f"origin {wa.origin}): " + "; ".join(problems) + ". Use --fit to scale it into the area, "
            "a smaller page, or a profile for a bigger machine")


def fit_points(points: np.ndarray, profile: Profile) -> FitResult:
    """Scale (down only) and centre machine points into the work area; identity if they fit."""
    if not len(points):
        return FitResult(1.0, (0.0, 0.0))
    (x0, x1), (y0, y1) = _area_ranges(profile)
    lo, hi = points.min(axis=0), points.max(axis=0)
    if lo[0] >= x0 - _BOUNDS_TOLERANCE and hi[0] <= x1 + _BOUNDS_TOLERANCE \
            and lo[1] >= y0 - _BOUNDS_TOLERANCE and hi[1] <= y1 + _BOUNDS_TOLERANCE:
        return FitResult(1.0, (0.0, 0.0))
    extent = hi - lo
    scales = [1.0]
    if extent[0] > 0:
        scales.append((x1 - x0) / extent[0])
    if extent[1] > 0:
        scales.append((y1 - y0) / extent[1])
    scale = min(scales)
    centre_in = (lo + hi) / 2.0
    centre_area = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    offset = centre_area - centre_in * scale
    return FitResult(float(scale), (float(offset[0]), float(offset[1])))


def machine_paths(drawing: Drawing, profile: Profile, *, fit: bool = False) -> tuple[list[np.ndarray], FitResult]:
    """The drawing's non-empty paths in machine mm, checked (or fitted) against the work area.

    Raises
    ------
    OutOfBoundsError
        If ``fit`` is False and any point lies outside the work area.
    """
    frame = profile.frame(drawing.page.width, drawing.page.height)
    paths = [frame.to_machine(p) for p in drawing.all_paths() if len(p)]
    points = np.concatenate(paths) if paths else np.zeros((0, 2))
    placement = FitResult(1.0, (0.0, 0.0))
    if fit:
        placement = fit_points(points, profile)
        if placement.changed:
            off = np.asarray(placement.offset)
            paths = [p * placement.scale + off for p in paths]
            points = points * placement.scale + off
    check_in_area(points, profile)
    # clamp the float noise allowed by the tolerance so no written value is outside
    (x0, x1), (y0, y1) = _area_ranges(profile)
    lo, hi = np.array([x0, y0]), np.array([x1, y1])
    paths = [np.clip(p, lo, hi) for p in paths]
    return paths, placement


# --------------------------------------------------------------------------- formatting


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":
        return f"{0.0:.{decimals}f}"  # no "-0.000"
    return text


def _short(value: float, decimals: int = 3) -> str:
    """A number without trailing zeros (feeds, dwells, S values)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class _Writer:
    """Turns planner steps into G-code lines for one profile."""

    def __init__(self, profile: Profile) -> None:
        if profile.gcode is None:
            raise ProfileError(f"profile {profile.name} is for an {profile.firmware.upper()} board, which does "
                               f"not take G-code; use a grbl or marlin profile")
        self.p = profile
        self.g = profile.gcode
        self.grbl = profile.firmware == "grbl"
        self.lines: list[str] = []
        self.feed: float | None = None  # modal F in mm/min
        self.pos: tuple[str, str] | None = None

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def xy(self, x: float, y: float) -> tuple[str, str]:
        d = self.g.decimals
        return _number(x, d), _number(y, d)

    def feed_word(self, mm_per_s: float) -> str:
        f = round(mm_per_s * 60.0, 3)
        if self.feed == f:
            return ""
        self.feed = f
        return f" F{_short(f)}"

    def dwell(self, seconds: float) -> None:
        if self.g.dwell_units == "s":
            self.emit(f"G4 P{_short(seconds)}")
        else:
            self.emit(f"G4 P{int(round(seconds * 1000.0))}")

    def pen(self, up: bool) -> None:
        pen = self.p.pen
        if pen.mode == "servo":
            if self.p.firmware == "marlin":
                self.emit("M400")  # Marlin moves the servo when the line is parsed
            self.emit(pen.up_command if up else pen.down_command)
        else:
            z = pen.up_z if up else pen.down_z
            self.emit(f"G1 Z{_number(z, self.g.decimals)}{self.feed_word(pen.z_speed)}")

    def line_to(self, step: Step) -> bool:
        """Write a draw or travel move; False when it rounds to the current position."""
        target = self.xy(step.x, step.y)
        if target == self.pos:
            return False
        self.pos = target
        coords = f"X{target[0]} Y{target[1]}"
        if step.kind == "draw":
            self.emit(f"G1 {coords}{self.feed_word(self.p.motion.draw_speed)}")
        elif self.g.travel_command == "G0":
            # GRBL: rapid at $110, F is ignored; Marlin: G0 runs at the modal feed, so set it
            self.emit(f"G0 {coords}" + ("" if self.grbl else self.feed_word(self.p.motion.travel_speed)))
        else:
            self.emit(f"G1 {coords}{self.feed_word(self.p.motion.travel_speed)}")
        return True


def gcode_job(drawing: Drawing, profile: Profile, *, fit: bool = False) -> GcodeJob:
    """Build the G-code program for ``drawing`` on the machine ``profile`` describes.

    Parameters
    ----------
    drawing : Drawing
        Page coordinates in mm (origin top-left, y down); layers in order.
    profile : Profile
        A ``grbl`` or ``marlin`` profile.
    fit : bool
        Scale down and centre a drawing that does not fit the work area
        instead of refusing it.

    Returns
    -------
    GcodeJob

    Raises
    ------
    OutOfBoundsError
        The drawing does not fit (and ``fit`` is False).
    ProfileError
        The profile is not for a G-code firmware, or its ``max_line_length``
        is too short for the lines it needs.
    """
    w = _Writer(profile)  # refuses a profile without G-code before any work
    paths, placement = machine_paths(drawing, profile, fit=fit)
    # plan what is written: coordinates at the output resolution
    paths = [np.round(p, profile.gcode.decimals) + 0.0 for p in paths]
    start = (0.0, 0.0)
    steps, stroke_steps = job_steps(paths, profile, start=start, park=profile.end.park)
    if w.g.comments:
        w.emit(f"; aikon G-code for {profile.name}: {len(paths)} paths")
    w.emit("G21 G90 G94" if w.grbl else "G21")
    if not w.grbl:
        w.emit("G90")
    line_step: list[int] = [-1] * len(w.lines)
    homed = False
    for i, step in enumerate(steps):
        before = len(w.lines)
        if step.kind == "pen_up":
            w.pen(up=True)
        elif step.kind == "pen_down":
            w.pen(up=False)
            w.feed = None  # each stroke states its feed again (safe to resume at any stroke)
        elif step.kind == "dwell":
            w.dwell(step.seconds)
            if profile.start.home and not homed:
                # after the first lift: home with the pen up, then the job starts at the origin
                w.emit("$H" if w.grbl else "G28 X Y")
                homed = True
        else:
            w.line_to(step)
        line_step.extend([i] * (len(w.lines) - before))
    lines = tuple(w.lines)
    limit = w.g.max_line_length
    for number, line in enumerate(lines, start=1):
        if len(line) > limit:
            raise ProfileError(f"profile {profile.name}: line {number} would have {len(line)} characters, "
                               f"more than gcode.max_line_length = {limit}: {line!r} (lower gcode.decimals)")
        if not line.isascii():  # pragma: no cover - commands are validated ASCII on load
            raise ProfileError(f"profile {profile.name}: non-ASCII output {line!r}")
    line_step_arr = np.asarray(line_step, dtype=np.int64)
    stroke_lines = np.asarray([int(np.flatnonzero(line_step_arr == s)[-1]) for s in stroke_steps], dtype=np.int64)
    return GcodeJob(lines=lines, steps=tuple(steps), line_step=line_step_arr, stroke_lines=stroke_lines,
                    stroke_steps=tuple(stroke_steps), fit=placement, profile=profile, start=start)


def gcode_lines(drawing: Drawing, profile: Profile, *, fit: bool = False) -> list[str]:
    """The G-code program for ``drawing`` as a list of lines (no terminators). See :func:`gcode_job`."""
    return list(gcode_job(drawing, profile, fit=fit).lines)


def write_gcode(drawing: Drawing, profile: Profile, stream_or_path: TextIO | str | os.PathLike, *,
                fit: bool = False) -> GcodeJob:
    """Write the G-code program for ``drawing`` to a text stream or (atomically) to a file.

    Everything is checked before the first byte is written; a file is either
    complete or left as it was. Lines end in ``\\n``.

    Returns
    -------
    GcodeJob
        The job written (its :meth:`GcodeJob.plan` gives the time estimate).
    """
    job = gcode_job(drawing, profile, fit=fit)
    text = job.text()
    if isinstance(stream_or_path, (str, os.PathLike)):
        with atomic_output(stream_or_path, "w", encoding="ascii", newline="\n") as fh:
            fh.write(text)
    elif isinstance(stream_or_path, io.TextIOBase) or hasattr(stream_or_path, "write"):
        stream_or_path.write(text)
    else:  # pragma: no cover - misuse
        raise TypeError("stream_or_path must be a path or a writable text stream")
    return job
