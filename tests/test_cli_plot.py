"""``aikon plot`` and ``aikon ports`` end to end over a real pseudo-terminal with a scripted GRBL behind it."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import types

import numpy as np
import pytest

from aikon.cli import main
from aikon.errors import PortError
from aikon.plotter.journal import read_journal
from aikon.plotter.ports import describe_ports
from aikon.plotter.transport import SerialTransport
from aikon.profiles import load_profile
from test_job import assert_union_equals_job, program
from test_job_fake_device import FakeGrbl

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")


class PtyDevice:
    """Serves a FakeGrbl on the slave side of a pty from a thread (select with timeouts, no sleeps)."""

    def __init__(self, dev: FakeGrbl) -> None:
        self.dev = dev
        self.master, slave = pty.openpty()
        self.path = os.ttyname(slave)
        import tty

        tty.setraw(slave)
        os.close(slave)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.005)
            try:
                if ready:
                    data = os.read(self.master, 4096)
                    if data:
                        self.dev.write(data)
                out = self.dev.read(0)
                if out:
                    os.write(self.master, out)
            except (OSError, PortError):
                if self.dev.disconnected:
                    os.close(self.master)
                    return
                continue

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        try:
            os.close(self.master)
        except OSError:
            pass


@pytest.fixture
def gcode_file(tmp_path):
    path = tmp_path / "job.gcode"
    path.write_text("\n".join(program()) + "\n", encoding="ascii")
    return path


def test_plot_streams_gcode_over_a_pty(tmp_path, gcode_file, capsys):
    served = PtyDevice(FakeGrbl(lines_per_read=2))
    try:
        code = main(["plot", str(gcode_file), "--port", served.path, "--quiet",
                     "--journal", str(tmp_path / "j.json")])
    finally:
        served.close()
    assert code == 0, capsys.readouterr().err
    assert "done, 3 strokes drawn" in capsys.readouterr().err
    from aikon.plotter.job import build_job

    job = build_job(program(), load_profile("grbl-servo"))
    assert served.dev.received_lines == list(job.lines) and not served.dev.overflow
    assert_union_equals_job(served.dev.strokes(), [s.points for s in job.strokes])
    assert read_journal(tmp_path / "j.json").state == "done"


def test_plot_reports_error_then_resumes_from_journal(tmp_path, gcode_file, capsys):
    from aikon.plotter.job import build_job

    job = build_job(program(), load_profile("grbl-servo"))
    # Refuse the dwell after stroke 1's pen-down (1-based line number). Refusing a motion line would be
    # just as real, but GRBL goes on with the lines already buffered behind the refused one, so the
    # carriage would cut straight past the missing point before the host's feed hold lands: a mark off
    # the job whose length depends on thread timing, not on aikon. The refused dwell was stroke 1's sync
    # point, so how much of stroke 1 the host can prove drawn also depends on timing: the resume may
    # retrace part of stroke 1 (overlap on the same line, never a gap, never a mark off the job).
    bad_line = job.strokes[1].down_line + 2
    assert job.lines[bad_line - 1].startswith("G4")
    first = PtyDevice(FakeGrbl(lines_per_read=2, error_at=bad_line))
    journal = tmp_path / "j.json"
    try:
        code = main(["plot", str(gcode_file), "--port", first.path, "--quiet", "--journal", str(journal)])
    finally:
        first.close()
    err = capsys.readouterr().err
    assert code == 3 and "error:20 Unsupported command" in err and f"--resume {journal}" in err
    assert err.strip().count("\n") <= 1  # one clear line (after the start-up note)
    second = PtyDevice(FakeGrbl(lines_per_read=2))
    try:
        code = main(["plot", "--resume", str(journal), "--port", second.path, "--quiet", "--yes"])
    finally:
        second.close()
    assert code == 0, capsys.readouterr().err
    assert_union_equals_job(first.dev.strokes() + second.dev.strokes(), [s.points for s in job.strokes],
                            max_overlap_mm=job.strokes[1].length)
    state = read_journal(journal)
    assert state.state == "done" and state.attempts == 2


def test_plot_refuses_realtime_bytes_before_opening_anything(tmp_path, capsys):
    path = tmp_path / "bad.gcode"
    path.write_text("G21 G90\nG1 X10 Y10 F600 ?\n", encoding="ascii")
    code = main(["plot", str(path), "--port", "/dev/does-not-matter", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "line 2" in err and "real-time" in err


def test_missing_and_busy_ports_have_clear_messages(tmp_path, gcode_file, capsys):
    code = main(["plot", str(gcode_file), "--port", "/dev/ttyNOPE0", "--quiet", "--journal", str(tmp_path / "j")])
    err = capsys.readouterr().err
    assert code == 2 and "not found" in err and "aikon ports" in err
    served = PtyDevice(FakeGrbl())
    try:
        holder = SerialTransport(served.path)
        with pytest.raises(PortError, match="busy"):
            SerialTransport(served.path)
        holder.close()
    finally:
        served.close()


def test_ports_match_profiles_by_usb_id(capsys):
    profiles = [load_profile("grbl-servo"), load_profile("axidraw-v3")]
    raw = [types.SimpleNamespace(device="/dev/ttyACM0", vid=0x2341, pid=0x0043, description="Arduino Uno",
                                 manufacturer="Arduino", serial_number="1"),
           types.SimpleNamespace(device="/dev/ttyACM1", vid=0x04D8, pid=0xFD92, description="EiBotBoard",
                                 manufacturer=None, serial_number=None),
           types.SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None, description="n/a",
                                 manufacturer=None, serial_number=None)]
    info = describe_ports(raw, profiles)
    assert [(p.device, p.usb_id, p.profiles) for p in info] == [
        ("/dev/ttyACM0", "2341:0043", ("grbl-servo",)),
        ("/dev/ttyACM1", "04D8:FD92", ("axidraw-v3",)),
        ("/dev/ttyS0", None, ())]
    assert main(["ports", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)


def test_plot_svg_with_the_builtin_simulator(tmp_path, capsys):
    pytest.importorskip("aikon.plotter.simulator")
    svg = tmp_path / "in.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="100mm" viewBox="0 0 100 100">'
                   '<path d="M10 10 L90 10 L90 90" stroke="black" fill="none"/>'
                   '<path d="M20 80 L40 60" stroke="black" fill="none"/></svg>')
    trace = tmp_path / "trace.json"
    code = main(["plot", str(svg), "--sim", "--sim-speed", "200", "--sim-trace", str(trace), "--quiet"])
    assert code == 0, capsys.readouterr().err
    strokes = json.loads(trace.read_text())["strokes"]
    assert len(strokes) == 2 and read_journal(str(svg) + ".journal.json").state == "done"
    # machine coordinates: origin front-left, y up (grbl-servo), page y down on a 100 mm page
    assert strokes[0][0] == pytest.approx([10.0, 90.0]) and strokes[0][-1] == pytest.approx([90.0, 10.0])


def test_gcode_file_leaving_the_work_area_is_refused_before_anything_is_sent(tmp_path, capsys):
    path = tmp_path / "far.gcode"
    path.write_text("\n".join(program()[:6] + ["G0 X350 Y20"] + program()[6:]) + "\n", encoding="ascii")
    served = PtyDevice(FakeGrbl(lines_per_read=2))
    journal = tmp_path / "j.json"
    try:
        code = main(["plot", str(path), "--port", served.path, "--quiet", "--journal", str(journal)])
    finally:
        served.close()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "G-code line 7 (G0X350Y20) moves to X350.000 Y20.000, outside the work area of grbl-servo" in err
    assert served.dev.received_lines == [] and not journal.exists()


def test_svg_input_goes_through_the_writer_checks_and_fit(tmp_path, capsys):
    pytest.importorskip("aikon.plotter.simulator")
    svg = tmp_path / "big.svg"  # 400 mm wide: larger than the 300 x 300 mm grbl-servo area
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="400mm" height="100mm" viewBox="0 0 400 100">'
                   '<path d="M10 10 L390 10 L390 90" stroke="black" fill="none"/></svg>')
    code = main(["plot", str(svg), "--sim", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "does not fit the work area of grbl-servo" in err and "--fit" in err
    assert not (tmp_path / "big.svg.journal.json").exists()
    trace = tmp_path / "trace.json"
    code = main(["plot", str(svg), "--sim", "--sim-speed", "500", "--fit", "--sim-trace", str(trace), "--quiet"])
    assert code == 0, capsys.readouterr().err
    points = np.array([p for stroke in json.loads(trace.read_text())["strokes"] for p in stroke])
    assert len(points) and points.min() >= 0.0 and points.max() <= 300.0
    assert points[:, 0].max() - points[:, 0].min() == pytest.approx(300.0, abs=0.01)  # 380 mm scaled to 300


# --------------------------------------------------------------------------- as a user sees it: real processes


def _aikon(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aikon", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


@pytest.mark.parametrize("fault, code, words", [
    ("error-at=20", 3, "the plotter refused line 20"),
    ("disconnect-at=20", 2, "lost the connection to"),
])
def test_plot_process_against_simulate_pty_reports_a_fault_in_one_line(tmp_path, gcode_file, fault, code, words):
    link = tmp_path / "plotter"
    sim = _aikon("simulate", "--pty", str(link), "--speed", "200", "--fault", fault)
    try:
        assert "virtual GRBL plotter" in sim.stderr.readline()  # printed once LINK exists
        plot = _aikon("plot", str(gcode_file), "--port", str(link), "--journal", str(tmp_path / "j.json"))
        out, err = plot.communicate(timeout=60)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.communicate(timeout=30)
    lines = err.strip().splitlines()
    assert plot.returncode == code and "Traceback" not in err, err
    assert len(lines) == 2 and lines[0].startswith("aikon plot: GRBL 1.1h on") and words in lines[1], err
    assert f"resume with: aikon plot --resume {tmp_path / 'j.json'}" in lines[1]


def test_ctrl_c_while_waiting_for_the_banner_is_one_line_and_leaves_no_journal(tmp_path, gcode_file):
    master, slave = pty.openpty()  # a port that never answers
    path = os.ttyname(slave)
    plot = _aikon("plot", str(gcode_file), "--port", path, "--journal", str(tmp_path / "j.json"))
    try:
        received = b""
        while b"\x18" not in received:  # silent port: aikon asks for a banner with a soft reset, mid-wait
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, "aikon plot never asked for the banner"
            received += os.read(master, 64)
        plot.send_signal(signal.SIGINT)
        out, err = plot.communicate(timeout=30)
    finally:
        os.close(master)
        os.close(slave)
    assert plot.returncode == 130 and err == "aikon plot: interrupted\n", err
    assert not (tmp_path / "j.json").exists()
