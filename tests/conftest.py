"""Shared test fixtures.

Tests that need the shared photographs or models (../shared beside the
repository, or $AIKON_SHARED) skip cleanly when they are absent.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
SHARED = Path(os.environ.get("AIKON_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    """The bundled public-domain portrait (NASA astronaut, 512x512)."""
    return SAMPLES / "astronaut.png"


@pytest.fixture(scope="session")
def shared_faces() -> list[dict]:
    """Rows of ../shared/faces/SOURCES.tsv with a ``path`` key; skips if absent."""
    tsv = SHARED / "faces" / "SOURCES.tsv"
    if not tsv.is_file():
        pytest.skip("../shared/faces is not present")
    with tsv.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for row in rows:
        row["path"] = SHARED / "faces" / row["filename"]
        row["true_faces"] = int(row["true_faces"])
        row["haar_faces"] = int(row["haar_faces"])
    return rows


@pytest.fixture(scope="session")
def mediapipe_model() -> Path:
    """The BlazeFace short-range model from ../shared/models; skips if absent."""
    path = SHARED / "models" / "face_detection_short_range.tflite"
    if not path.is_file():
        pytest.skip("../shared/models is not present")
    return path
