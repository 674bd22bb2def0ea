"""The simulator behind a real pseudo-terminal, opened with pyserial; and in-process (SimSerial)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

serial = pytest.importorskip("serial")

from aikon.gcode_reader import interpret, strokes_from_moves  # noqa: E402
from aikon.plotter.pty_link import PtySimulator, SimSerial  # noqa: E402
from aikon.plotter.simulator import GrblSimulator  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")

JOB = ["G21 G90", "M5", "G0 X10 Y10", "M3 S1000", "G4 P0.1", "G1 X30 Y10 F3000", "G1 X30 Y25", "M5",
       "G0 X50 Y50", "M3 S1000", "G1 X60 Y55", "M5", "G0 X0 Y0"]


def read_reply(port) -> str:
    line = port.readline()
    assert line.endswith(b"\r\n"), f"timed out waiting for a reply (got {line!r})"
    return line.decode().strip()


def stream_send_response(port, lines):
    for line in lines:
        port.write((line + "\n").encode())
        reply = read_reply(port)
        while reply.startswith("<") or reply.startswith("[") or not reply:
            reply = read_reply(port)
        assert reply == "ok", (line, reply)


def wait_idle(port):
    for _ in range(2000):
        port.write(b"?")
        reply = read_reply(port)
        if reply.startswith("<Idle"):
            return reply
        if hasattr(port, "sleep"):
            port.sleep(0.2)  # 5 Hz polling on the port's own clock
    raise AssertionError("machine never became idle")


def test_pty_banner_job_and_trace(tmp_path):
    link = tmp_path / "plotter"
    sim = GrblSimulator()
    with PtySimulator(sim, speed=200.0, link=link) as server:
        assert link.is_symlink() and os.readlink(link) == server.slave_path
        port = serial.serial_for_url(str(link), baudrate=115200, timeout=5)
        try:
            assert read_reply(port) == ""  # the banner starts with an empty line
            assert read_reply(port) == "Grbl 1.1h ['$' for help]"
            stream_send_response(port, JOB)
            assert wait_idle(port).startswith("<Idle|MPos:0.000,0.000,0.000")
        finally:
            port.close()
    assert not link.exists()
    expected = strokes_from_moves(interpret(JOB))
    got = sim.strokes()
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_pty_disconnect_fault_closes_port_and_link_comes_back(tmp_path):
    link = tmp_path / "plotter"
    sim = GrblSimulator(faults=["disconnect-at=2"])
    with PtySimulator(sim, speed=200.0, link=link) as server:
        first_path = server.slave_path
        port = serial.serial_for_url(str(link), timeout=5)
        assert read_reply(port) == "" and read_reply(port).startswith("Grbl")
        port.write(b"G0 X5\nG0 X6\n")
        assert read_reply(port) == "ok"
        with pytest.raises(serial.SerialException):
            for _ in range(50):
                if not port.read(1):
                    pass
        port.close()
        for _ in range(500):  # the server offers a new pty; the link follows it
            if os.readlink(link) != first_path:
                break
            server._stop.wait(0.01)
        port = serial.serial_for_url(str(link), timeout=5)
        assert read_reply(port) == "" and read_reply(port).startswith("Grbl")  # rebooted
        port.close()
    kinds = [(e["kind"], e.get("on")) for e in sim.trace.events if e["kind"] in ("fault", "power")]
    # Open (board reset), the fault, power lost, power back on the reconnect.
    assert kinds == [("power", True), ("fault", None), ("power", False), ("power", True)]


def test_sim_serial_virtual_clock_streams_a_job_deterministically():
    sim = GrblSimulator()
    port = SimSerial(sim, timeout=1.0)
    assert port.readline() == b"\r\n" and port.readline().startswith(b"Grbl 1.1h")
    stream_send_response(port, JOB)
    wait_idle(port)
    assert port.clock() == pytest.approx(sim.time)
    np.testing.assert_allclose(sim.strokes()[0], [[10, 10], [30, 10], [30, 25]])
    port.close()
    with pytest.raises(serial.SerialException):
        port.write(b"?")


def test_sim_serial_disconnect_raises_and_reopen_resets():
    sim = GrblSimulator(faults=["disconnect-at=1"])
    port = SimSerial(sim, timeout=0.5)
    port.reset_input_buffer()
    port.write(b"G0 X1\n")
    with pytest.raises(serial.SerialException):
        port.readline()
    port.close()
    port.open()
    assert port.readline() == b"\r\n" and port.readline().startswith(b"Grbl")


def test_cli_runs_a_gcode_file_and_writes_trace_and_render(tmp_path):
    gcode = tmp_path / "job.gcode"
    gcode.write_text("\n".join(JOB) + "\n")
    trace, render = tmp_path / "trace.json", tmp_path / "trace.png"
    done = subprocess.run([sys.executable, "-m", "aikon", "simulate", "--profile", "grbl-servo", str(gcode),
                           "--trace", str(trace), "--render", str(render)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "machine time" in done.stderr
    data = json.loads(trace.read_text())
    assert data["lines_ok"] == len(JOB) and len(data["strokes"]) == 2
    assert render.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_bad_fault_and_missing_mode(tmp_path):
    done = subprocess.run([sys.executable, "-m", "aikon", "simulate", "--pty", str(tmp_path / "p"),
                           "--fault", "explode-at=3"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "explode-at" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "aikon", "simulate"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "either --pty" in done.stderr


def test_cli_file_mode_reports_a_fault_and_still_writes_the_trace(tmp_path):
    gcode = tmp_path / "job.gcode"
    gcode.write_text("\n".join(JOB) + "\n")
    trace = tmp_path / "trace.json"
    done = subprocess.run([sys.executable, "-m", "aikon", "simulate", str(gcode), "--fault", "alarm-at=7",
                           "--trace", str(trace)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ALARM:1 Hard limit" in done.stderr
    data = json.loads(trace.read_text())
    assert data["strokes"] == [[[10.0, 10.0], [30.0, 10.0], [30.0, 17.5]]]  # stopped half way up line 7
    assert [e["kind"] for e in data["events"]].count("alarm") == 1


def test_pty_link_never_replaces_a_regular_file(tmp_path):
    from aikon.errors import PortError

    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(PortError, match="not a symlink"):
        PtySimulator(GrblSimulator(), link=precious)
    assert precious.read_text() == "keep me"
