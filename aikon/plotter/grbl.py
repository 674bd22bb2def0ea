"""The GRBL 1.1 protocol: pure parsers and line framing, and a streaming client.

The parsers (:func:`parse_status`, :func:`parse_response`, :func:`prepare_line`,
:func:`check_line`) are pure functions over strings, unit-tested on recorded
exchanges. :class:`GrblClient` speaks the protocol over any
:class:`aikon.plotter.transport.Transport` (a serial port, a pseudo-terminal,
``loop://``, or an in-memory fake); it owns no thread and never sleeps: the
caller drives it with :meth:`GrblClient.service`.

What the client does, following GRBL's own ``interface.md`` and the hosts that
got it right (see ``../shared/PROTOCOLS.md``):

* waits for the ``Grbl 1.1x ['$' for help]`` banner after opening (the board
  resets on open), and sends a soft reset to ask for one if the port stays
  silent;
* character counting: the sum of ``len(line) + 1`` over every unacknowledged
  line never exceeds the 128-byte RX buffer; each ``ok`` or ``error:N``
  retires exactly one line, push messages retire none;
* sends ``\\n`` only, and only lines that passed :func:`check_line` (printable
  ASCII, no real-time bytes, no comments, at most 79 characters);
* polls status with the real-time byte ``?`` (never counted) at most 5 times
  a second, and caches ``WCO`` so work positions are known from ``MPos``;
* reports ``error:N`` and ``ALARM:N`` with their meaning; after an alarm or an
  unexpected reset it clears its counters and refuses to stream until told;
* feed hold ``!``, cycle start ``~``, and the stop sequence ``!``, wait for
  ``Hold:0``, soft reset ``0x18``;
* send-response mode (one line at a time) as an option, and always for
  commands that write GRBL's EEPROM.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from aikon.errors import FirmwareError, InputError, PortError
from aikon.plotter import grbl_codes

RX_BUFFER_SIZE = grbl_codes.RX_BUFFER_SIZE  # 128 bytes on an Arduino Uno
MAX_LINE_LENGTH = grbl_codes.MAX_LINE_LENGTH  # 79 characters after stripping

MIN_POLL_INTERVAL_S = 0.2
"""GRBL's documentation asks for status queries at no more than 5 Hz."""

# Real-time commands: GRBL acts on these bytes wherever they appear in the
# stream, even inside a comment, so they must never be part of a line.
STATUS_QUERY = b"?"
FEED_HOLD = b"!"
CYCLE_START = b"~"
SOFT_RESET = b"\x18"
REALTIME_CHARS = frozenset("?!~\x18")

STATES = ("Idle", "Run", "Hold", "Jog", "Alarm", "Door", "Check", "Home", "Sleep")

_BANNER_RE = re.compile(r"^Grbl\s+(\S+)\s*\[.*\]\s*$")
_ERROR_RE = re.compile(r"^error:\s*(\d+)$", re.IGNORECASE)
_ALARM_RE = re.compile(r"^ALARM:\s*(\d+)$", re.IGNORECASE)
_SETTING_RE = re.compile(r"^\$(\d+)=(\S+)$")
_COMMENT_RE = re.compile(r"\([^)]*\)")
_EEPROM_RE = re.compile(r"^(\$\d+=|\$N\d*=?|\$RST=|\$I=)|G10L(2|20)|G28\.1|G30\.1")


# --------------------------------------------------------------------------- meanings

def error_meaning(code: int) -> str:
    """``error:N Name: description`` from GRBL's own table (``doc/csv/error_codes_en_US.csv``)."""
    return grbl_codes.error_message(code)


def alarm_meaning(code: int) -> str:
    """``ALARM:N Name: description`` from GRBL's own table (``doc/csv/alarm_codes_en_US.csv``)."""
    return grbl_codes.alarm_message(code)


def code_meaning(kind: str, code: int | None) -> str | None:
    """GRBL's text for an ``error`` or ``alarm`` code; ``None`` for other kinds or no code."""
    if code is None:
        return None
    if kind == "error":
        return error_meaning(code)
    if kind == "alarm":
        return alarm_meaning(code)
    return None


# --------------------------------------------------------------------------- parsers

@dataclass(frozen=True)
class Status:
    """One parsed status report ``<State|MPos:x,y,z|FS:f,s|...>``.

    Positions are in mm (GRBL reports in mm unless ``$13=1``). ``mpos`` or
    ``wpos`` is present depending on ``$10``; ``wco`` only now and then, so the
    client caches it (see :meth:`GrblClient.work_position`).
    """

    state: str
    substate: int | None = None
    mpos: tuple[float, ...] | None = None
    wpos: tuple[float, ...] | None = None
    wco: tuple[float, ...] | None = None
    feed_mm_min: float | None = None
    spindle: float | None = None
    planner_blocks_free: int | None = None
    rx_bytes_free: int | None = None
    line_number: int | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def is_idle(self) -> bool:
        return self.state == "Idle"


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def parse_status(text: str) -> Status:
    """Parse a GRBL 1.1 status report.

    Fields are optional and may come in any order; unknown fields are kept in
    ``fields``.

    >>> s = parse_status("<Run|MPos:1.000,2.500,0.000|FS:500,0|WCO:0.000,0.000,0.000>")
    >>> s.state, s.mpos, s.feed_mm_min
    ('Run', (1.0, 2.5, 0.0), 500.0)
    >>> parse_status("<Hold:0|WPos:1,2,3>").substate
    0
    """
    text = text.strip()
    if not (text.startswith("<") and text.endswith(">")):
        raise ValueError(f"not a status report: {text!r}")
    parts = text[1:-1].split("|")
    state_text = parts[0]
    state, _, sub = state_text.partition(":")
    if state not in STATES:
        raise ValueError(f"unknown machine state {state_text!r} in {text!r}")
    values: dict[str, Any] = {"state": state, "substate": int(sub) if sub else None}
    fields: dict[str, str] = {}
    try:
        for part in parts[1:]:
            key, _, val = part.partition(":")
            fields[key] = val
            if key == "MPos":
                values["mpos"] = _floats(val)
            elif key == "WPos":
                values["wpos"] = _floats(val)
            elif key == "WCO":
                values["wco"] = _floats(val)
            elif key == "FS":
                fs = _floats(val)
                values["feed_mm_min"], values["spindle"] = fs[0], (fs[1] if len(fs) > 1 else None)
            elif key == "F":
                values["feed_mm_min"] = float(val)
            elif key == "Bf":
                bf = [int(v) for v in val.split(",")]
                values["planner_blocks_free"], values["rx_bytes_free"] = bf[0], bf[1]
            elif key == "Ln":
                values["line_number"] = int(val)
    except (ValueError, IndexError):
        raise ValueError(f"malformed status report {text!r}") from None
    return Status(fields=fields, **values)


@dataclass(frozen=True)
class Response:
    """One line received from GRBL, classified.

    ``kind`` is one of ``ok``, ``error``, ``alarm``, ``status``, ``banner``,
    ``message`` (``[MSG:...]``), ``feedback`` (other ``[...]``), ``setting``
    (``$n=v``), ``startup`` (``>...:ok``), ``empty`` or ``unknown`` (garbled
    or foreign text). Only ``ok`` and ``error`` retire a streamed line.
    """

    kind: str
    text: str
    code: int | None = None
    status: Status | None = None
    version: str | None = None

    @property
    def retires_line(self) -> bool:
        return self.kind in ("ok", "error")

    @property
    def meaning(self) -> str | None:
        return code_meaning(self.kind, self.code)


def parse_response(line: str) -> Response:
    """Classify one line from GRBL (line end already removed or not).

    >>> parse_response("ok").kind
    'ok'
    >>> r = parse_response("error:20"); (r.kind, r.code)
    ('error', 20)
    >>> parse_response("Grbl 1.1h ['$' for help]").version
    '1.1h'
    >>> parse_response("[MSG:Reset to continue]").kind
    'message'
    """
    text = line.strip("\r\n ")
    if not text:
        return Response("empty", text)
    if text == "ok":
        return Response("ok", text)
    m = _ERROR_RE.match(text)
    if m:
        return Response("error", text, code=int(m.group(1)))
    m = _ALARM_RE.match(text)
    if m:
        return Response("alarm", text, code=int(m.group(1)))
    if text.startswith("<"):
        try:
            return Response("status", text, status=parse_status(text))
        except ValueError:
            return Response("unknown", text)
    m = _BANNER_RE.match(text)
    if m:
        return Response("banner", text, version=m.group(1))
    if text.startswith("[") and text.endswith("]"):
        return Response("message" if text.startswith("[MSG:") else "feedback", text)
    if _SETTING_RE.match(text):
        return Response("setting", text)
    if text.startswith(">") and text.endswith(":ok"):
        return Response("startup", text)
    return Response("unknown", text)


def prepare_line(raw: str) -> str:
    """Strip a G-code line the way GRBL reads it: no comments, no spaces, upper case.

    ``(...)`` and ``;`` comments are removed first (real-time characters inside
    them must never reach the firmware), then whitespace; letters are upper
    case (GRBL upper-cases them anyway). The result may be empty. It is *not*
    checked: see :func:`check_line`.

    >>> prepare_line("g1 x10.5 y2 (go ? there) ; comment!")
    'G1X10.5Y2'
    """
    text = _COMMENT_RE.sub("", raw.split(";", 1)[0])
    return "".join(text.split()).upper()


def check_line(line: str) -> None:
    """Raise :class:`InputError` unless ``line`` is safe to stream to GRBL.

    Safe means printable 7-bit ASCII, no real-time command characters (``?``,
    ``!``, ``~``, ``0x18``, anything >= 0x80), no comment characters or line
    ends, and at most 79 characters.
    """
    if not line:
        raise InputError("refusing to send an empty line")
    if len(line) > MAX_LINE_LENGTH:
        raise InputError(f"line is {len(line)} characters, GRBL accepts at most {MAX_LINE_LENGTH}: {line[:40]!r}...")
    for ch in line:
        code = ord(ch)
        if ch in REALTIME_CHARS:
            raise InputError(f"line contains the real-time command byte {ch!r}, which GRBL would act on: {line!r}")
        if code >= 0x80:
            raise InputError(f"line contains non-ASCII text (byte >= 0x80 is a GRBL real-time command): {line!r}")
        if code < 0x20 or code == 0x7F:
            raise InputError(f"line contains a control character {ch!r}: {line!r}")
        if ch in "();":
            raise InputError(f"line contains a comment, strip it first: {line!r}")


def needs_send_response(line: str) -> bool:
    """True for commands that write GRBL's EEPROM (``$x=``, ``G10 L2/L20``, ``G28.1``, ``G30.1``, ``$N``, ``$RST=``).

    GRBL disables interrupts while writing EEPROM, so serial bytes arriving
    meanwhile can be lost: these lines go one at a time, alone in the buffer.

    >>> needs_send_response("$110=5000"), needs_send_response("G10L20P1X0Y0"), needs_send_response("G1X1")
    (True, True, False)
    """
    return bool(_EEPROM_RE.search(prepare_line(line)))


# --------------------------------------------------------------------------- events

@dataclass(frozen=True)
class Event:
    """Something the client learnt while servicing the link.

    ``kind``: ``ack`` (line ``tag`` was parsed), ``error`` (line ``tag`` was
    refused with ``code``), ``alarm`` (``code``), ``status`` (``status``),
    ``reset`` (a banner arrived: the board reset; everything in flight is
    gone), ``message`` / ``feedback`` / ``setting`` / ``startup`` (text),
    ``noise`` (a damaged status report or message: harmless to counting),
    ``garbled`` (an unreadable line that may have been an ``ok`` or
    ``error:N``: counting can no longer be trusted).
    """

    kind: str
    text: str = ""
    tag: Any = None
    line: str | None = None
    code: int | None = None
    status: Status | None = None

    @property
    def meaning(self) -> str | None:
        return code_meaning(self.kind, self.code)


class GrblClient:
    """GRBL 1.1 over a transport: framing, character counting, status polling.

    Parameters
    ----------
    transport : Transport
        Anything with ``write(bytes)``, ``read(timeout_s) -> bytes`` and
        ``close()`` (see :mod:`aikon.plotter.transport`).
    rx_buffer_bytes : int
        Size of the firmware's receive buffer (128 on an Arduino Uno).
    send_response : bool
        If true, stream one line at a time (wait for each ``ok``). Slower;
        for links that lose bytes. EEPROM-writing lines always go this way.
    poll_interval_s : float
        Seconds between ``?`` status queries while polling is on; never
        below 0.2 s (5 Hz).
    clock : callable
        Monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, transport: Any, *, rx_buffer_bytes: int = RX_BUFFER_SIZE, send_response: bool = False,
                 poll_interval_s: float = MIN_POLL_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.rx_buffer_bytes = int(rx_buffer_bytes)
        self.send_response = bool(send_response)
        self.poll_interval_s = max(float(poll_interval_s), MIN_POLL_INTERVAL_S)
        self.clock = clock
        self.polling = False
        self.version: str | None = None
        self.status: Status | None = None
        self.status_time: float | None = None
        self.wco: tuple[float, ...] | None = None
        self.alarm_code: int | None = None
        self.needs_reset = False  # after an alarm: GRBL asks for a reset before anything else
        self.locked_out = False  # set after an alarm or an unexpected reset: no streaming until cleared
        self._in_flight: deque[tuple[int, Any, str]] = deque()
        self._in_flight_bytes = 0
        self._rx = bytearray()
        self._last_poll = -1e18
        self._last_rx_time = clock()
        self.max_in_flight_bytes = 0  # the most bytes ever unacknowledged (a check for tests)
        self.garbled_ignored = 0  # damaged status reports / messages skipped
        self.lines_sent = 0

    # ----------------------------------------------------------------- state
    @property
    def in_flight_bytes(self) -> int:
        """Bytes sent and not yet acknowledged (the counted RX buffer fill)."""
        return self._in_flight_bytes

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    def in_flight_tags(self) -> list[Any]:
        return [tag for _, tag, _ in self._in_flight]

    def work_position(self, status: Status | None = None) -> tuple[float, ...] | None:
        """Work position (mm) from a status report, using the cached ``WCO``.

        GRBL reports ``WPos`` or ``MPos`` depending on ``$10``; ``WPos = MPos - WCO``.
        """
        status = status or self.status
        if status is None:
            return None
        if status.wpos is not None:
            return status.wpos
        if status.mpos is None:
            return None
        wco = self.wco or (0.0,) * len(status.mpos)
        return tuple(m - w for m, w in zip(status.mpos, wco))

    def seconds_since_heard(self) -> float:
        """Seconds since any byte arrived from the firmware."""
        return self.clock() - self._last_rx_time

    # ----------------------------------------------------------------- sending
    def can_send(self, line: str) -> bool:
        """True if ``line`` fits in the firmware's RX buffer now (character counting).

        In send-response mode, and for EEPROM writes, only when nothing is in flight.
        """
        if self.locked_out:
            return False
        if self.send_response or needs_send_response(line):
            return not self._in_flight
        return self._in_flight_bytes + len(line) + 1 <= self.rx_buffer_bytes

    def send_line(self, line: str, tag: Any = None) -> None:
        """Send one checked line with ``\\n`` and count it until its ``ok``/``error``.

        Raises
        ------
        InputError
            The line is unsafe (see :func:`check_line`); nothing is sent.
        FirmwareError
            The client is locked out after an alarm or reset.
        RuntimeError
            The line does not fit (call :meth:`can_send` first).
        """
        check_line(line)
        if self.locked_out:
            raise FirmwareError("the plotter was reset or is in alarm; streaming stopped")
        if not self.can_send(line):
            raise RuntimeError(f"line does not fit in the RX buffer now: {line!r}")
        data = (line + "\n").encode("ascii")
        self._in_flight.append((len(data), tag, line))
        self._in_flight_bytes += len(data)
        self.max_in_flight_bytes = max(self.max_in_flight_bytes, self._in_flight_bytes)
        self.lines_sent += 1
        self.transport.write(data)

    def realtime(self, byte: bytes) -> None:
        """Send one real-time command byte (not counted: GRBL picks it out of the stream)."""
        if len(byte) != 1 or not (byte in (STATUS_QUERY, FEED_HOLD, CYCLE_START, SOFT_RESET) or byte[0] >= 0x80):
            raise ValueError(f"not a GRBL real-time command: {byte!r}")
        self.transport.write(byte)

    def poll_status(self) -> None:
        """Send ``?`` now (callers normally let :meth:`service` pace it)."""
        self._last_poll = self.clock()
        self.realtime(STATUS_QUERY)

    # ----------------------------------------------------------------- receiving
    def service(self, timeout_s: float = 0.02) -> list[Event]:
        """Send a status query if one is due, read what has arrived, return events.

        Blocks at most ``timeout_s`` waiting for the first byte.
        """
        now = self.clock()
        if self.polling and now - self._last_poll >= self.poll_interval_s:
            self.poll_status()
        data = self.transport.read(timeout_s)
        events: list[Event] = []
        if not data:
            return events
        self._last_rx_time = self.clock()
        self._rx.extend(data)
        while True:
            idx = self._find_line_end()
            if idx < 0:
                break
            raw = bytes(self._rx[:idx])
            del self._rx[: idx + 1]
            text = raw.decode("ascii", errors="replace").strip("\r\n")
            if not text.strip():
                continue
            events.append(self._handle(text))
        if len(self._rx) > 1024:  # a link spewing bytes without line ends: garbage
            text = bytes(self._rx[:64]).decode("ascii", errors="replace")
            self._rx.clear()
            events.append(Event("garbled", text))
        return events

    def _find_line_end(self) -> int:
        return self._rx.find(b"\n")

    def _retire(self) -> tuple[Any, str | None]:
        if not self._in_flight:
            return None, None
        nbytes, tag, line = self._in_flight.popleft()
        self._in_flight_bytes -= nbytes
        return tag, line

    def _handle(self, text: str) -> Event:
        response = parse_response(text)
        kind = response.kind
        if kind in ("ok", "error"):
            if not self._in_flight:
                # An ok nobody asked for: the counting is no longer trustworthy.
                return Event("garbled", text)
            tag, line = self._retire()
            return Event("ack" if kind == "ok" else "error", text, tag=tag, line=line, code=response.code)
        if kind == "status":
            status = response.status
            assert status is not None
            if status.wco is not None:
                self.wco = status.wco
            self.status = status
            self.status_time = self.clock()
            return Event("status", text, status=status)
        if kind == "alarm":
            # GRBL resets its buffers on an alarm: nothing in flight will be acknowledged.
            self.alarm_code = response.code
            self.locked_out = True
            self._clear_counters()
            return Event("alarm", text, code=response.code)
        if kind == "banner":
            self.version = response.version
            self.locked_out = True  # never carry on streaming after a reset
            self._clear_counters()
            return Event("reset", text)
        if kind == "message" and "Reset to continue" in text:
            self.needs_reset = True
        if kind == "unknown":
            if text.startswith("<") or text.endswith(">") or text.startswith("[") or text.endswith("]"):
                # A damaged status report or message: nothing to retire, so counting is intact.
                self.garbled_ignored += 1
                return Event("noise", text)
            return Event("garbled", text)  # could have been an ok or error:N: counting is unsafe
        return Event(kind, text)

    def _clear_counters(self) -> None:
        self._in_flight.clear()
        self._in_flight_bytes = 0

    # ----------------------------------------------------------------- sequences
    def wait_for(self, predicate: Callable[[Event], bool], timeout_s: float, *, what: str,
                 on_event: Callable[[Event], None] | None = None) -> Event:
        """Service the link until an event satisfies ``predicate``; PortError after ``timeout_s``."""
        deadline = self.clock() + timeout_s
        while True:
            for event in self.service(0.02):
                if on_event is not None:
                    on_event(event)
                if predicate(event):
                    return event
            if self.clock() > deadline:
                raise PortError(f"no answer from the plotter: timed out after {timeout_s:g} s waiting for {what}")

    def connect(self, *, banner_timeout_s: float = 3.0, reset_if_silent: bool = True) -> str:
        """Wait for GRBL's banner after the port opens; return the version (e.g. ``'1.1h'``).

        An Arduino resets when the port opens (DTR) and prints the banner about
        2 s later. A board that does not reset on open stays silent: then a
        soft reset (``0x18``) asks for the banner. Counters start empty.
        """
        try:
            self.wait_for(lambda e: e.kind == "reset", banner_timeout_s * (0.5 if reset_if_silent else 1.0),
                          what="GRBL's start-up banner")
        except PortError:
            if not reset_if_silent:
                raise PortError(f"no GRBL banner within {banner_timeout_s:g} s: is this a GRBL board, "
                                "and is the baud rate right?") from None
            self.realtime(SOFT_RESET)
            try:
                self.wait_for(lambda e: e.kind == "reset", banner_timeout_s, what="GRBL's start-up banner")
            except PortError:
                raise PortError(f"no GRBL banner within {1.5 * banner_timeout_s:g} s, even after a soft reset: "
                                "is this a GRBL board, and is the baud rate right?") from None
        self.clear_lockout()
        return self.version or "?"

    def clear_lockout(self) -> None:
        """Allow streaming again after a reset or alarm was seen (the caller decided it is safe)."""
        self.locked_out = False
        self.needs_reset = False
        self._clear_counters()

    def query_status(self, timeout_s: float = 2.0) -> Status:
        """Ask for one status report and return it."""
        self.poll_status()
        event = self.wait_for(lambda e: e.kind == "status", timeout_s, what="a status report")
        assert event.status is not None
        return event.status

    def command(self, line: str, timeout_s: float = 10.0) -> list[str]:
        """Send one line by send-response (alone in the buffer) and wait for its reply.

        Returns the text lines received before the ``ok``. Raises
        :class:`FirmwareError` with GRBL's meaning on ``error:N`` or an alarm.
        """
        line = prepare_line(line)
        outcome: list[str] = []
        if self._in_flight:
            self.wait_for(lambda e: not self._in_flight, timeout_s, what="the buffer to drain")
        self.send_line(line, tag=("command", line))

        def done(event: Event) -> bool:
            if event.kind == "alarm":
                raise FirmwareError(f"{event.meaning} (after {line!r})")
            if event.kind == "reset":
                raise FirmwareError(f"the plotter reset while running {line!r}")
            if event.kind == "error" and event.tag == ("command", line):
                raise FirmwareError(f"{event.meaning} (for {line!r})")
            if event.kind in ("feedback", "message", "setting", "startup"):
                outcome.append(event.text)
            return event.kind == "ack" and event.tag == ("command", line)

        self.wait_for(done, timeout_s, what=f"the reply to {line!r}")
        return outcome

    def wait_idle(self, timeout_s: float, *, on_event: Callable[[Event], None] | None = None) -> Status:
        """Poll until every line is acknowledged and the machine reports ``Idle``."""
        was_polling = self.polling
        self.polling = True
        try:
            def idle(event: Event) -> bool:
                if event.kind == "alarm":
                    raise FirmwareError(str(event.meaning))
                return event.kind == "status" and event.status is not None and event.status.is_idle \
                    and not self._in_flight
            event = self.wait_for(idle, timeout_s, what="the machine to finish and report Idle", on_event=on_event)
        finally:
            self.polling = was_polling
        assert event.status is not None
        return event.status

    def feed_hold(self) -> None:
        self.realtime(FEED_HOLD)

    def cycle_start(self) -> None:
        self.realtime(CYCLE_START)

    def soft_reset(self, *, banner_timeout_s: float = 3.0) -> None:
        """Send ``0x18`` and wait for the banner; counters are cleared, streaming stays locked."""
        self.realtime(SOFT_RESET)
        self.wait_for(lambda e: e.kind == "reset", banner_timeout_s, what="the banner after a soft reset")
        self.locked_out = True

    def stop(self, *, timeout_s: float = 10.0) -> Status | None:
        """GRBL's stop sequence: feed hold ``!``, wait for ``Hold:0`` (or Idle), soft reset.

        Resetting while moving would raise ``ALARM:3`` and lose position, so
        the hold must complete first. Returns the last status before the
        reset (its position is where the machine stopped).
        """
        self.feed_hold()
        was_polling = self.polling
        self.polling = True
        try:
            event = self.wait_for(
                lambda e: e.kind == "status" and e.status is not None
                and ((e.status.state == "Hold" and e.status.substate == 0) or e.status.state in ("Idle", "Alarm")),
                timeout_s, what="the feed hold to complete (Hold:0)")
        finally:
            self.polling = was_polling
        self.soft_reset()
        return event.status


def stream_lines(client: GrblClient, lines: Iterable[str], *, timeout_s: float = 60.0) -> None:
    """Stream ``lines`` with character counting and wait until all are acknowledged and Idle.

    A minimal sender for short programs (setup, parking); the job runner
    (:mod:`aikon.plotter.job`) is the full one. Raises :class:`FirmwareError`
    on ``error:N`` or an alarm.
    """
    pending = deque(prepare_line(l) for l in lines)
    pending = deque(l for l in pending if l)
    deadline = client.clock() + timeout_s

    def check(event: Event) -> None:
        if event.kind == "error":
            raise FirmwareError(f"{event.meaning} (for {event.line!r})")
        if event.kind == "alarm":
            raise FirmwareError(str(event.meaning))
        if event.kind == "reset":
            raise FirmwareError("the plotter reset unexpectedly")

    while pending or client.in_flight_count:
        while pending and client.can_send(pending[0]):
            client.send_line(pending.popleft())
        for event in client.service(0.02):
            check(event)
        if client.clock() > deadline:
            raise PortError(f"no answer from the plotter: timed out after {timeout_s:g} s")
    client.wait_idle(max(1.0, deadline - client.clock()), on_event=check)
