"""The job journal: what a plot has *executed*, on disk, so it can resume after a crash.

Two files, both written atomically (temporary file, then rename), so a crash or
power loss leaves the previous complete version:

``JOURNAL`` (JSON)
    Job hash, profile, port, counts and the progress point, rewritten often
    while the job runs (every finished stroke, at most ``min_interval_s``
    apart, and at every pause, fault and the end).
``JOURNAL.gcode``
    The exact lines streamed, written once when the job starts. ``--resume``
    streams from these (checked against the hash), not from a regenerated
    program that a changed profile or SVG could alter.

The progress point is ``strokes_done`` (every stroke before it drew and its
closing pen-up executed) plus ``partial_mm`` (how much of the next stroke is
known drawn, measured along it). See :mod:`aikon.plotter.job` for how those
are known and the exact resume rule.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from aikon.errors import InputError
from aikon.fileio import write_text_atomic

FORMAT = "aikon-journal"
VERSION = 1
STATES = ("running", "paused", "done", "failed", "aborted")


def job_hash(lines: Sequence[str]) -> str:
    """sha256 (hex) of the streamed lines joined by ``\\n`` (what the firmware receives)."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JournalState:
    """One snapshot of a job's journal (all lengths mm, times s).

    Attributes
    ----------
    job_hash : str
        sha256 of the job's lines (see :func:`job_hash`).
    strokes_done : int
        Strokes fully drawn with their closing pen-up executed.
    partial_mm : float
        Length of stroke ``strokes_done`` known drawn (0 if not started).
    resume_point : (x, y) or None
        Work position in mm where drawing would resume (end of the known-drawn part).
    executed_line, acked_line : int
        Highest line index (0-based, in the job file) known executed / acknowledged.
    state : str
        One of ``running``, ``paused``, ``done``, ``failed``, ``aborted``.
    """

    job_hash: str
    job_file: str
    source: str
    profile: str
    port: str
    lines_total: int
    strokes_total: int
    strokes_done: int = 0
    partial_mm: float = 0.0
    resume_point: tuple[float, float] | None = None
    executed_line: int = -1
    acked_line: int = -1
    state: str = "running"
    reason: str = ""
    started: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)
    attempts: int = 1

    def to_json(self) -> str:
        data = {"format": FORMAT, "version": VERSION, **asdict(self)}
        if self.resume_point is not None:
            data["resume_point"] = [round(float(v), 4) for v in self.resume_point]
        data["partial_mm"] = round(float(self.partial_mm), 4)
        return json.dumps(data, indent=2) + "\n"

    @property
    def finished(self) -> bool:
        return self.state == "done"


def read_journal(path: str | os.PathLike) -> JournalState:
    """Load a journal, checking its format; :class:`InputError` if unreadable."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"journal {p} not found") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"journal {p} is unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{p} is not an aikon job journal")
    if data.get("version") != VERSION:
        raise InputError(f"journal {p} has version {data.get('version')}, this aikon reads version {VERSION}")
    fields = {k: data[k] for k in JournalState.__dataclass_fields__ if k in data}
    if fields.get("resume_point") is not None:
        fields["resume_point"] = tuple(float(v) for v in fields["resume_point"])
    try:
        state = JournalState(**fields)
    except TypeError as exc:
        raise InputError(f"journal {p} is missing fields: {exc}") from None
    if state.state not in STATES:
        raise InputError(f"journal {p} has an unknown state {state.state!r}")
    return state


def read_job_lines(state: JournalState, journal_path: str | os.PathLike) -> list[str]:
    """The job's lines saved beside the journal, verified against its hash."""
    job_file = Path(state.job_file)
    if not job_file.is_absolute():
        job_file = Path(journal_path).parent / job_file
    try:
        lines = job_file.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        raise InputError(f"the job file {job_file} named by the journal is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"the job file {job_file} is unreadable: {exc}") from None
    if job_hash(lines) != state.job_hash:
        raise InputError(f"the job file {job_file} does not match the journal's hash (edited or corrupted)")
    return lines


class Journal:
    """Writes a job's journal atomically and often.

    Parameters
    ----------
    path : path-like
        The JSON journal; the job's lines go to ``path + ".gcode"``.
    state : JournalState
        The initial snapshot.
    min_interval_s : float
        Routine updates closer together than this are skipped (state changes
        and ``force=True`` always write).
    clock : callable
        Monotonic seconds.
    """

    def __init__(self, path: str | os.PathLike, state: JournalState, *, min_interval_s: float = 0.5,
                 clock: Callable[[], float] | None = None) -> None:
        import time

        self.path = Path(path)
        self.state = state
        self.min_interval_s = min_interval_s
        self.clock = clock or time.monotonic
        self._last_write = -1e18
        self.writes = 0

    @classmethod
    def start(cls, path: str | os.PathLike, lines: Sequence[str], *, source: str, profile: str, port: str,
              strokes_total: int, **kwargs: Any) -> "Journal":
        """Save the job's lines and write the first journal snapshot."""
        path = Path(path)
        job_file = Path(str(path) + ".gcode")
        write_text_atomic(job_file, "".join(line + "\n" for line in lines))
        state = JournalState(job_hash=job_hash(lines), job_file=job_file.name, source=source, profile=profile,
                             port=port, lines_total=len(lines), strokes_total=strokes_total)
        journal = cls(path, state, **kwargs)
        journal.write(force=True)
        return journal

    def update(self, *, force: bool = False, **changes: Any) -> None:
        """Change fields and write if due (or if the state changed, or ``force``)."""
        if "state" in changes and changes["state"] != self.state.state:
            force = True
        self.state = replace(self.state, **changes)
        self.write(force=force)

    def write(self, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_write < self.min_interval_s:
            return
        self.state = replace(self.state, updated=_now())
        write_text_atomic(self.path, self.state.to_json())
        self._last_write = now
        self.writes += 1
