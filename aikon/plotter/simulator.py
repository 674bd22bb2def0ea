"""A virtual GRBL 1.1 pen plotter: a byte-level state machine on a virtual clock.

The simulator behaves like the firmware as a sender sees it, so the real host
stack can be tested without hardware (``aikon simulate`` serves it on a
pseudo-terminal, :mod:`aikon.plotter.pty_link`; ``aikon plot --sim`` uses
:class:`aikon.plotter.pty_link.SimSerial` in-process).

API
---
``sim = GrblSimulator(profile=None, settings=None, pen=None, faults=(), seed=0)``
    Powers up at virtual time 0 and queues the banner.
``sim.feed(data: bytes)``
    Bytes from the host, received now. Real-time bytes (``?``, ``!``, ``~``,
    0x18 and every byte >= 0x80) act at once and never enter a line; other
    bytes go to the 128-byte RX buffer (127 usable, as on the AVR ring
    buffer); bytes that do not fit are lost, counted in ``sim.rx_overflows``,
    recorded in the trace and announced with ``[MSG:SIM:RX overflow ...]``
    (a simulator-only push message; real GRBL is silent and merely garbles
    the lines).
``sim.read() -> bytes``
    Replies produced so far (``ok``, ``error:N``, ``ALARM:N``, ``<status>``,
    ``[MSG:...]``, the banner), each ending in ``\\r\\n``.
``sim.advance(dt)``
    Runs the virtual clock ``dt`` seconds: lines are parsed as planner room
    allows (``ok`` when a line is in the planner; ``M3``/``M5``/``G4``/``M2``
    wait for the planner to empty as with ``$32=0``), motion runs with GRBL's
    planner (:mod:`aikon.plotter.sim_planner`), dwells take their time.
``sim.run_until_idle(max_time)``
    Advance until nothing is pending and the machine is idle.
``sim.trace``
    :class:`SimTrace`: every pen-down stroke as executed (machine
    coordinates as the pen really went, in mm), events (alarms, faults,
    overflows, out-of-work-area moves) and line counts; ``to_json()``.
``sim.place_carriage(x, y)``
    The user pushes the stopped carriage by hand to a physical position (to
    confirm an origin after a power loss).
``sim.power_cycle()``
    A hardware reset (DTR on port open, or power back after a disconnect):
    reboot, banner. With ``power_loss_zeroes_position`` (default) the
    machine position restarts at 0,0,0 wherever the carriage is, as on a real
    board without homing.

Faults (``Fault.parse("alarm-at=12")``; N counts every line the firmware
receives and answers, from 1, across resets; each fault fires once):

``disconnect-at=N``  after line N is received the board loses power: motion
    stops where it is, nothing more is sent or received (``sim.link_up``
    is False) until :meth:`power_cycle`.
``error-at=N[:CODE]`` line N is answered ``error:CODE`` (default 20) and not run.
``alarm-at=N[:CODE]`` half way through the motion of line N (or when it
    runs, for a non-motion line) ``ALARM:CODE`` (default 1, hard limit):
    motion stops at once, ``[MSG:Reset to continue]``, nothing is served until
    a soft reset, after which the machine is in the Alarm state.
``garble-rate=P``    each byte received or sent (line ends and real-time bytes
    excepted) is replaced by a random letter or digit with probability P.
``stall-at=N``       after line N is received the firmware hangs: no replies,
    no motion, until :meth:`power_cycle`.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from aikon.gcode_reader import (
    CoolantAction,
    DwellAction,
    GcodeState,
    MotionAction,
    PenModel,
    ProgramAction,
    SpindleAction,
    SyncAction,
    check_system_line,
    execute_block,
    pen_model_from,
    read_float,
)
from aikon.plotter import grbl_codes as codes
from aikon.plotter.sim_planner import MotionPlanner

#: GRBL's defaults.h values, with motion limits of a small pen plotter.
DEFAULT_SETTINGS: dict[int, float] = {
    0: 10, 1: 25, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 10: 1, 11: 0.010, 12: 0.002, 13: 0,
    20: 0, 21: 0, 22: 0, 23: 0, 24: 25.0, 25: 500.0, 26: 250, 27: 1.0, 30: 1000.0, 31: 0.0, 32: 0,
    100: 80.0, 101: 80.0, 102: 80.0, 110: 6000.0, 111: 6000.0, 112: 1000.0,
    120: 500.0, 121: 500.0, 122: 200.0, 130: 300.0, 131: 300.0, 132: 50.0,
}
_INTEGER_SETTINGS = frozenset({0, 1, 2, 3, 4, 5, 6, 10, 13, 20, 21, 22, 23, 26, 32})
_DECIMALS = {30: 0, 31: 0}

FAULT_KINDS = ("disconnect-at", "error-at", "alarm-at", "garble-rate", "stall-at")
_GARBLE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def settings_from_profile(profile: object | None) -> dict[int, float]:
    """GRBL ``$`` settings for a profile: rates, accelerations, junction deviation, travel.

    ``$110/$111 = travel_speed * 60``, ``$120/$121 = max(draw, travel
    acceleration)``, ``$11 = junction_deviation``, ``$130/$131`` = work area,
    and for a Z pen ``$112 = z_speed * 60``. Missing pieces keep the defaults.
    """
    settings = dict(DEFAULT_SETTINGS)
    if profile is None:
        return settings
    motion = getattr(profile, "motion", None)
    if motion is not None:
        settings[110] = settings[111] = float(motion.travel_speed) * 60.0
        settings[120] = settings[121] = float(max(motion.draw_acceleration, motion.travel_acceleration))
        settings[11] = float(motion.junction_deviation)
    area = getattr(profile, "work_area", None)
    if area is not None:
        settings[130] = float(area.width)
        settings[131] = float(area.height)
    pen = getattr(profile, "pen", None)
    if pen is not None and getattr(pen, "mode", None) == "z" and getattr(pen, "z_speed", None):
        settings[112] = float(pen.z_speed) * 60.0
    start = getattr(profile, "start", None)
    if start is not None and getattr(start, "home", False):
        settings[22] = 1
    return settings


@dataclass(frozen=True)
class Fault:
    """One injected fault: ``kind`` (see :data:`FAULT_KINDS`), line or rate, optional code."""

    kind: str
    value: float
    code: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Fault":
        """Parse ``KIND=N`` (``error-at`` and ``alarm-at`` accept ``N:CODE``)."""
        kind, sep, rest = text.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in FAULT_KINDS:
            raise ValueError(f"fault must be KIND=VALUE with KIND one of {', '.join(FAULT_KINDS)}: {text!r}")
        code: int | None = None
        if ":" in rest and kind in ("error-at", "alarm-at"):
            rest, code_text = rest.split(":", 1)
            try:
                code = int(code_text)
            except ValueError:
                raise ValueError(f"fault code must be an integer: {text!r}") from None
            table = codes.GRBL_ERRORS if kind == "error-at" else codes.GRBL_ALARMS
            if code not in table:
                raise ValueError(f"{kind} code {code} is not a GRBL {'error' if kind == 'error-at' else 'alarm'}")
        try:
            value = float(rest)
        except ValueError:
            raise ValueError(f"fault value must be a number: {text!r}") from None
        if kind == "garble-rate":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"garble-rate must be between 0 and 1: {text!r}")
        elif value < 1 or not value.is_integer():
            raise ValueError(f"{kind} needs a line number >= 1: {text!r}")
        return cls(kind, value, code)


@dataclass
class SimTrace:
    """What the simulated machine did.

    Attributes
    ----------
    strokes : list of list of (x, y)
        Pen-down polylines in machine mm, in the order drawn, recorded as the
        motion executes (a stroke cut by an alarm, reset or power loss ends
        where the pen stopped).
    events : list of dict
        ``{"time": s, "kind": ..., ...}``: alarm, reset, power, fault,
        rx_overflow, out_of_bounds, error.
    """

    strokes: list = field(default_factory=list)
    events: list = field(default_factory=list)
    lines_received: int = 0
    lines_ok: int = 0
    lines_error: int = 0

    def to_dict(self) -> dict:
        return {"strokes": [[[round(x, 6), round(y, 6)] for x, y in s] for s in self.strokes],
                "events": self.events, "lines_received": self.lines_received,
                "lines_ok": self.lines_ok, "lines_error": self.lines_error}

    def to_json(self, **extra: object) -> str:
        """JSON text, one stroke or event per line; ``extra`` keys are added at the top level."""
        return format_trace_json({**self.to_dict(), **extra})


def format_trace_json(data: Mapping[str, object]) -> str:
    """A dict as JSON with each item of a list value on its own line (compact yet diffable)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(json.dumps(v, separators=(",", ":")) for v in value)
            parts.append(f"{json.dumps(key)}: [\n  {items}\n ]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{\n " + ",\n ".join(parts) + "\n}"


class GrblSimulator:
    """A GRBL 1.1 plotter on a virtual clock (see the module docstring for the API).

    Parameters
    ----------
    profile : aikon.profiles.Profile, optional
        Source of settings (:func:`settings_from_profile`), pen model and work
        area (moves leaving it are recorded as ``out_of_bounds`` events, and
        are ``ALARM:2`` when soft limits ``$20=1`` are on).
    settings : mapping of int to float, optional
        ``$`` settings overriding the profile's and the defaults.
    pen : PenModel, dict or profile, optional
        Pen model; default from the profile, else a servo pen (``M3 S>0`` down).
    faults : iterable of Fault or str
    seed : int
        Seed of the garbling random generator.
    power_loss_zeroes_position : bool
        After :meth:`power_cycle` the machine position restarts at zero
        wherever the carriage really is (True, like a real board), or keeps it.
    """

    def __init__(self, *, profile: object | None = None, settings: Mapping[int, float] | None = None,
                 pen: object = None, faults: Iterable[Fault | str] = (), seed: int = 0,
                 power_loss_zeroes_position: bool = True) -> None:
        self.settings: dict[int, float] = settings_from_profile(profile)
        if settings:
            self.settings.update({int(k): float(v) for k, v in settings.items()})
        self.pen_model: PenModel = pen_model_from(pen if pen is not None else
                                                  (profile if profile is not None else None))
        area = getattr(profile, "work_area", None)
        self.work_area: tuple[tuple[float, float], tuple[float, float]] | None = (
            (tuple(area.machine_x_range), tuple(area.machine_y_range)) if area is not None else None)
        self.faults: list[Fault] = [f if isinstance(f, Fault) else Fault.parse(f) for f in faults]
        self._fired: set[int] = set()
        self._garble = max((f.value for f in self.faults if f.kind == "garble-rate"), default=0.0)
        self._rng = random.Random(seed)
        self.power_loss_zeroes_position = power_loss_zeroes_position
        self.trace = SimTrace()
        self.time = 0.0
        self.rx_overflows = 0
        self.link_up = True
        self.stalled = False
        self.last_executed_line = 0
        self._offset = (0.0, 0.0, 0.0)   # physical = machine position + offset (after power loss)
        self._stroke: list[tuple[float, float]] | None = None
        self._active_block = None
        self._out = bytearray()
        self._boot(initial=True)
        self._send_banner()

    def _send_banner(self) -> None:
        self._send("")
        self._send(codes.BANNER)
        if self.state == "Alarm" or self.settings[22]:  # homing enabled: locked until $H or $X
            self.state = "Alarm"
            self._send("[MSG:'$H'|'$X' to unlock]")

    # ------------------------------------------------------------------ state
    def _boot(self, *, initial: bool = False) -> None:
        """Power-up / reset initialisation (not the banner)."""
        s = self.settings
        self.planner = MotionPlanner((s[110], s[111], s[112]), (s[120], s[121], s[122]), s[11])
        self._rx = bytearray()
        self._line: list[str] = []
        self._in_paren = self._in_semicolon = self._overflow = False
        self._pending: deque = deque()
        self._pending_line = 0
        self._pending_is_jog = False
        self._dwell_until: float | None = None
        self._busy_until: float | None = None
        self._hold_complete = False
        self._jog_cancel = False
        self._critical = False
        self._alarm_limit = None
        self._wco_counter = 0
        self._ovr_counter = 0
        if initial:
            self._mpos = (0.0, 0.0, 0.0)
            self.gc = GcodeState()
        self.state = "Idle"
        self._spindle = ("M5", 0.0)
        self._pen_down = False
        self._z_pen_down_now()

    def _z_pen_down_now(self) -> None:
        if self.pen_model.kind == "z":
            self._pen_down = self.pen_model.z_is_down(self.position[2])

    @property
    def position(self) -> tuple[float, float, float]:
        """Machine position (MPos) now, mm."""
        p = self.planner.position()
        return p if p is not None else self._mpos

    @property
    def physical_position(self) -> tuple[float, float, float]:
        """Where the carriage really is, mm (differs from MPos after a power loss)."""
        p = self.position
        return (p[0] + self._offset[0], p[1] + self._offset[1], p[2] + self._offset[2])

    @property
    def pen_down(self) -> bool:
        return self._pen_down

    @property
    def state_name(self) -> str:
        """The state as a status report shows it (``Hold:0``, ``Hold:1``, ...)."""
        if self.state == "Hold":
            return "Hold:0" if self._hold_complete else "Hold:1"
        return self.state

    @property
    def rx_free(self) -> int:
        return codes.RX_BUFFER_SIZE - 1 - len(self._rx)

    @property
    def is_idle(self) -> bool:
        """Nothing to do: no bytes, no pending line, planner empty, not dwelling, state Idle."""
        return (self.state == "Idle" and not self._rx and not self._pending and self.planner.is_empty
                and self._dwell_until is None and self._busy_until is None)

    # ------------------------------------------------------------------ output
    def read(self) -> bytes:
        """Drain and return the bytes the firmware has sent."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def _send(self, text: str) -> None:
        if not self.link_up or self.stalled:
            return
        if self._garble > 0.0:
            chars = list(text)
            for i, ch in enumerate(chars):
                if self._rng.random() < self._garble:
                    chars[i] = self._rng.choice(_GARBLE_CHARS.replace(ch, ""))
            text = "".join(chars)
        self._out += text.encode("ascii", "replace") + b"\r\n"

    def _event(self, kind: str, **detail: object) -> None:
        self.trace.events.append({"time": round(self.time, 6), "kind": kind, **detail})

    # ------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:
        """Bytes from the host, arriving now."""
        if not self.link_up or self.stalled:
            return
        lost = 0
        for byte in data:
            if byte in codes.REALTIME_BYTES or byte >= 0x80:
                self._realtime(byte)
                if not self.link_up or self.stalled:
                    return
                continue
            if self._garble > 0.0 and byte not in (0x0A, 0x0D) and self._rng.random() < self._garble:
                byte = ord(self._rng.choice(_GARBLE_CHARS))
            if len(self._rx) >= codes.RX_BUFFER_SIZE - 1:
                lost += 1
                continue
            self._rx.append(byte)
            if byte in (0x0A, 0x0D):
                # The firmware parses a line as soon as it is complete (fast next to the baud rate).
                self._service()
                if not self.link_up or self.stalled:
                    return
        if lost:
            self.rx_overflows += lost
            self._event("rx_overflow", bytes_lost=lost)
            self._send(f"[MSG:SIM:RX overflow, {lost} bytes lost]")
        self._service()

    def _realtime(self, byte: int) -> None:
        if byte == codes.RT_SOFT_RESET:
            self.soft_reset()
            return
        if self._critical or self.state == "Sleep":
            return
        if byte == codes.RT_STATUS:
            self._send(self.status_report())
        elif byte == codes.RT_FEED_HOLD:
            if self.state in ("Run", "Idle", "Jog"):
                if self.state == "Jog":
                    self._jog_cancel = True
                else:
                    self.state = "Hold"
                self.planner.start_hold()
                self._hold_complete = self.planner.is_empty or self.planner.speed <= 0.0
        elif byte == codes.RT_CYCLE_START:
            if self.state == "Hold" and self._hold_complete:
                self.planner.resume()
                self._hold_complete = False
                self.state = "Run" if not self.planner.is_empty else "Idle"
        elif byte == codes.RT_JOG_CANCEL:
            if self.state == "Jog" and not self.planner.is_empty:
                self._jog_cancel = True
                self.planner.start_hold()
        elif 0x90 <= byte <= 0x97:
            self._override(byte)

    def _override(self, byte: int) -> None:
        p = self.planner
        if byte == 0x90:
            p.feed_override = 100
        elif byte in (0x91, 0x92, 0x93, 0x94):
            step = {0x91: 10, 0x92: -10, 0x93: 1, 0x94: -1}[byte]
            p.feed_override = min(200, max(10, p.feed_override + step))
        else:
            p.rapid_override = {0x95: 100, 0x96: 50, 0x97: 25}[byte]
        self._ovr_counter = 0
        if not p.hold:
            p.replan()

    # ------------------------------------------------------------------ line assembly and parsing
    def _service(self) -> None:
        """Do everything possible at the current instant: pending actions, then new lines."""
        while True:
            if not self.link_up or self.stalled or self._critical or self.state == "Sleep" \
                    or self._busy_until is not None:
                return
            if self._pending or self._pending_line:
                if not self._run_pending():
                    return
                continue
            if not self._rx:
                return
            if not self._assemble_line():
                return

    def _assemble_line(self) -> bool:
        """Move bytes from RX into the line buffer; execute a completed line. False: RX empty."""
        while self._rx:
            ch = chr(self._rx.pop(0))
            if ch in "\r\n":
                line = "".join(self._line)
                overflow = self._overflow
                self._line = []
                self._in_paren = self._in_semicolon = self._overflow = False
                self._receive_line(line, overflow)
                return True
            if self._in_paren or self._in_semicolon or self._overflow:
                if self._in_paren and ch == ")":
                    self._in_paren = False
                continue
            if ord(ch) <= 0x20 or ch == "/":
                continue
            if ch == "(":
                self._in_paren = True
            elif ch == ";":
                self._in_semicolon = True
            elif len(self._line) >= codes.MAX_LINE_LENGTH:
                self._overflow = True
            else:
                self._line.append(ch.upper() if "a" <= ch <= "z" else ch)
        return False

    def _fault(self, kind: str, line: int) -> Fault | None:
        for i, f in enumerate(self.faults):
            if f.kind == kind and i not in self._fired and int(f.value) == line:
                self._fired.add(i)
                return f
        return None

    def _receive_line(self, line: str, overflow: bool) -> None:
        self.trace.lines_received += 1
        number = self.trace.lines_received
        if self._fault("disconnect-at", number):
            self._event("fault", fault="disconnect", line=number)
            self._lose_power()
            return
        if self._fault("stall-at", number):
            self._event("fault", fault="stall", line=number)
            self._cut_stroke()
            self.stalled = True
            return
        fault = self._fault("error-at", number)
        if fault:
            self._event("fault", fault="error", line=number)
            self._reply_error(fault.code or 20, number)
            return
        if overflow:
            self._reply_error(11, number)
            return
        if not line:
            self._reply_ok()
            return
        if line[0] == "$":
            self._system_line(line, number)
            return
        if self.state in ("Alarm", "Jog"):
            self._reply_error(9, number)
            return
        result = execute_block(self.gc, line, arc_tolerance=self.settings[12])
        if result.error is not None:
            self._reply_error(result.error, number)
            return
        self.gc = result.state
        if self.state == "Check":
            self._reply_ok()
            return
        self._pending.extend(result.actions)
        self._pending_line = number
        alarm = self._fault("alarm-at", number)
        if alarm:
            self._alarm_limit = (number, alarm.code or 1)
            if not any(isinstance(a, MotionAction) for a in result.actions):
                self._pending.appendleft(("alarm", alarm.code or 1))
                self._alarm_limit = None

    def _reply_ok(self) -> None:
        self.trace.lines_ok += 1
        self._send("ok")

    def _reply_error(self, code: int, number: int) -> None:
        self.trace.lines_error += 1
        self._event("error", code=code, line=number)
        self._send(f"error:{code}")

    def _run_pending(self) -> bool:
        """Carry out the current line's actions; False while blocked (planner full, sync, dwell)."""
        while self._pending:
            action = self._pending[0]
            if isinstance(action, MotionAction):
                if self.planner.is_full:
                    return False
                self._queue_motion(action)
                if self._critical:
                    self._pending.clear()
                    self._pending_line = 0
                    return False
            elif isinstance(action, tuple) and action[0] == "alarm":
                if not self._synced():
                    return False
                self._pending.popleft()
                self._raise_alarm(action[1])
                return False
            else:
                # Spindle, coolant, dwell, EEPROM writes and program flow wait for the planner to empty.
                if not self._synced():
                    return False
                if isinstance(action, DwellAction):
                    if self._dwell_until is None:
                        self._dwell_until = self.time + action.seconds
                        self._pending[0] = ("dwelling",)
                        return False
                elif isinstance(action, tuple) and action[0] == "dwelling":
                    if self._dwell_until is not None:
                        return False
                elif isinstance(action, SpindleAction):
                    self._set_spindle(action.state, action.speed)
                elif isinstance(action, ProgramAction):
                    if action.code == "M0":
                        self.state = "Hold"
                        self._hold_complete = True
                        self.planner.start_hold()
                    elif action.code in ("M2", "M30"):
                        self._set_spindle("M5", self.gc.spindle_speed)
                        self._send("[MSG:Pgm End]")
                elif isinstance(action, (CoolantAction, SyncAction)):
                    pass
            self._pending.popleft()
        if self._pending_line:
            self._pending_line = 0
            self._pending_is_jog = False
            self._reply_ok()
        return True

    def _synced(self) -> bool:
        return self.planner.is_empty and self.state not in ("Hold",) and self._busy_until is None

    def _queue_motion(self, action: MotionAction) -> None:
        start = self._planned_end()
        target = action.target
        if self.work_area is not None:
            phys = (target[0] + self._offset[0], target[1] + self._offset[1])
            (x0, x1), (y0, y1) = self.work_area
            if not (x0 - 1e-6 <= phys[0] <= x1 + 1e-6 and y0 - 1e-6 <= phys[1] <= y1 + 1e-6):
                self._event("out_of_bounds", line=self._pending_line, target=[round(phys[0], 4), round(phys[1], 4)])
                if self.settings[20]:
                    self._raise_alarm(2)
                    return
        kind = "jog" if self._pending_is_jog else ("rapid" if action.kind == "rapid" else "feed")
        if self.pen_model.kind == "z":  # the pen follows the planned Z, not the Z of this instant
            drawing = self.pen_model.z_is_down(start[2]) and self.pen_model.z_is_down(target[2])
        else:  # servo changes wait for the planner to empty, so the pen now is the pen then
            drawing = self._pen_down
        block = self.planner.add(kind, start, target, action.feed, self._pending_line, tag=drawing)
        if block is None:
            return
        if kind == "jog":
            self.state = "Jog"
        elif self.state == "Idle":
            self.state = "Run"
        if self._alarm_limit and self._alarm_limit[0] == self._pending_line:
            block.tag = (drawing, "alarm", self._alarm_limit[1])
            self._alarm_limit = None

    def _planned_end(self) -> tuple[float, float, float]:
        if self.planner.blocks:
            return self.planner.blocks[-1].end
        return self._mpos

    def _set_spindle(self, state: str, speed: float) -> None:
        self._spindle = (state, speed)
        if self.pen_model.kind == "servo":
            down = self.pen_model.servo_is_down(state, speed)
            if down != self._pen_down:
                self._pen_down = down
                if not down:
                    self._end_stroke()
                self._event("pen", down=down)

    # ------------------------------------------------------------------ system commands
    def _system_line(self, line: str, number: int) -> None:
        if line.startswith("$J"):
            code = self._jog(line, number)
        else:
            code = self._system(line)
        if code is None:
            self._reply_ok()
        elif code >= 0:
            self._reply_error(code, number)
        # code < 0: the command answered on its own (reset paths)

    def _jog(self, line: str, number: int) -> int | None:
        """``$J=``: a jog block, queued like a line (answered when in the planner)."""
        if self.state not in ("Idle", "Jog"):
            return 8
        if len(line) < 3 or line[2] != "=":
            return 3
        result = execute_block(self.gc, line, arc_tolerance=self.settings[12])
        if result.error is not None:
            return result.error
        motions = [a for a in result.actions if isinstance(a, MotionAction)]
        if self.settings[20] and self.work_area and motions:
            t = motions[-1].target
            (x0, x1), (y0, y1) = self.work_area
            if not (x0 <= t[0] + self._offset[0] <= x1 and y0 <= t[1] + self._offset[1] <= y1):
                return 15
        self.gc = result.state
        self._pending.extend(motions)
        self._pending_line = number
        self._pending_is_jog = True
        return -1

    def _system(self, line: str) -> int | None:
        if len(line) == 1:
            self._send("[HLP:$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x]")
            return None
        c = line[1]
        if c in "$GCX":
            if len(line) != 2:
                return 3
            if c == "$":
                if self.state in ("Run", "Hold"):
                    return 8
                for key in sorted(self.settings):
                    self._send(f"${key}={self._format_setting(key)}")
            elif c == "G":
                self._send(self.gc.modes_report())
            elif c == "C":
                if self.state == "Check":
                    self._send("[MSG:Disabled]")
                    self._reply_ok()
                    self._reset(announce_alarm=False)
                    return -1
                if self.state != "Idle":
                    return 8
                self.state = "Check"
                self._send("[MSG:Enabled]")
            elif c == "X":
                if self.state == "Alarm":
                    self._send("[MSG:Caution: Unlocked]")
                    self.state = "Idle"
            return None
        if self.state not in ("Idle", "Alarm"):
            return 8
        syntax = check_system_line(line)
        if syntax is not None:
            return syntax
        if c == "#":
            for i, cs in enumerate(self.gc.coord_systems):
                self._send(f"[G{54 + i}:{_fmt3(cs)}]")
            self._send(f"[G28:{_fmt3(self.gc.g28_position)}]")
            self._send(f"[G30:{_fmt3(self.gc.g30_position)}]")
            self._send(f"[G92:{_fmt3(self.gc.g92_offset)}]")
            self._send(f"[TLO:{self.gc.tool_length_offset:.3f}]")
            self._send("[PRB:0.000,0.000,0.000:0]")
            return None
        if c == "H":
            if not self.settings[22]:
                return 5
            self._home()
            return -1  # answered when the cycle ends
        if c == "S":
            self._send("[MSG:Sleeping]")
            self.state = "Sleep"
            return None
        if c == "I":
            self._send("[VER:1.1h.20190825:]")
            self._send(f"[OPT:V,{codes.PLANNER_BLOCKS - 1},{codes.RX_BUFFER_SIZE}]")
            return None
        if c == "R":
            self.settings = dict(DEFAULT_SETTINGS)
            self._send("[MSG:Restoring defaults]")
            self._reply_ok()
            self._reset(announce_alarm=False)
            return -1
        if c == "N" and len(line) == 2:
            self._send("$N0=")
            self._send("$N1=")
            return None
        if c == "N":
            return None if self.state == "Idle" else 8
        parsed = read_float(line, 1)
        assert parsed is not None  # check_system_line passed
        key = int(parsed[0])
        value = float(line.split("=", 1)[1])
        return self._store_setting(key, value)

    def _store_setting(self, key: int, value: float) -> int | None:
        if key not in codes.GRBL_SETTINGS:
            return 3
        if value < 0.0:
            return 4
        if key == 0 and value < 3:
            return 6
        if key == 20 and value and not self.settings[22]:
            return 10
        self.settings[key] = float(int(value)) if key in _INTEGER_SETTINGS else value
        s = self.settings
        self.planner.max_rates = (s[110], s[111], s[112])
        self.planner.accelerations = (s[120], s[121], s[122])
        self.planner.junction_deviation = s[11]
        return None

    def _format_setting(self, key: int) -> str:
        value = self.settings[key]
        if key in _INTEGER_SETTINGS:
            return str(int(value))
        return f"{value:.{_DECIMALS.get(key, 3)}f}"

    def _home(self) -> None:
        """Homing: the carriage goes to the machine origin (pen up); MPos becomes 0."""
        self._end_stroke()
        phys = self.physical_position
        distance = math.hypot(phys[0], phys[1])
        self._busy_until = self.time + distance / (self.settings[25] / 60.0) + 0.5
        self.state = "Home"
        self._mpos = (0.0, 0.0, 0.0)
        self._offset = (0.0, 0.0, 0.0)
        self.gc = GcodeState(coord_systems=self.gc.coord_systems, g28_position=self.gc.g28_position,
                             g30_position=self.gc.g30_position)
        self._event("home")

    # ------------------------------------------------------------------ status
    def status_report(self) -> str:
        """The ``<...>`` report GRBL 1.1 would send now."""
        pos = self.position
        mask = int(self.settings[10])
        wco = self.gc.work_offset
        if mask & 1:
            fields = [f"MPos:{_fmt3(pos)}"]
        else:
            fields = [f"WPos:{_fmt3(tuple(p - w for p, w in zip(pos, wco)))}"]
        if mask & 2:
            fields.append(f"Bf:{self.planner.available},{codes.RX_BUFFER_SIZE - len(self._rx)}")
        rate = self.planner.speed * 60.0 if not self.planner.is_empty else 0.0
        spindle = self._spindle[1] if self._spindle[0] != "M5" else 0.0
        fields.append(f"FS:{rate:.0f},{spindle:.0f}")
        busy = self.state in ("Run", "Hold", "Jog", "Home")
        # GRBL refreshes WCO and overrides only now and then (report.c counters).
        if self._wco_counter > 0:
            self._wco_counter -= 1
        else:
            fields.append(f"WCO:{_fmt3(wco)}")
            self._wco_counter = (30 if busy else 10) - 1
            if self._ovr_counter == 0:
                self._ovr_counter = 1
        if self._ovr_counter > 0:
            self._ovr_counter -= 1
        else:
            p = self.planner
            fields.append(f"Ov:{p.feed_override},{p.rapid_override},100")
            self._ovr_counter = (20 if busy else 10) - 1
        return f"<{self.state_name}|{'|'.join(fields)}>"

    # ------------------------------------------------------------------ resets, alarms, power
    def soft_reset(self) -> None:
        """Ctrl-X: abort; ALARM:3 if the machine was moving; banner."""
        if not self.link_up or self.stalled:
            return
        moving = (not self.planner.is_empty and self.planner.speed > 0.0) or self.state in ("Home", "Jog") \
            or (self.state == "Run" and not self.planner.is_empty)
        if moving and not self._critical:
            self._cut_stroke()
            self._event("alarm", code=3, line=self._current_line())
            self._send("ALARM:3")
            self.state = "Alarm"
        self._reset(announce_alarm=True)

    def _current_line(self) -> int:
        return self.planner.blocks[0].line if self.planner.blocks else 0

    def _reset(self, *, announce_alarm: bool) -> None:
        was_alarm = self.state in ("Alarm", "Sleep") or self._critical
        # Cut first: the trace must end where the pen stopped, inside the block
        # in progress, before settling forgets that block.
        self._cut_stroke()
        self._settle_position()
        self._set_spindle("M5", 0.0)
        gc = self.gc
        self._boot()
        self.gc = GcodeState(position=self._mpos, coord_systems=gc.coord_systems,
                             g28_position=gc.g28_position, g30_position=gc.g30_position)
        self._event("reset")
        if was_alarm:
            self.state = "Alarm"
        self._send_banner()

    def _settle_position(self) -> None:
        """Take the position where motion stopped as the machine position (GRBL's gc_sync_position)."""
        self._mpos = self.position
        self._active_block = None

    def _raise_alarm(self, code: int) -> None:
        """A critical alarm (hard/soft limit): stop at once, report, wait for a reset."""
        self._settle_position_and_cut()
        self.planner.clear()
        self._pending.clear()
        self._pending_line = 0
        self._dwell_until = None
        self.state = "Alarm"
        self._event("alarm", code=code, line=self.trace.lines_received)
        self._send(f"ALARM:{code}")
        if code in (1, 2):
            self._critical = True
            self._send("[MSG:Reset to continue]")

    def _settle_position_and_cut(self) -> None:
        self._cut_stroke()
        self._settle_position()
        self.gc = replace(self.gc, position=self._mpos)

    def _lose_power(self) -> None:
        """USB unplugged on a USB-powered board: everything stops where it is; the link is gone."""
        self._cut_stroke()
        self._settle_position()
        self.planner.clear()
        self.link_up = False  # what was sent before this instant still reaches the host
        self._event("power", on=False)

    def power_cycle(self) -> None:
        """Hardware reset (port opened with DTR, or power restored): reboot and send the banner."""
        phys = self.physical_position
        self._cut_stroke()
        self._settle_position()
        self.planner.clear()
        self.link_up = True
        self.stalled = False
        self._out.clear()
        if self.power_loss_zeroes_position:
            self._offset = phys
            self._mpos = (0.0, 0.0, 0.0)
        gc = self.gc
        self._boot()
        self.gc = GcodeState(position=self._mpos, coord_systems=gc.coord_systems,
                             g28_position=gc.g28_position, g30_position=gc.g30_position)
        self._event("power", on=True)
        self._send_banner()

    def place_carriage(self, x: float, y: float) -> None:
        """The user moves the idle carriage by hand to physical machine position ``(x, y)`` mm.

        Models "put the pen at the origin and confirm" after a power loss: the
        firmware's MPos does not change, the real position (and the trace) does.
        """
        if not self.planner.is_empty:
            raise RuntimeError("the carriage can only be moved by hand while the machine is stopped")
        self._end_stroke()
        mpos = self.position
        self._offset = (x - mpos[0], y - mpos[1], self._offset[2])
        self._event("carriage_placed", x=round(x, 6), y=round(y, 6))

    # ------------------------------------------------------------------ trace
    def _physical(self, p: Sequence[float]) -> tuple[float, float]:
        return (p[0] + self._offset[0], p[1] + self._offset[1])

    def _end_stroke(self) -> None:
        if self._stroke is not None:
            if len(self._stroke) >= 2:
                self.trace.strokes.append(self._stroke)
            self._stroke = None

    def _cut_stroke(self) -> None:
        """Motion stops mid-block: the stroke ends where the pen is."""
        block = self.planner.blocks[0] if self.planner.blocks else None
        if block is not None and block is self._active_block and self._stroke is not None and _drawing(block):
            point = self._physical(block.point_at(block.traveled))
            if point != self._stroke[-1]:
                self._stroke.append(point)
        self._end_stroke()

    def _block_started(self, block) -> None:
        self._active_block = block
        moves_xy = block.start[0] != block.end[0] or block.start[1] != block.end[1]
        if _drawing(block):
            if self._stroke is None:
                self._stroke = [self._physical(block.start)]
        elif moves_xy:
            self._end_stroke()

    def _block_finished(self, block) -> None:
        self._mpos = block.end
        self._active_block = None
        if _drawing(block) and self._stroke is not None:
            self._stroke.append(self._physical(block.end))
        if self.pen_model.kind == "z":
            down = self.pen_model.z_is_down(block.end[2])
            if down != self._pen_down:
                self._pen_down = down
                if not down:
                    self._end_stroke()
                self._event("pen", down=down)
        if not any(b.line == block.line for b in self.planner.blocks) and \
                not (self._pending_line == block.line):
            self.last_executed_line = block.line

    # ------------------------------------------------------------------ the clock
    def advance(self, dt: float) -> None:
        """Run the virtual clock ``dt`` seconds forward."""
        if dt < 0:
            raise ValueError("time runs forward only")
        end = self.time + dt
        self._service()
        guard = 0
        while self.time < end - 1e-12:
            guard += 1
            if guard > 10_000_000:  # pragma: no cover - a planner bug, never a hang
                raise RuntimeError("simulator made no progress")
            if not self.link_up or self.stalled or self._critical:
                self.time = end
                break
            step = end - self.time
            if self._busy_until is not None:  # homing
                t = min(step, self._busy_until - self.time)
                self.time += t
                if self.time >= self._busy_until - 1e-12:
                    self._busy_until = None
                    self.state = "Idle"
                    self._reply_ok_after_busy()
                    self._service()
                continue
            if self._dwell_until is not None and self.state == "Hold":
                self._dwell_until += step  # a feed hold suspends a dwell
                self.time = end
                continue
            if self._dwell_until is not None:
                t = min(step, self._dwell_until - self.time)
                self.time += t
                if self.time >= self._dwell_until - 1e-12:
                    self._dwell_until = None
                    self._service()
                continue
            if self.planner.blocks and self.state in ("Run", "Jog", "Hold") and not (
                    self.state == "Hold" and self._hold_complete):
                block = self.planner.blocks[0]
                if block is not self._active_block:
                    self._block_started(block)
                limit = None
                if isinstance(block.tag, tuple) and block.tag[1] == "alarm":
                    limit = block.length / 2.0
                result = self.planner.advance(step, limit)
                self.time += result.used
                if result.reached_limit or (limit is not None and block.traveled >= limit - 1e-12
                                            and self.planner.blocks and self.planner.blocks[0] is block):
                    self._raise_alarm(block.tag[2])
                    continue
                if result.finished is not None:
                    self._block_finished(result.finished)
                if result.hold_complete:
                    self._on_hold_complete()
                if self.planner.is_empty and self.state in ("Run", "Jog"):
                    self.state = "Idle"
                    self.planner.hold = False
                    self._jog_cancel = False
                    self._settle_position()
                if result.used == 0.0 and result.finished is None and not result.hold_complete:
                    # Nothing moved and nothing happened: let time pass to avoid spinning.
                    self.time = end
                self._service()
                continue
            self.time = end
        self._service()

    def _reply_ok_after_busy(self) -> None:
        self._reply_ok()  # $H answers when the homing cycle is over

    def _on_hold_complete(self) -> None:
        self._hold_complete = True
        if self._jog_cancel:
            self._jog_cancel = False
            self._settle_position()
            self.planner.clear()
            self.gc = replace(self.gc, position=self._mpos)
            self.state = "Idle"
        elif self.state == "Run":
            self.state = "Hold"

    def run_until_idle(self, max_time: float = 3600.0, step: float = 0.05) -> float:
        """Advance in ``step`` s increments until :attr:`is_idle` (or ``max_time``); returns the time used."""
        start = self.time
        while not self.is_idle and self.time - start < max_time:
            if not self.link_up or self.stalled or self._critical or self.state in ("Hold", "Alarm", "Sleep"):
                break
            self.advance(step)
        return self.time - start

    def strokes(self) -> list:
        """Traced strokes as (N, 2) float arrays (the current unfinished one included)."""
        import numpy as np

        done = [np.asarray(s, dtype=float) for s in self.trace.strokes]
        if self._stroke is not None and len(self._stroke) >= 2:
            done.append(np.asarray(self._stroke, dtype=float))
        return done

    def finish_trace(self) -> SimTrace:
        """Close the stroke in progress (at the current point) and return the trace."""
        self._cut_stroke()
        return self.trace


def _drawing(block) -> bool:
    tag = block.tag
    if isinstance(tag, tuple):
        tag = tag[0]
    return bool(tag) and (block.start[0] != block.end[0] or block.start[1] != block.end[1])


def _fmt3(values: Sequence[float]) -> str:
    return ",".join(f"{v:.3f}" for v in values)


# ---------------------------------------------------------------------- a sender on the virtual clock


@dataclass(frozen=True)
class StreamResult:
    """Outcome of :func:`stream_counted`.

    Attributes
    ----------
    seconds : float
        Virtual seconds from the first line sent until the machine was idle
        (or until streaming stopped).
    lines_answered : int
        Lines answered with ``ok`` or ``error:N``.
    errors : tuple of (int, int)
        ``(line, code)`` for each line answered ``error:code`` (1-based).
    stopped : str or None
        Why streaming ended early: ``"alarm"`` (``alarm_code`` set),
        ``"disconnect"`` (the link went down), ``"stall"`` (the firmware
        hung) or ``"time limit"``; ``None`` when every line was answered and
        the machine came to rest.
    alarm_code : int or None
    """

    seconds: float
    lines_answered: int
    errors: tuple[tuple[int, int], ...] = ()
    stopped: str | None = None
    alarm_code: int | None = None

    @property
    def clean(self) -> bool:
        """Every line answered ``ok`` and the machine came to rest."""
        return self.stopped is None and not self.errors


def _reply_code(reply: bytes) -> int:
    """N of ``error:N`` / ``ALARM:N`` (0 when the number is unreadable)."""
    digits = reply.partition(b":")[2].strip()
    return int(digits) if digits.isdigit() else 0


def stream_counted(sim: GrblSimulator, lines: Sequence[str], *, step_s: float = 0.005,
                   rx_bytes: int = codes.RX_BUFFER_SIZE - 1, time_limit_s: float = 100_000.0) -> StreamResult:
    """Stream ``lines`` into ``sim`` with GRBL's character counting, on its virtual clock.

    The sender the G-code writer's tests, ``benchmarks/bench_estimate.py``
    and ``aikon simulate FILE`` share: lines go out while the sum of
    ``len(line) + 1`` over unanswered lines fits in ``rx_bytes`` (127: the
    usable part of the AVR ring buffer); the clock then advances ``step_s``
    seconds between reads, as a host polling its port would. An ``error:N``
    retires its line and streaming goes on (as GRBL's own ``stream.py``
    does); an alarm, a lost link or a hung firmware stops it.

    Parameters
    ----------
    sim : GrblSimulator
        Freshly powered up (its banner is discarded) or idle.
    lines : sequence of str
        Lines without terminators; sent as they are plus ``\\n``.
    step_s : float
        Virtual seconds between host polls.
    rx_bytes : int
        Bytes the sender may have unanswered.
    time_limit_s : float
        Virtual seconds after which streaming gives up (``stopped="time limit"``).

    Returns
    -------
    StreamResult
    """
    sim.advance(0.0)
    sim.read()
    start = sim.time
    in_flight: deque[int] = deque()
    buffered = 0
    index = 0
    answered = 0
    errors: list[tuple[int, int]] = []
    partial = b""

    def result(stopped: str | None = None, alarm: int | None = None) -> StreamResult:
        return StreamResult(sim.time - start, answered, tuple(errors), stopped, alarm)

    while index < len(lines) or in_flight or not sim.is_idle:
        while index < len(lines) and buffered + len(lines[index]) + 1 <= rx_bytes:
            data = (lines[index] + "\n").encode("ascii")
            sim.feed(data)
            in_flight.append(len(data))
            buffered += len(data)
            index += 1
        sim.advance(step_s)
        partial += sim.read()
        *replies, partial = partial.split(b"\r\n")
        for reply in replies:
            if reply == b"ok" or reply.startswith(b"error:"):
                if not in_flight:
                    continue  # an answer to nothing we sent (cannot happen without garbling)
                buffered -= in_flight.popleft()
                answered += 1
                if reply.startswith(b"error:"):
                    errors.append((answered, _reply_code(reply)))
            elif reply.startswith(b"ALARM:"):
                return result("alarm", _reply_code(reply))
        if not sim.link_up:
            return result("disconnect")
        if sim.stalled:
            return result("stall")
        if sim.time - start > time_limit_s:
            return result("time limit")
    return result()
