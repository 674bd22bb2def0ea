"""``aikon detect``: JSON and table output, and one-line errors with exit 2 for bad input."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aikon.cli import main
from aikon.faces import box_iou

ASTRONAUT_FACE = (177.0, 82.0, 95.0, 95.0)


def _run_module(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m aikon ...`` in a fresh interpreter, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "aikon", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def _assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("aikon detect: error:")
    for needle in needles:
        assert needle in lines[0]


def test_json_output_through_python_m(sample_photo: Path) -> None:
    done = _run_module("detect", str(sample_photo), "--json")
    assert done.returncode == 0, done.stderr
    faces = json.loads(done.stdout)
    assert isinstance(faces, list) and len(faces) == 1
    assert set(faces[0]) == {"box", "score"}  # haar has no keypoints: the key is omitted
    assert box_iou(faces[0]["box"], ASTRONAUT_FACE) > 0.5
    assert 0.0 < faces[0]["score"] <= 1.0


def test_bad_image_through_python_m(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture\n")
    done = _run_module("detect", str(bad), "--json")
    _assert_one_line_error(done.returncode, done.stdout, done.stderr, str(bad))


def test_mediapipe_json_has_keypoints(sample_photo: Path, mediapipe_model: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    code = main(["detect", str(sample_photo), "--json", "--detector", "mediapipe",
                 "--face-model", str(mediapipe_model)])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    (face,) = json.loads(out)
    assert box_iou(face["box"], ASTRONAUT_FACE) > 0.5
    assert set(face["keypoints"]) == {"right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear"}


def test_table_output(sample_photo: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["detect", str(sample_photo)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "512x512 px, 1 face(s) by haar" in out[0]
    assert out[1].split()[:6] == ["#", "x", "y", "width", "height", "score"]
    x, y, w, h = (float(v) for v in out[2].split()[1:5])
    assert box_iou((x, y, w, h), ASTRONAUT_FACE) > 0.5


def test_no_faces(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((80, 120, 3), 200, np.uint8)).save(flat)
    assert main(["detect", str(flat), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["detect", str(flat), "--detector", "none"]) == 0
    assert "0 face(s) by none" in capsys.readouterr().out


def _huge_png(path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def _truncated_jpeg(path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, "JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("name, make, needle", [
    ("missing.png", None, "no such file"),
    ("empty.jpg", lambda p: p.write_bytes(b""), "empty"),
    ("notes.png", lambda p: p.write_text("hello"), "not a supported image"),
    ("cut.jpg", _truncated_jpeg, "truncated"),
    ("huge.png", _huge_png, "too large"),
    ("folder", lambda p: p.mkdir(), "directory"),
])
def test_bad_inputs_exit_2_with_one_line(name: str, make, needle: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / name
    if make is not None:
        make(path)
    code = main(["detect", str(path), "--json"])
    out, err = capsys.readouterr()
    _assert_one_line_error(code, out, err, str(path), needle)


def test_max_pixels_option(sample_photo: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["detect", str(sample_photo), "--json", "--max-pixels", "100000"])
    out, err = capsys.readouterr()
    _assert_one_line_error(code, out, err, "512x512", "100,000")


def test_missing_model_says_what_to_pass(sample_photo: Path, capsys: pytest.CaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIKON_FACE_MODEL", raising=False)
    for detector in ("mediapipe", "yunet"):
        code = main(["detect", str(sample_photo), "--detector", detector])
        out, err = capsys.readouterr()
        _assert_one_line_error(code, out, err, "--face-model PATH", "AIKON_FACE_MODEL")


@pytest.mark.parametrize("args", [["--detector", "dlib"], ["--max-pixels", "0"], ["--min-score", "2"]])
def test_usage_errors(args: list[str], sample_photo: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["detect", str(sample_photo), *args])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_help_has_an_example(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["detect", "--help"])
    assert info.value.code == 0
    assert "aikon detect photo.jpg --json" in capsys.readouterr().out
