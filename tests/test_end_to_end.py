"""The whole product as a user runs it: photo -> sketch -> G-code -> `aikon plot` over a pty -> simulated GRBL.

The simulator serves a real pseudo-terminal (as `aikon simulate --pty` does)
and the host opens it through pyserial like a USB port; the simulator runs
faster than real time by its speed factor (no sleeps in the test).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aikon.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")


def test_sample_portrait_plots_through_a_pty_every_line_acknowledged(sample_photo, tmp_path, capsys):
    from aikon.plotter.job import build_job
    from aikon.plotter.journal import read_journal
    from aikon.plotter.pty_link import PtySimulator
    from aikon.plotter.simulator import GrblSimulator
    from aikon.profiles import load_profile

    svg, gcode, journal = tmp_path / "p.svg", tmp_path / "p.gcode", tmp_path / "job.json"
    assert main(["sketch", str(sample_photo), "-o", str(svg), "--gcode", str(gcode), "--profile", "grbl-servo",
                 "-q"]) == 0
    profile = load_profile("grbl-servo")
    job = build_job(gcode.read_text().splitlines(), profile)
    sim = GrblSimulator(profile=profile)
    # ~25 min of machine time in about a second of wall time.
    with PtySimulator(sim, speed=2000.0, link=tmp_path / "plotter"):
        code = main(["plot", str(gcode), "--port", str(tmp_path / "plotter"), "--profile", "grbl-servo",
                     "--journal", str(journal), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    # Every streamed line acknowledged with ok, none with an error, no RX overflow.
    assert sim.trace.lines_received == len(job.lines)
    assert sim.trace.lines_ok == len(job.lines) and sim.trace.lines_error == 0
    assert sim.rx_overflows == 0
    assert [e for e in sim.trace.events if e["kind"] in ("out_of_bounds", "error", "alarm")] == []
    # The plotted strokes equal the job's strokes, in order.
    traced = [s for s in sim.strokes() if len(s) >= 2]
    wanted = [s.points for s in job.strokes]
    assert len(traced) == len(wanted) > 500
    for got, want in zip(traced, wanted):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert read_journal(journal).state == "done"
    assert not sim.pen_down and sim.is_idle
