"""Transports: pyserial URLs, clear port errors, the in-process simulator link."""

from __future__ import annotations

import errno
import types

import pytest
import serial

from aikon.errors import PortError
from aikon.plotter.transport import RecordingTransport, SerialTransport, SimulatorTransport, port_error


@pytest.mark.parametrize("exc,expected", [
    (serial.SerialException(errno.ENOENT, "could not open port /dev/ttyUSB9: No such file or directory"),
     "not found"),
    (serial.SerialException(errno.EACCES, "could not open port /dev/ttyUSB9: Permission denied"), "dialout"),
    (serial.SerialException(errno.EAGAIN, "Could not exclusively lock port /dev/ttyUSB9"), "busy"),
    (serial.SerialException(errno.EBUSY, "Device or resource busy"), "busy"),
])
def test_open_errors_are_translated(exc, expected, monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    assert expected in str(port_error(exc, "/dev/ttyUSB9", opening=True))


def test_a_port_that_vanishes_mid_job_is_a_port_error():
    class Vanishing:
        timeout = 0.05
        in_waiting = 0

        def read(self, n):
            raise serial.SerialException("device reports readiness to read but returned no data "
                                         "(device disconnected or multiple access on port?)")

        def write(self, data):
            raise OSError(errno.EIO, "Input/output error")

    fake_serial = types.SimpleNamespace(SerialException=serial.SerialException,
                                        serial_for_url=lambda *a, **k: Vanishing())
    link = SerialTransport("/dev/ttyUSB0", serial_module=fake_serial)
    with pytest.raises(PortError, match="lost the connection to /dev/ttyUSB0"):
        link.read(0.1)
    with pytest.raises(PortError, match="lost the connection"):
        link.write(b"G0X1\n")


def test_exclusive_lock_is_requested_for_device_paths_only():
    calls = []
    fake_serial = types.SimpleNamespace(SerialException=serial.SerialException,
                                        serial_for_url=lambda url, **k: calls.append((url, k)) or object())
    SerialTransport("/dev/ttyACM0", 115200, serial_module=fake_serial)
    SerialTransport("socket://localhost:7777", 115200, serial_module=fake_serial)
    assert calls[0][1]["exclusive"] is True and "exclusive" not in calls[1][1]
    assert calls[0][1]["baudrate"] == 115200


def test_recording_transport_keeps_each_write():
    link = RecordingTransport(SerialTransport("loop://"))
    link.write(b"?")
    link.write(b"G1X1\n")
    assert link.writes == [b"?", b"G1X1\n"]
    assert link.read(1.0) == b"?G1X1\n"


def test_simulator_link_runs_virtual_time_and_reports_power_loss():
    sim_module = pytest.importorskip("aikon.plotter.simulator")
    sim = sim_module.GrblSimulator(faults=["disconnect-at=1"])
    link = SimulatorTransport(sim, speed=10)
    assert b"Grbl 1.1h" in link.read(0.1)
    before = sim.time
    assert link.read(0.05) == b"" and sim.time == pytest.approx(before + 0.5)
    assert link.clock() == pytest.approx(0.05)
    link.write(b"G0X1\n")
    with pytest.raises(PortError, match="lost the connection"):
        for _ in range(10):
            link.read(0.05)
