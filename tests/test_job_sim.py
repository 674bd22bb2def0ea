"""The whole host stack against the GRBL simulator: streaming, every fault kind, journal and resume.

The simulator runs on a virtual clock through :class:`SimulatorTransport`
(no sleeps); the protocol client uses the link clock, so poll rates and
timeouts are in link seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

simulator = pytest.importorskip("aikon.plotter.simulator")

from aikon.errors import AikonError, FirmwareError, PortError  # noqa: E402
from aikon.plotter.grbl import GrblClient  # noqa: E402
from aikon.plotter.job import JobRunner, build_job, resume_program  # noqa: E402
from aikon.plotter.journal import Journal, read_job_lines, read_journal  # noqa: E402
from aikon.plotter.transport import SimulatorTransport  # noqa: E402
from aikon.profiles import load_profile  # noqa: E402
from test_job import assert_union_equals_job, program  # noqa: E402

PROFILE = load_profile("grbl-servo")


SPEED = 4.0  # virtual seconds per link second


def _client(sim) -> GrblClient:
    link = SimulatorTransport(sim, speed=SPEED)
    client = GrblClient(link, clock=link.clock)
    client.connect(banner_timeout_s=2.0)
    return client


def _job():
    return build_job(program(), PROFILE)


def test_small_job_streams_with_every_line_acknowledged_and_trace_equals_strokes(tmp_path):
    job = _job()
    sim = simulator.GrblSimulator(profile=PROFILE)
    journal = Journal.start(tmp_path / "j.json", job.lines, source="t", profile=PROFILE.name, port="sim",
                            strokes_total=len(job.strokes))
    final = JobRunner(_client(sim), job, PROFILE, journal=journal).run()
    assert final.lines_acked == len(job.lines) and final.strokes_done == len(job.strokes)
    assert sim.trace.lines_ok == len(job.lines) and sim.trace.lines_error == 0 and sim.rx_overflows == 0
    assert sim.is_idle and not sim.pen_down
    assert_union_equals_job(sim.strokes(), [s.points for s in job.strokes])
    assert read_journal(tmp_path / "j.json").state == "done"


def _line_inside(job, stroke: int, point: int) -> int:
    """1-based number of the line (as the firmware counts) drawing ``point`` of ``stroke``."""
    return job.strokes[stroke].point_lines[point] + 1


FAULTS = {
    "disconnect-at": (PortError, "lost the connection"),
    "error-at": (FirmwareError, "error:20"),
    "alarm-at": (FirmwareError, "ALARM:1"),
    "stall-at": (PortError, "stopped answering"),
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
@pytest.mark.parametrize("stroke,point", [(0, 2), (1, 7)])
def test_fault_is_reported_journaled_and_resume_completes_the_job_exactly(tmp_path, kind, stroke, point):
    job = _job()
    line = _line_inside(job, stroke, point)
    sim = simulator.GrblSimulator(profile=PROFILE, faults=[f"{kind}={line}"])
    journal_path = tmp_path / "j.json"
    journal = Journal.start(journal_path, job.lines, source="t", profile=PROFILE.name, port="sim",
                            strokes_total=len(job.strokes))
    error_type, text = FAULTS[kind]
    with pytest.raises(error_type) as info:
        JobRunner(_client(sim), job, PROFILE, journal=journal, stall_timeout_s=2.0).run()
    message = str(info.value)
    assert text in message and f"--resume {journal_path}" in message
    state = read_journal(journal_path)
    assert state.state == "failed" and text in state.reason
    assert state.strokes_done <= stroke
    first_traces = sim.finish_trace().strokes
    first_traces = [np.asarray(s) for s in first_traces]

    # Resume on a board powered up with the carriage at the origin (what the user confirms).
    lines = read_job_lines(state, journal_path)
    resumed = resume_program(lines, PROFILE, state.strokes_done, state.partial_mm)
    sim2 = simulator.GrblSimulator(profile=PROFILE)
    JobRunner(_client(sim2), resumed, PROFILE, strokes_total=len(job.strokes)).run()
    traces = first_traces + sim2.strokes()
    if kind == "disconnect-at":
        # Power lost mid-stroke: the last status report (polled at 5 Hz) may be up to 0.2 s old, so at most
        # that much drawing is retraced along the same line (never skipped).
        overlap = min(job.strokes[stroke].length, 0.2 * PROFILE.motion.draw_speed + 0.01)
    else:
        overlap = 0.01  # the machine answered as it stopped: the resume point is where the pen stopped
    assert_union_equals_job(traces, [s.points for s in job.strokes], max_overlap_mm=overlap)
    # strokes finished before the fault are never drawn again
    for done in job.strokes[: state.strokes_done]:
        for trace in sim2.strokes():
            assert not (len(trace) == len(done.points) and np.allclose(trace, done.points, atol=1e-3))


def test_garbled_link_is_reported_and_resume_completes(tmp_path):
    job = _job()
    sim = simulator.GrblSimulator(profile=PROFILE, faults=["garble-rate=0.02"], seed=3)
    journal_path = tmp_path / "j.json"
    journal = Journal.start(journal_path, job.lines, source="t", profile=PROFILE.name, port="sim",
                            strokes_total=len(job.strokes))
    with pytest.raises(AikonError) as info:
        JobRunner(_client(sim), job, PROFILE, journal=journal, stall_timeout_s=2.0).run()
    assert "resume with" in str(info.value)
    state = read_journal(journal_path)
    assert state.state == "failed"
    resumed = resume_program(read_job_lines(state, journal_path), PROFILE, state.strokes_done, state.partial_mm)
    sim2 = simulator.GrblSimulator(profile=PROFILE)
    JobRunner(_client(sim2), resumed, PROFILE, strokes_total=len(job.strokes)).run()
    # every job stroke is covered; garbled lines may have drawn wrong marks before the stop, which the
    # report owns up to, so only coverage is asserted here
    from test_job import _dist_to, _sample

    traces = [np.asarray(s) for s in sim.finish_trace().strokes] + sim2.strokes()
    for s in job.strokes:
        assert _dist_to(_sample(s.points), [t for t in traces if len(t) >= 2]).max() < 1e-3
