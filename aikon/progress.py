"""A small progress bar on stderr with elapsed time and time left.

Time left comes from the caller (e.g. the motion plan's remaining duration)
when it knows better than a linear guess.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """``bar.update(done, remaining_s=None, detail="")``; ``bar.close()``.

    Redraws at most ``max_hz`` times a second; prints nothing when disabled
    (``enabled=False``, e.g. for ``--quiet`` or when stderr is not a terminal
    and ``force`` is false).
    """

    def __init__(self, total: float, label: str = "", *, stream: TextIO | None = None, enabled: bool | None = None,
                 width: int = 28, max_hz: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(float(total), 1e-12)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self.min_interval = 1.0 / max_hz
        self.clock = clock
        self.start = clock()
        self._last_draw = -1e9
        self._shown = False

    def line(self, done: float, remaining_s: float | None = None, detail: str = "") -> str:
        frac = min(max(done / self.total, 0.0), 1.0)
        filled = int(round(frac * self.width))
        elapsed = self.clock() - self.start
        if remaining_s is None:
            remaining_s = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        left = format_seconds(remaining_s) if remaining_s == remaining_s else "--:--"
        bar = "#" * filled + "-" * (self.width - filled)
        text = f"{self.label} [{bar}] {frac * 100:5.1f}% {format_seconds(elapsed)} elapsed, {left} left"
        return f"{text} {detail}".rstrip()

    def update(self, done: float, remaining_s: float | None = None, detail: str = "", *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self.stream.write("\r" + self.line(done, remaining_s, detail) + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def close(self, done: float | None = None, detail: str = "") -> None:
        if self.enabled:
            self.update(self.total if done is None else done, 0.0 if done is None else None, detail, force=True)
            self.stream.write("\n")
            self.stream.flush()
