"""``aikon optimize``: output written, statistics printed, errors on one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from aikon.cli import main
from aikon.drawing import pen_up_travel
from aikon.geometry.svgimport import read_svg


@pytest.fixture()
def messy_svg(tmp_path):
    """Segments in random order and direction, in two Inkscape layers; some share ends."""
    rng = np.random.default_rng(11)
    lines = []
    for layer in ("ink", "shade"):
        lines.append(f'<g inkscape:groupmode="layer" inkscape:label="{layer}" style="stroke:black;stroke-width:0.4">')
        for _ in range(150):
            a = rng.uniform(0, 100, 2)
            b = a + rng.normal(0, 3, 2)
            lines.append(f'<line x1="{a[0]:.3f}" y1="{a[1]:.3f}" x2="{b[0]:.3f}" y2="{b[1]:.3f}"/>')
            if rng.random() < 0.2:
                c = b + rng.normal(0, 3, 2)
                lines.append(f'<line x1="{c[0]:.3f}" y1="{c[1]:.3f}" x2="{b[0]:.3f}" y2="{b[1]:.3f}"/>')
        lines.append("</g>")
    text = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
            'width="100mm" height="100mm" viewBox="0 0 100 100">\n' + "\n".join(lines) + "\n</svg>\n")
    path = tmp_path / "messy.svg"
    path.write_text(text)
    return path


def test_optimize_writes_svg_and_prints_table(messy_svg, tmp_path, capsys):
    out = tmp_path / "out.svg"
    rc = main(["optimize", str(messy_svg), "-o", str(out), "--time-budget", "0.5", "--merge-tol", "0.01"])
    assert rc == 0
    text = capsys.readouterr().out
    for label in ("paths", "pen-down length (mm)", "pen-up travel (mm)", "pen lifts", "before", "after"):
        assert label in text
    before, after = read_svg(messy_svg), read_svg(out)
    assert after.page.size == pytest.approx(before.page.size)
    assert len(after.layers) == 2
    assert pen_up_travel(after) < 0.3 * pen_up_travel(before)
    assert after.path_count < before.path_count  # the touching pairs were merged


def test_optimize_json_reports_the_written_file(messy_svg, tmp_path, capsys):
    out = tmp_path / "out.svg"
    assert main(["optimize", str(messy_svg), "-o", str(out), "--json", "--time-budget", "0.2",
                 "--simplify-tol", "0", "--min-length", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    written = read_svg(out)
    assert report["after"]["paths"] == written.path_count
    assert report["after"]["pen_up_mm"] == pytest.approx(pen_up_travel(written, start=(0, 0)), abs=0.01)
    assert report["before"]["paths"] == read_svg(messy_svg).path_count


def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, capsys):
    bad = tmp_path / "bad.svg"
    bad.write_text("this is not xml")
    out = tmp_path / "out.svg"
    assert main(["optimize", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err and "bad.svg" in err
    assert not out.exists()
    assert main(["optimize", str(tmp_path / "missing.svg"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty.svg"
    empty.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm"><text>hi</text></svg>')
    assert main(["optimize", str(empty), "-o", str(out)]) == 2
    assert "no drawable paths" in capsys.readouterr().err
    assert not out.exists()


def test_bad_option_values_are_usage_errors(messy_svg, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["optimize", str(messy_svg), "-o", str(tmp_path / "o.svg"), "--simplify-tol", "-1"])
    assert info.value.code == 2
    assert "must be a finite number >= 0" in capsys.readouterr().err


def test_help_has_an_example():
    result = subprocess.run([sys.executable, "-m", "aikon", "optimize", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "example:" in result.stdout and "aikon optimize" in result.stdout
    assert "--merge-tol" in result.stdout and "--time-budget" in result.stdout
