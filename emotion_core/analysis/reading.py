"""Reading the expressions of the faces that can be read, and only those."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emotion_core.core.crops import FacePreprocessing
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces
from emotion_core.emotion.model import DEFAULT_PREPROCESSING, EmotionModel, classify_faces
from emotion_core.faces.readability import (
    FRONTAL_FACES,
    FrontalFace,
    Readability,
    ReadabilitySettings,
    readability,
)


@dataclass(frozen=True)
class ReadFaces:
    """One frame's faces with their readability; ``faces.emotions`` holds a reading for each
    readable face and NaN rows for the others."""

    faces: Faces
    readability: Readability

    def __post_init__(self) -> None:
        if len(self.readability) != len(self.faces):
            raise ValueError(
                f"{len(self.readability)} readabilities for {len(self.faces)} faces")
        if self.faces.emotions is None:
            raise ValueError("ReadFaces needs faces with emotions (NaN where not read)")

    def __len__(self) -> int:
        return len(self.faces)

    @property
    def readable(self) -> int:
        return int(self.readability.readable.sum())


def read_expressions(
    model: EmotionModel,
    images: Sequence[np.ndarray],
    faces: Sequence[Faces],
    settings: ReadabilitySettings,
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
    frontal: FrontalFace = FRONTAL_FACES["mtcnn"],
) -> list[ReadFaces]:
    """The readability of every face of several full-resolution frames (``images``), and the
    expressions of the readable ones, read by ``model`` in one call as ``classify_faces``
    reads them. The others are not shown to the model at all. ``frontal``: where the detector
    that found the faces puts its landmarks on a frontal face."""
    measured = [readability(image, f, settings, frontal) for image, f in zip(images, faces)]
    readable = [f.select(r.readable) for f, r in zip(faces, measured)]
    classified = classify_faces(model, images, readable, preprocessing)
    read = []
    for f, r, done in zip(faces, measured, classified):
        emotions = np.full((len(f), len(EMOTIONS)), np.nan, np.float32)
        emotions[r.readable] = done.emotions
        read.append(ReadFaces(f.with_emotions(emotions), r))
    return read
