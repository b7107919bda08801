"""Made-up tracks and a counting embedder for the identity tests: vectors near a direction,
tracked faces of a frame, and an embedder that reads a chip's mean colour."""

from __future__ import annotations

import numpy as np

from emotion_core.core.types import Faces
from emotion_core.identity.embedders import unit_rows
from emotion_core.identity.thresholds import IdentityThresholds

THRESHOLD = 0.1
# one distance for joining and matching, and no face too small: most identity tests are about
# joining and matching (the size limit has tests of its own)
THRESHOLDS = IdentityThresholds(
    within_lesson=THRESHOLD, across_lessons=THRESHOLD, suggest_merge=0.2, min_face_px=0.0
)


def direction(seed: int, dimension: int = 16) -> np.ndarray:
    return unit_rows(np.random.default_rng(seed).normal(size=(1, dimension)))[0]


def near(vector: np.ndarray, seed: int, spread: float = 0.05) -> np.ndarray:
    """A vector close to ``vector`` (cosine distance about spread² / 2)."""
    noise = np.random.default_rng(1000 + seed).normal(size=vector.shape)
    return unit_rows((vector + spread * noise / np.linalg.norm(noise))[None])[0]


class CountingEmbedder:
    """Embeds a chip as its mean colour (3-d): enough to tell chips apart; counts its work."""

    name = "colour"
    description = "mean colour (tests)"
    dimension = 3
    chip_size = 4
    thresholds = THRESHOLDS

    def __init__(self) -> None:
        self.chips_cut = 0
        self.embedded: list[int] = []

    def chips(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        self.chips_cut += len(faces)
        out = np.empty((len(faces), 4, 4, 3), np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(faces.boxes.astype(int)):
            out[i] = image[y1:y2, x1:x2].mean(axis=(0, 1)).astype(np.uint8)
        return out

    def embed(self, chips: np.ndarray) -> np.ndarray:
        self.embedded.append(len(chips))
        return unit_rows(chips.reshape(len(chips), -1, 3).mean(axis=1) + 1.0)


def faces_at(time_s: float, boxes: list[tuple[int, int, int, int]], ids: list[int],
             widths_score: float = 1.0) -> Faces:
    n = len(boxes)
    b = np.array(boxes, np.float32).reshape(n, 4)
    landmarks = np.zeros((n, 5, 2), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(b):  # a frontal face: nose between the eyes
        w = x2 - x1
        landmarks[i] = [[x1 + .3 * w, y1 + .4 * w], [x1 + .7 * w, y1 + .4 * w],
                        [x1 + .5 * w, y1 + .6 * w], [x1 + .35 * w, y1 + .8 * w],
                        [x1 + .65 * w, y1 + .8 * w]]
    return Faces(int(time_s * 10), time_s, b, np.full(n, widths_score, np.float32), landmarks,
                 track_ids=np.array(ids, np.int64))
