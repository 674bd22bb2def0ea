"""A scripted fake GRBL device for host tests: deterministic, no clock, no thread.

It implements the transport interface (``write``/``read``/``close``) and
behaves like GRBL where the host's correctness depends on it: a 128-byte RX
buffer (an overflow is recorded, never hidden), a 15-block planner, ``ok``
when a line is parsed (not when drawn), dwells and spindle (servo pen)
changes that wait for the planner to empty, real-time ``?``/``!``/``~``/0x18
picked out of the byte stream, status reports, and a trace of the pen-down
strokes it executed. Time advances by one planner block per ``read`` call.
Faults: ``error_at`` / ``alarm_at`` / ``disconnect_at`` (1-based received line numbers).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from aikon.errors import PortError
from aikon.gcode_reader import GcodeState, MotionAction, SpindleAction, execute_block

BANNER = b"\r\nGrbl 1.1h ['$' for help]\r\n"


class FakeGrbl:
    def __init__(self, *, pen_down_s: float = 90.0, error_at: int | None = None, alarm_at: int | None = None,
                 disconnect_at: int | None = None, banner_on_open: bool = True, lines_per_read: int = 2,
                 silent: bool = False) -> None:
        self.name = "fake"
        self.rx = bytearray()
        self.rx_max = 0
        self.overflow = False
        self.writes: list[bytes] = []
        self.received_lines: list[str] = []
        self.out = bytearray(BANNER if banner_on_open and not silent else b"")
        self.planner: deque = deque()
        self.state = GcodeState()
        self.pos = (0.0, 0.0)
        self.pen_down = False
        self.pen_down_s = pen_down_s
        self.hold = False
        self.alarm = False
        self.error_at, self.alarm_at, self.disconnect_at = error_at, alarm_at, disconnect_at
        self.disconnected = False
        self.lines_per_read = lines_per_read
        self.silent = silent
        self.trace: list[list[tuple[float, float]]] = []
        self.status_queries = 0

    # transport interface
    def write(self, data: bytes) -> None:
        if self.disconnected:
            raise PortError("lost the connection to fake")
        self.writes.append(bytes(data))
        for b in data:
            ch = bytes([b])
            if ch == b"?":
                self.status_queries += 1
                if not self.silent:
                    self.out += self._status().encode() + b"\r\n"
            elif ch == b"!":
                self.hold = True
            elif ch == b"~":
                self.hold = False
            elif ch == b"\x18":
                self.rx.clear()
                self.planner.clear()
                self.hold = False
                self.state = GcodeState(position=self.state.position)
                self._set_pen(False)
                if not self.silent or True:
                    self.out += BANNER
                    self.silent = False
            elif b >= 0x80:
                pass
            else:
                self.rx.append(b)
                self.rx_max = max(self.rx_max, len(self.rx))
                if len(self.rx) > 128:
                    self.overflow = True

    def read(self, timeout_s: float) -> bytes:
        if self.disconnected:
            raise PortError("lost the connection to fake")
        self._step()
        data = bytes(self.out)
        self.out.clear()
        return data

    def close(self) -> None:
        pass

    # firmware
    def _status(self) -> str:
        if self.alarm:
            state = "Alarm"
        elif self.hold:
            state = "Hold:0"
        else:
            state = "Run" if self.planner else "Idle"
        return f"<{state}|MPos:{self.pos[0]:.3f},{self.pos[1]:.3f},0.000|FS:0,0>"

    def _set_pen(self, down: bool) -> None:
        if down and not self.pen_down:
            self.trace.append([self.pos])
        self.pen_down = down

    def _step(self) -> None:
        if self.silent or self.alarm:
            return
        if self.planner and not self.hold:
            target = self.planner.popleft()
            self.pos = target
            if self.pen_down:
                self.trace[-1].append(target)
        for _ in range(self.lines_per_read):
            idx = self.rx.find(b"\n")
            if idx < 0 or len(self.planner) >= 15:
                return
            line = bytes(self.rx[:idx]).decode("ascii")
            number = len(self.received_lines) + 1
            if self.disconnect_at is not None and number >= self.disconnect_at:
                self.disconnected = True
                return
            is_sync = line.startswith("G4") or line.startswith("M3") or line.startswith("M5")
            if is_sync and (self.planner or self.hold):
                return  # GRBL empties the planner before a dwell or a spindle change
            del self.rx[: idx + 1]
            self.received_lines.append(line)
            if self.error_at == number:
                self.out += b"error:20\r\n"
                continue
            if self.alarm_at == number:
                self.alarm = True
                self.planner.clear()
                self.rx.clear()
                self.out += b"ALARM:1\r\n[MSG:Reset to continue]\r\n"
                return
            if line.startswith("$"):
                self.out += b"ok\r\n"
                continue
            result = execute_block(self.state, line)
            if result.error is not None:
                self.out += f"error:{result.error}\r\n".encode()
                continue
            self.state = result.state
            for action in result.actions:
                if isinstance(action, MotionAction):
                    self.planner.append((action.target[0], action.target[1]))
                elif isinstance(action, SpindleAction):
                    self._set_pen(action.state in ("M3", "M4") and abs(action.speed - self.pen_down_s) < 1e-6)
            self.out += b"ok\r\n"

    def strokes(self) -> list[np.ndarray]:
        return [np.asarray(s) for s in self.trace if len(s) >= 2]


# The fake itself must notice what the host tests rely on it to notice.

def test_fake_records_rx_overflow():
    dev = FakeGrbl(lines_per_read=0)
    dev.write(b"G1X1Y1F100\n" * 12)  # 132 bytes, never read
    assert dev.overflow and dev.rx_max == 132


def test_fake_answers_ok_only_when_parsed_and_waits_for_dwell():
    dev = FakeGrbl(lines_per_read=5)
    dev.read(0)  # banner
    dev.write(b"G1X10Y0F600\nG4P0.1\n")
    first = dev.read(0)
    assert first.count(b"ok") == 1  # the dwell waits for the move to finish
    second = dev.read(0)
    assert second.count(b"ok") == 1 and dev.pos == (10.0, 0.0)
