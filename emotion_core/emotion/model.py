"""The emotion model interface, and the one path from detected faces to readings (batched)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from emotion_core.core.crops import FacePreprocessing, grey_face_crops, normalised
from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces

# Faces per onnxruntime call: its memory follows the largest call, and a batch of 8 busy frames
# read with their mirror images can be a thousand faces
FACES_PER_CALL = 256


class EmotionModelUnavailable(ClassroomMoodError, RuntimeError):
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


# What video analysis and evaluation feed the models unless told otherwise; chosen by measuring
# on JAFFE and lfw_emotion_dev (BENCHMARKS.md, "Making the offline default better").
# Each of alignment and flipping alone helped on one set and cost a little on the other; the two
# together helped on both, so both are on. Grey-level normalisation hurt lfw_emotion_dev.
DEFAULT_PREPROCESSING = FacePreprocessing(align=True, flip=True)


def members_of(model: EmotionModel) -> tuple[tuple[EmotionModel, float], ...]:
    """The models whose readings make up ``model``'s, with their weights: an ensemble's members,
    or the model itself."""
    return tuple(getattr(model, "members", ((model, 1.0),)))


def classify_faces(
    model: EmotionModel,
    images: Sequence[np.ndarray],
    faces: Sequence[Faces],
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
) -> list[Faces]:
    """Classify all faces of several frames in one call per model; returns ``faces`` with emotions.

    The one path from detected faces to emotion readings, used by video analysis and by
    evaluation: crops cut the way ``preprocessing`` says, for each member of an ensemble at its
    own input size and margin, mirrored too when ``preprocessing.flip`` (unless the model
    averages with the mirror image itself: ``mirrors_itself``).
    """
    counts = [len(f) for f in faces]
    if sum(counts) == 0:
        return [f.with_emotions(np.zeros((0, len(EMOTIONS)), np.float32)) for f in faces]

    def crops_for(member: EmotionModel) -> np.ndarray:
        margin = member.crop_margin if preprocessing.margin is None else preprocessing.margin
        crops = np.concatenate([
            grey_face_crops(img, f, member.input_size, margin, preprocessing.align)
            for img, f in zip(images, faces)
        ])
        return normalised(crops, preprocessing.normalise)

    probabilities = classify_crops(model, crops_for, preprocessing.flip)
    splits = np.cumsum(counts)[:-1]
    return [f.with_emotions(p) for f, p in zip(faces, np.split(probabilities, splits))]


def classify_crops(
    model: EmotionModel, crops_for: Callable[[EmotionModel], np.ndarray], flip: bool
) -> np.ndarray:
    """Probabilities (N, 7) of ``model`` for the faces that ``crops_for(member)`` cuts at each
    member's input size, averaged with their mirror images when ``flip`` (unless the member
    mirrors them itself) and over an ensemble's members by weight.

    ``classify_faces`` cuts the crops from frames; a benchmark that holds crops already (a
    face set of tight crops) reads them here the same way.
    """
    total = np.float64(0.0)  # float64 sums, as the readings of many members are added
    weights = 0.0
    for member, weight in members_of(model):
        crops = crops_for(member)
        if flip and not getattr(member, "mirrors_itself", False):
            both = member.predict(np.concatenate([crops, crops[:, :, ::-1]]))
            probabilities = (both[: len(crops)] + both[len(crops):]) / 2
        else:
            probabilities = member.predict(crops)
        total = total + weight * probabilities
        weights += weight
    return normalised_rows(total / weights)


def normalised_rows(probabilities: Any) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float32).reshape(-1, len(EMOTIONS))
    return p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)

