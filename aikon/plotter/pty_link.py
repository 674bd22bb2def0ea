"""Serving the GRBL simulator to a sender: on a pseudo-terminal, or in-process.

Two ways to put :class:`aikon.plotter.simulator.GrblSimulator` behind a port:

``PtySimulator`` (a pseudo-terminal, what ``aikon simulate --pty LINK`` runs)
    Creates a pty in raw mode, optionally symlinks ``LINK`` to its slave
    path, and serves the simulator on the master side in real time: the
    virtual clock runs ``speed`` times faster than the wall clock. Any sender
    opens the path like a serial port (``serial.serial_for_url(path)``).
    Like an Arduino, the simulated board resets when the port is opened (DTR):
    each new connection gets a fresh banner. A ``disconnect-at`` fault closes
    the pty (the sender's reads fail); the board then comes back on a new pty
    with ``LINK`` pointed at it, ready for a reconnect.

    Background use (tests, ``aikon plot --sim``)::

        sim = GrblSimulator(profile=load_profile("grbl-servo"))
        with PtySimulator(sim, speed=50.0) as server:
            port = serial.serial_for_url(server.path, baudrate=115200, timeout=1)
            ...
        strokes = server.sim.strokes()   # safe once stopped; use server.lock while running

    ``server.serve_forever()`` runs in the calling thread instead (until
    :meth:`PtySimulator.stop` or a signal).

``SimSerial`` (in-process, no pty, no threads)
    A pyserial-compatible object (``read``, ``readline``, ``write``,
    ``in_waiting``, ``timeout``, ``reset_input_buffer``, ``close``/``open``,
    context manager). With ``speed=None`` (default) the clock is virtual: a
    read that would wait advances the simulator instead of sleeping, and
    every byte written or read takes its transmission time at the baud rate,
    so a whole job streams in milliseconds and deterministically (the read
    timeout counts virtual seconds). A sender that paces itself (5 Hz status
    polls, timeouts) should use ``port.clock()`` and ``port.sleep(s)`` when the
    port has them, so its notion of time is the simulator's. With ``speed=S`` the simulator follows
    the wall clock ``S`` times faster. A disconnect fault makes reads and
    writes raise ``serial.SerialException`` as a vanished USB port does;
    ``open()`` after ``close()`` is a board reset.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import termios
import threading
import time
import tty
from pathlib import Path
from typing import Callable

from aikon.errors import PortError
from aikon.plotter.simulator import GrblSimulator

_POLL_S = 0.002  # real seconds between clock updates while the sender is quiet
BOOT_DELAY_S = 0.15  # real seconds from port open to banner (a real Arduino takes about 1-2 s)


class PtySimulator:
    """The simulator served on a pseudo-terminal in real time (see the module docstring).

    Parameters
    ----------
    sim : GrblSimulator
    speed : float
        Virtual seconds per real second (50 = fifty times faster than a real machine).
    link : str or path, optional
        A symlink to create (atomically) pointing at the pty; removed on stop.
    reset_on_open : bool
        Reset the board (banner, position zero unless homed) whenever a sender
        opens the port, as the DTR line of an Arduino does.
    """

    def __init__(self, sim: GrblSimulator, *, speed: float = 1.0, link: str | os.PathLike | None = None,
                 reset_on_open: bool = True) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.sim = sim
        self.speed = float(speed)
        self.link = Path(link) if link is not None else None
        if self.link is not None and self.link.exists() and not self.link.is_symlink():
            raise PortError(f"{self.link} exists and is not a symlink: choose another path for the link")
        self.reset_on_open = reset_on_open
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self.slave_path: str = ""
        self._backlog = bytearray()
        self._connected = False
        self._hangup_at: float | None = None
        self._boot_at: float | None = None
        self.connections = 0
        self._open_pty()

    @property
    def path(self) -> str:
        """What a sender opens: the link if one was asked for, else the pty's own path."""
        return str(self.link) if self.link is not None else self.slave_path

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.slave_path = os.ttyname(slave)
        os.close(slave)  # the sender opens it by name; a hang-up then tells us it left
        os.set_blocking(master, False)
        self._master = master
        self._connected = False
        self._backlog.clear()
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            try:
                os.symlink(self.slave_path, tmp)
                os.replace(tmp, self.link)
            except OSError as exc:
                raise PortError(f"cannot create the link {self.link}: {exc.strerror}") from None

    def _close_pty(self) -> None:
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None

    # ---- serving ----------------------------------------------------------------------
    def serve_forever(self, *, on_tick: Callable[[], None] | None = None) -> None:
        """Serve until :meth:`stop` (from another thread or a signal handler)."""
        poller = select.poll()
        registered = self._master
        poller.register(registered, select.POLLIN | select.POLLHUP | select.POLLERR)
        last = time.monotonic()
        while not self._stop.is_set():
            if self._master != registered:
                with contextlib.suppress(KeyError, ValueError):
                    poller.unregister(registered)
                registered = self._master
                poller.register(registered, select.POLLIN | select.POLLHUP | select.POLLERR)
            events = poller.poll(_POLL_S * 1000 if self._connected else 0)
            flags = events[0][1] if events else 0
            hung_up = bool(flags & (select.POLLHUP | select.POLLERR)) and not flags & select.POLLIN
            with self.lock:
                now = time.monotonic()
                self.sim.advance((now - last) * self.speed)
                last = now
                if hung_up:
                    if self._connected:
                        self._connected = False
                    self._stop.wait(0.02)  # nobody on the port: idle without spinning
                    self.sim.read()  # nobody listens: replies are lost, as on a closed port
                    continue
                if not self._connected:
                    self._connected = True
                    self.connections += 1
                    with contextlib.suppress(termios.error):
                        termios.tcflush(self._master, termios.TCIOFLUSH)
                    # Like an Arduino's bootloader, answer only a moment after the port opens:
                    # pyserial flushes its input at the end of open(), which would eat a banner
                    # sent at once.
                    self._boot_at = now + BOOT_DELAY_S
                if self._boot_at is not None:
                    if now < self._boot_at:
                        if flags & select.POLLIN:  # bytes sent while booting are lost, as on a board
                            with contextlib.suppress(OSError):
                                os.read(self._master, 4096)
                        self._stop.wait(0.005)
                        continue
                    self._boot_at = None
                    with contextlib.suppress(termios.error):
                        termios.tcflush(self._master, termios.TCIFLUSH)
                    if self.reset_on_open:
                        self.sim.power_cycle()
                if flags & select.POLLIN:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EIO):
                            raise
                        data = b""
                    if data:
                        self.sim.feed(data)
                self._backlog += self.sim.read()
                if self._backlog:
                    try:
                        written = os.write(self._master, bytes(self._backlog))
                        del self._backlog[:written]
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EIO):
                            raise
                if not self.sim.link_up:
                    # Power lost: let the last replies drain, then the port vanishes.
                    if self._hangup_at is None:
                        self._hangup_at = now + 0.05
                    elif now >= self._hangup_at:
                        self._hangup_at = None
                        self._hang_up()
                        continue
                if on_tick is not None:
                    on_tick()

    def _hang_up(self) -> None:
        """A disconnect fault: close this pty (the sender's port fails) and offer a new one."""
        self._close_pty()
        self._open_pty()

    def start(self) -> "PtySimulator":
        """Serve in a background daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="aikon-grbl-sim", daemon=True)
            self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask :meth:`serve_forever` to return (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop serving, close the pty and remove the link."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._thread = None
        self._close_pty()
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                if self.link.is_symlink() and os.readlink(self.link) == self.slave_path:
                    self.link.unlink()

    def __enter__(self) -> "PtySimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SimSerial:
    """A pyserial-like port connected straight to a simulator (see the module docstring).

    Parameters
    ----------
    sim : GrblSimulator
    speed : float or None
        None: virtual clock (reads that would wait advance the simulator);
        a number: the wall clock drives the simulator that many times faster.
    timeout : float or None
        Read timeout in seconds (virtual seconds in virtual mode); None waits
        for data (up to one virtual hour, then returns what there is).
    step : float
        Virtual seconds per advance while a read waits (virtual mode).
    """

    def __init__(self, sim: GrblSimulator, *, speed: float | None = None, timeout: float | None = 1.0,
                 step: float = 0.002, port: str = "sim://grbl", baudrate: int = 115200) -> None:
        self.sim = sim
        self.speed = speed
        self.timeout = timeout
        self.write_timeout: float | None = None
        self.step = step
        self.port = port
        self.name = port
        self.baudrate = baudrate
        self.is_open = True
        self._buffer = bytearray()
        self._last = time.monotonic()
        self._dtr = True

    # ---- clock --------------------------------------------------------------------
    def _sync(self) -> None:
        if self.speed is not None:
            now = time.monotonic()
            self.sim.advance((now - self._last) * self.speed)
            self._last = now
        self._collect()

    def _collect(self) -> None:
        self._buffer += self.sim.read()
        if not self.sim.link_up and not self._buffer:
            self._gone()

    def _gone(self) -> None:
        """The board lost power: the port fails as a vanished USB device does."""
        self.is_open = False
        import serial

        raise serial.SerialException("device reports readiness to read but returned no data "
                                     "(device disconnected or multiple access on port?)")

    def _wait(self, ready: Callable[[], bool], timeout: float | None) -> None:
        if self.speed is None:
            limit = 3600.0 if timeout is None else timeout
            waited = 0.0
            while not ready() and waited < limit - 1e-12:
                dt = min(self.step, limit - waited)
                self.sim.advance(dt)
                waited += dt
                self._collect()
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.0005)
            self._sync()

    # ---- pyserial surface -------------------------------------------------------------
    def _check_open(self) -> None:
        if not self.is_open:
            import serial

            raise serial.PortNotOpenError() if hasattr(serial, "PortNotOpenError") else serial.SerialException(
                "Attempting to use a port that is not open")

    @property
    def in_waiting(self) -> int:
        self._check_open()
        self._sync()
        return len(self._buffer)

    def read(self, size: int = 1) -> bytes:
        self._check_open()
        self._sync()
        self._wait(lambda: len(self._buffer) >= size, self.timeout)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._transmit(len(data))
        return data

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        self._check_open()
        self._sync()
        self._wait(lambda: expected in self._buffer or (size is not None and len(self._buffer) >= size),
                   self.timeout)
        index = self._buffer.find(expected)
        end = index + len(expected) if index >= 0 else len(self._buffer)
        if size is not None:
            end = min(end, size)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        self._transmit(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read_until(b"\n", None if size is None or size < 0 else size)

    def write(self, data: bytes) -> int:
        self._check_open()
        self._sync()
        if not self.sim.link_up:
            self._gone()
        self.sim.feed(bytes(data))
        self._transmit(len(data))
        self._buffer += self.sim.read()
        return len(data)

    def _transmit(self, nbytes: int) -> None:
        """Virtual mode: the serial line takes its time (10 bits a byte at the baud rate)."""
        if self.speed is None and nbytes:
            self.sim.advance(nbytes * 10.0 / self.baudrate)

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on the port's clock (virtual: advance the simulator; real: sleep)."""
        if self.speed is None:
            self.sim.advance(max(seconds, 0.0))
            self._buffer += self.sim.read()
        else:
            time.sleep(max(seconds, 0.0))
            self._sync()

    def flush(self) -> None:
        self._check_open()

    def reset_input_buffer(self) -> None:
        self._check_open()
        self._sync()
        self._buffer.clear()

    def reset_output_buffer(self) -> None:
        self._check_open()

    def close(self) -> None:
        self.is_open = False

    def open(self) -> None:
        """Open again: like a USB serial port with DTR, the board resets and sends its banner."""
        self.is_open = True
        self._buffer.clear()
        self._last = time.monotonic()
        self.sim.power_cycle()

    @property
    def dtr(self) -> bool:
        return self._dtr

    @dtr.setter
    def dtr(self, value: bool) -> None:
        if value and not self._dtr:
            self.sim.power_cycle()
        self._dtr = bool(value)

    def clock(self) -> float:
        """Seconds on the port's clock: the simulator's virtual time (virtual mode) or time.monotonic()."""
        return self.sim.time if self.speed is None else time.monotonic()

    def __enter__(self) -> "SimSerial":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
