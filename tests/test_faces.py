"""Face detection: the Face record, backend wiring and errors, and counts on the shared photos."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from aikon.errors import BackendError, InputError
from aikon.faces import BACKENDS, KEYPOINT_NAMES, Face, box_iou, detect_faces
from aikon.faces.blazeface import tile_grid
from aikon.faces.common import clip_box, same_face, suppress
from aikon.imaging import load_image

# The astronaut's face as BlazeFace short-range reports it (models/README.md).
ASTRONAUT_FACE = (177.0, 82.0, 95.0, 95.0)


# --- the Face record ------------------------------------------------------------------------


def test_face_to_json_with_and_without_keypoints() -> None:
    plain = Face(box=(1.0, 2.5, 30.0, 40.0), score=0.87654)
    assert plain.to_json() == {"box": [1.0, 2.5, 30.0, 40.0], "score": 0.8765}
    marked = Face(box=(0, 0, 10, 10), score=1.0, keypoints={"nose_tip": (5.0, 6.126)})
    assert marked.to_json()["keypoints"] == {"nose_tip": [5.0, 6.13]}


def test_face_is_frozen_and_scales() -> None:
    face = Face(box=(10.0, 20.0, 30.0, 40.0), score=0.5, keypoints={"mouth": (25.0, 50.0)})
    with pytest.raises(AttributeError):
        face.score = 1.0  # type: ignore[misc]
    half = face.scaled(0.5)
    assert half.box == (5.0, 10.0, 15.0, 20.0) and half.keypoints == {"mouth": (12.5, 25.0)}
    assert face.box == (10.0, 20.0, 30.0, 40.0)  # original untouched
    assert face.area == 1200.0 and face.center == (25.0, 40.0)


def test_box_helpers() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert clip_box((-5, 90, 20, 20), 100, 100) == (0.0, 90.0, 15.0, 10.0)
    strong = Face(box=(0, 0, 100, 100), score=0.9)
    weak_same = Face(box=(5, 5, 100, 100), score=0.6)
    inner = Face(box=(30, 30, 20, 20), score=0.95)  # a box inside another is the same face
    elsewhere = Face(box=(300, 0, 50, 50), score=0.2)
    kept = suppress([weak_same, strong, elsewhere, inner])
    assert kept == [inner, elsewhere]
    # Two neighbours whose boxes touch stay two faces; a box shifted onto the
    # forehead of another (centre inside it) is the same face.
    assert not same_face((0, 0, 100, 100), (90, 0, 100, 100))
    assert same_face((0, 0, 100, 100), (-20, -45, 95, 95))


def test_tile_grid_contains_every_small_face_in_some_tile() -> None:
    # Any face up to half the smallest tile, anywhere, must lie wholly inside
    # one tile of that size, or tiling would cut it in every tile.
    height, width = 700, 1100
    windows = tile_grid(height, width)
    assert windows[0] == (0, 0, width, height)
    smallest = min(w for _, _, w, _ in windows)
    tiles = [t for t in windows if t[2] == smallest]
    for x, y, w, h in tiles:
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    rng = np.random.default_rng(3)
    face = smallest // 2
    for fx, fy in zip(rng.integers(0, width - face, 300), rng.integers(0, height - face, 300)):
        assert any(x <= fx and fx + face <= x + w and y <= fy and fy + face <= y + h for x, y, w, h in tiles)


# --- wiring and errors ----------------------------------------------------------------------


def test_none_backend_and_unknown_backend(sample_photo: Path) -> None:
    image = load_image(sample_photo)
    assert detect_faces(image, backend="none") == []
    with pytest.raises(BackendError, match="unknown face detector 'dlib'.*haar, mediapipe, yunet, none"):
        detect_faces(image, backend="dlib")
    assert BACKENDS == ("haar", "mediapipe", "yunet", "none")


@pytest.mark.parametrize("bad", [np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4, 2), np.uint8), "photo.jpg"])
def test_bad_image_argument(bad) -> None:
    with pytest.raises(InputError):
        detect_faces(bad, backend="none")


@pytest.mark.parametrize("backend, suffix", [("mediapipe", ".tflite"), ("yunet", ".onnx")])
def test_model_backends_need_a_model(backend: str, suffix: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    monkeypatch.delenv("AIKON_FACE_MODEL", raising=False)
    with pytest.raises(BackendError, match=r"needs a model file: pass --face-model PATH or set AIKON_FACE_MODEL"):
        detect_faces(image, backend=backend)
    missing = tmp_path / f"nope{suffix}"
    with pytest.raises(BackendError, match=rf"{missing}.*does not exist.*{suffix}"):
        detect_faces(image, backend=backend, model_path=missing)
    with pytest.raises(BackendError, match="is a directory"):
        detect_faces(image, backend=backend, model_path=tmp_path)
    monkeypatch.setenv("AIKON_FACE_MODEL", str(missing))  # the environment variable is used too
    with pytest.raises(BackendError, match="does not exist"):
        detect_faces(image, backend=backend)


@pytest.mark.parametrize("backend", ["mediapipe", "yunet"])
def test_unloadable_model_is_a_backend_error(backend: str, tmp_path: Path) -> None:
    garbage = tmp_path / "model.bin"
    garbage.write_bytes(b"this is not a neural network" * 10)
    with pytest.raises(BackendError, match=f"cannot load face model {garbage}"):
        detect_faces(np.zeros((64, 64, 3), np.uint8), backend=backend, model_path=garbage)


def test_missing_mediapipe_package(mediapipe_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes "import mediapipe" fail
    with pytest.raises(BackendError, match="pip install mediapipe"):
        detect_faces(np.zeros((64, 64, 3), np.uint8), backend="mediapipe", model_path=mediapipe_model)


def test_mediapipe_model_from_environment(sample_photo: Path, mediapipe_model: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIKON_FACE_MODEL", str(mediapipe_model))
    faces = detect_faces(load_image(sample_photo), backend="mediapipe")
    assert len(faces) == 1


def test_blank_images_have_no_faces(mediapipe_model: Path) -> None:
    flat = np.full((300, 400, 3), 128, np.uint8)
    assert detect_faces(flat, backend="haar") == []
    assert detect_faces(flat, backend="mediapipe", model_path=mediapipe_model) == []
    tiny = np.zeros((3, 5, 3), np.uint8)
    assert detect_faces(tiny, backend="haar") == []
    assert detect_faces(tiny, backend="mediapipe", model_path=mediapipe_model) == []


# --- the astronaut --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["haar", "mediapipe"])
def test_astronaut_face(backend: str, sample_photo: Path, mediapipe_model: Path) -> None:
    image = load_image(sample_photo)
    before = image.copy()
    faces = detect_faces(image, backend=backend, model_path=mediapipe_model)
    np.testing.assert_array_equal(image, before)  # input not modified
    assert len(faces) == 1
    assert box_iou(faces[0].box, ASTRONAUT_FACE) > 0.5
    assert 0.5 <= faces[0].score <= 1.0


def test_mediapipe_keypoints_are_where_a_face_has_them(sample_photo: Path, mediapipe_model: Path) -> None:
    (face,) = detect_faces(load_image(sample_photo), backend="mediapipe", model_path=mediapipe_model)
    kp = face.keypoints
    assert set(kp) == set(KEYPOINT_NAMES)
    x, y, w, h = face.box
    for px, py in kp.values():
        assert x - 0.1 * w <= px <= x + 1.1 * w and y - 0.1 * h <= py <= y + 1.1 * h
    # Subject's right eye appears on the image's left; eyes above nose above mouth.
    assert kp["right_eye"][0] < kp["nose_tip"][0] < kp["left_eye"][0]
    assert kp["right_ear"][0] < kp["right_eye"][0] and kp["left_eye"][0] < kp["left_ear"][0]
    assert max(kp["right_eye"][1], kp["left_eye"][1]) < kp["nose_tip"][1] < kp["mouth"][1]


def test_min_score_filters(sample_photo: Path, mediapipe_model: Path) -> None:
    image = load_image(sample_photo)
    (face,) = detect_faces(image, backend="mediapipe", model_path=mediapipe_model)
    assert detect_faces(image, backend="mediapipe", model_path=mediapipe_model,
                        min_score=min(1.0, face.score + 0.01)) == []
    assert detect_faces(image, backend="haar", min_score=1.0) == []


# --- counts on the shared photographs -------------------------------------------------------


@pytest.fixture(scope="module")
def shared_results(shared_faces: list[dict], mediapipe_model: Path) -> list[dict]:
    """Each shared photo with its faces by haar and by mediapipe (computed once per module)."""
    results = []
    for row in shared_faces:
        image = load_image(row["path"])
        results.append({**row,
                        "haar": detect_faces(image, backend="haar"),
                        "mediapipe": detect_faces(image, backend="mediapipe", model_path=mediapipe_model)})
    return results


def _report(results: list[dict], capsys: pytest.CaptureFixture) -> None:
    with capsys.disabled():
        print("\nphoto                                   true baseline haar mediapipe")
        for r in results:
            print(f"{r['filename']:40s} {r['true_faces']:3d} {r['haar_faces']:6d} {len(r['haar']):6d} "
                  f"{len(r['mediapipe']):6d}")
        for key in ("haar_faces", "haar", "mediapipe"):
            total = sum(abs((r[key] if key == "haar_faces" else len(r[key])) - r["true_faces"]) for r in results)
            print(f"total count error {key.replace('haar_faces', 'baseline haar')}: {total}")


def test_haar_at_least_as_good_as_the_baseline(shared_results: list[dict], capsys: pytest.CaptureFixture) -> None:
    _report(shared_results, capsys)
    for r in shared_results:
        if r["haar_faces"] == r["true_faces"]:
            assert len(r["haar"]) == r["true_faces"], r["filename"]
    ours = sum(abs(len(r["haar"]) - r["true_faces"]) for r in shared_results)
    baseline = sum(abs(r["haar_faces"] - r["true_faces"]) for r in shared_results)
    assert ours <= baseline
    assert ours < baseline  # the verification step removes the baseline's false faces on dogs and clothing


def test_mediapipe_not_worse_than_haar_on_any_photo(shared_results: list[dict]) -> None:
    for r in shared_results:
        mp_error = abs(len(r["mediapipe"]) - r["true_faces"])
        haar_error = abs(len(r["haar"]) - r["true_faces"])
        assert mp_error <= haar_error, (r["filename"], r["true_faces"], len(r["haar"]), len(r["mediapipe"]))


def test_no_faces_on_dogs_and_landscape(shared_results: list[dict]) -> None:
    negatives = [r for r in shared_results if r["true_faces"] == 0]
    assert negatives
    for r in negatives:
        assert r["haar"] == [] and r["mediapipe"] == [], r["filename"]


def test_small_faces_in_groups_are_found_by_mediapipe(shared_results: list[dict]) -> None:
    # The short-range model sees 128x128; without tiling it finds 3 of 6 in the
    # restaurant and 7 of 24 in the collage.
    by_name = {r["filename"]: r for r in shared_results}
    for name in ("16_pascal_restaurant_group.jpg", "19_bald_collage_24.jpg", "28_friends_steps_frontal.jpg"):
        if name in by_name:
            assert len(by_name[name]["mediapipe"]) == by_name[name]["true_faces"], name


def test_backends_agree_on_where_the_faces_are(shared_results: list[dict]) -> None:
    # Where both counts are right, every mediapipe face overlaps a haar face
    # (IoU > 0.3, or lies inside it: Haar's profile boxes take in the whole
    # head): the detectors found the same people, not just as many things.
    checked = 0
    for r in shared_results:
        if len(r["haar"]) == len(r["mediapipe"]) == r["true_faces"] > 0:
            for face in r["mediapipe"]:
                assert any(same_face(face.box, other.box) for other in r["haar"]), r["filename"]
                checked += 1
    assert checked >= 10


def test_results_sorted_by_area_and_inside_the_image(shared_results: list[dict]) -> None:
    for r in shared_results:
        from PIL import Image

        with Image.open(r["path"]) as im:
            width, height = im.size
        for key in ("haar", "mediapipe"):
            areas = [f.area for f in r[key]]
            assert areas == sorted(areas, reverse=True)
            for f in r[key]:
                x, y, w, h = f.box
                assert 0 <= x and 0 <= y and x + w <= width + 1e-6 and y + h <= height + 1e-6 and w > 0 and h > 0
