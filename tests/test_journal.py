"""Job journal: atomic snapshots, saved job lines checked by hash, clear errors for bad files."""

from __future__ import annotations

import json

import pytest

from aikon.errors import InputError
from aikon.plotter.journal import Journal, job_hash, read_job_lines, read_journal


def test_job_hash_is_sha256_of_the_streamed_bytes():
    import hashlib

    lines = ["G21G90", "G0X1Y1"]
    assert job_hash(lines) == hashlib.sha256(b"G21G90\nG0X1Y1\n").hexdigest()
    assert job_hash(lines) != job_hash(["G21G90", "G0X1Y2"])


def test_start_saves_lines_and_first_snapshot(tmp_path):
    path = tmp_path / "job.json"
    journal = Journal.start(path, ["G21G90", "M3S90", "G4P0.1"], source="in.svg", profile="grbl-servo",
                            port="/dev/ttyUSB0", strokes_total=7)
    state = read_journal(path)
    assert (state.state, state.strokes_total, state.lines_total, state.port) == ("running", 7, 3, "/dev/ttyUSB0")
    assert read_job_lines(state, path) == ["G21G90", "M3S90", "G4P0.1"]
    data = json.loads(path.read_text())
    assert data["format"] == "aikon-journal" and data["job_hash"] == job_hash(["G21G90", "M3S90", "G4P0.1"])
    assert journal.writes == 1


def test_updates_are_throttled_but_state_changes_always_written(tmp_path):
    now = [0.0]
    path = tmp_path / "j.json"
    journal = Journal.start(path, ["G0X1"], source="s", profile="p", port="x", strokes_total=3,
                            clock=lambda: now[0], min_interval_s=1.0)
    journal.update(strokes_done=1)  # too soon: kept in memory only
    assert read_journal(path).strokes_done == 0
    now[0] = 1.5
    journal.update(strokes_done=2, partial_mm=3.25, resume_point=(1.0, 2.0))
    state = read_journal(path)
    assert (state.strokes_done, state.partial_mm, state.resume_point) == (2, 3.25, (1.0, 2.0))
    journal.update(state="failed", reason="lost the connection")  # a state change is written at once
    assert read_journal(path).state == "failed"
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_edited_job_file_is_refused(tmp_path):
    path = tmp_path / "j.json"
    Journal.start(path, ["G0X1"], source="s", profile="p", port="x", strokes_total=0)
    (tmp_path / "j.json.gcode").write_text("G0X2\n")
    with pytest.raises(InputError, match="does not match"):
        read_job_lines(read_journal(path), path)


@pytest.mark.parametrize("content,message", [
    (None, "not found"), ("{not json", "unreadable"), ('{"format": "other"}', "not an aikon job journal"),
    ('{"format": "aikon-journal", "version": 99}', "version 99"),
])
def test_bad_journals_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "j.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_journal(path)
