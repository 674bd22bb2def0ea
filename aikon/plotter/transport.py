"""Byte transports under the plotter protocols.

A transport moves bytes and nothing else: ``write(data)``, ``read(timeout_s)``
(whatever has arrived, ``b""`` after the timeout) and ``close()``. Protocols
(:mod:`aikon.plotter.grbl`) frame lines on top; the simulator and the test
fakes implement the same three methods, so the protocol code cannot tell
them from a real port.

:class:`SerialTransport` opens anything ``serial.serial_for_url`` understands
(``/dev/ttyUSB0``, ``COM3``, a pseudo-terminal path, ``loop://``,
``socket://host:port``) and turns every failure into a
:class:`aikon.errors.PortError` with a message a user can act on.
"""

from __future__ import annotations

import errno
import sys
from typing import Any, Protocol

from aikon.errors import PortError


class Transport(Protocol):
    """What a protocol needs from a link to a machine."""

    name: str

    def write(self, data: bytes) -> None: ...

    def read(self, timeout_s: float) -> bytes: ...

    def close(self) -> None: ...


def _permission_hint() -> str:
    if sys.platform.startswith("linux"):
        return ("add yourself to the 'dialout' group (sudo usermod -aG dialout $USER), then log out and in again")
    if sys.platform == "darwin":
        return "check that no other program owns the port"
    return "check that your user may open serial ports"


def port_error(exc: BaseException, port: str, *, opening: bool) -> PortError:
    """Translate a pyserial/OS failure on ``port`` into a clear :class:`PortError`.

    Parameters
    ----------
    exc : SerialException or OSError
        What pyserial raised; its ``errno`` (or the text) tells the cause.
    port : str
        The port or URL as the user gave it.
    opening : bool
        True while opening; False once the port was open (it vanished mid-job).
    """
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code is None and isinstance(exc.__context__, OSError):
        code = exc.__context__.errno
    if not opening:
        return PortError(f"lost the connection to {port}: {text or type(exc).__name__} "
                         "(cable unplugged, plotter powered off, or the port closed)")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text or "FileNotFoundError" in text:
        return PortError(f"serial port {port} not found: is the plotter plugged in and switched on? "
                         "'aikon ports' lists the ports present")
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text or "PermissionError" in text:
        return PortError(f"permission denied opening {port}: {_permission_hint()}")
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text or "busy" in text.lower():
        return PortError(f"serial port {port} is busy: another program (a sender, a serial monitor, "
                         "another aikon) has it open; close it and retry")
    return PortError(f"cannot open {port}: {text or type(exc).__name__}")


class SerialTransport:
    """A port opened with ``serial.serial_for_url`` (real port, pty path, ``loop://``, ``socket://``).

    Parameters
    ----------
    url : str
        Device path or pyserial URL.
    baudrate : int
        Bits per second (GRBL 1.1: 115200).
    exclusive : bool
        Lock the port (POSIX) so a second program cannot open it and corrupt the stream.
    serial_module : module, optional
        Stand-in for ``serial`` in tests.
    """

    def __init__(self, url: str, baudrate: int = 115200, *, exclusive: bool = True, serial_module: Any = None) -> None:
        if serial_module is None:
            import serial as serial_module
        self.name = url
        self._serial_module = serial_module
        kwargs: dict[str, Any] = {"baudrate": baudrate, "timeout": 0.05, "write_timeout": 5.0}
        if exclusive and "://" not in url:
            kwargs["exclusive"] = True
        try:
            self._port = serial_module.serial_for_url(url, **kwargs)
        except (serial_module.SerialException, OSError, ValueError) as exc:
            raise port_error(exc, url, opening=True) from None

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (self._serial_module.SerialException, OSError) as exc:
            raise port_error(exc, self.name, opening=False) from None

    def read(self, timeout_s: float) -> bytes:
        """Return the bytes that have arrived, waiting up to ``timeout_s`` for the first."""
        try:
            waiting = self._port.in_waiting
            if waiting:
                return bytes(self._port.read(waiting))
            if self._port.timeout != timeout_s:
                self._port.timeout = timeout_s
            first = self._port.read(1)
            if not first:
                return b""
            more = self._port.in_waiting
            return bytes(first) + (bytes(self._port.read(more)) if more else b"")
        except (self._serial_module.SerialException, OSError) as exc:
            raise port_error(exc, self.name, opening=False) from None

    def close(self) -> None:
        try:
            self._port.close()
        except (self._serial_module.SerialException, OSError):
            pass  # closing a vanished port: nothing left to release

    def __enter__(self) -> "SerialTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingTransport:
    """Wrap a transport and keep every ``write`` call, in order (the bytes as they went out).

    Used to check, at the transport boundary, what reached the firmware.
    """

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "recording")
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.inner.write(data)

    def read(self, timeout_s: float) -> bytes:
        return self.inner.read(timeout_s)

    def close(self) -> None:
        self.inner.close()


def open_transport(port: str, baudrate: int = 115200) -> SerialTransport:
    """Open ``port`` (path or pyserial URL) as a :class:`SerialTransport`."""
    return SerialTransport(port, baudrate)


class SimulatorTransport:
    """An in-process link to a :class:`aikon.plotter.simulator.GrblSimulator` on a virtual clock.

    Each ``read(timeout_s)`` runs the simulator for ``timeout_s * speed``
    virtual seconds (a tiny step when replies are already waiting), so a test
    runs the whole host stack at full CPU speed with no sleeping and no
    dependence on machine speed. :meth:`clock` is the link's clock in
    seconds (virtual seconds / ``speed``); give it to the protocol client so
    its poll interval and stall timeout run on the same clock. With
    ``realtime=True`` (``aikon plot --sim``) reads also wait in real time, so
    the simulated plot is paced ``speed`` times faster than the real machine.

    A simulator whose link is down (``disconnect-at``) makes reads and writes
    raise :class:`PortError`, as a vanished serial port does.
    """

    def __init__(self, simulator: Any, *, speed: float = 1.0, realtime: bool = False, name: str = "simulator") -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.sim = simulator
        self.speed = float(speed)
        self.realtime = realtime
        self.name = name
        self._link_time = 0.0
        self.writes: list[bytes] = []

    def clock(self) -> float:
        """Link seconds elapsed (virtual time divided by the speed factor)."""
        return self._link_time

    def _check_link(self) -> None:
        if not getattr(self.sim, "link_up", True):
            raise PortError(f"lost the connection to {self.name}: the plotter lost power or the cable was pulled")

    def write(self, data: bytes) -> None:
        self._check_link()
        self.sim.feed(bytes(data))

    def read(self, timeout_s: float) -> bytes:
        self._check_link()
        data = self.sim.read()
        if data:
            return data
        step = max(float(timeout_s), 1e-3)
        if self.realtime:
            import time

            time.sleep(step)  # pacing the simulated machine for a watching user (not used by tests)
        self.sim.advance(step * self.speed)
        self._link_time += step
        self._check_link()
        return self.sim.read()

    def close(self) -> None:
        pass
