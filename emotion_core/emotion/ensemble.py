"""Several emotion models read every face, their probabilities averaged."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.model import EmotionModel, normalised_rows


class EmotionEnsemble:
    """Several emotion models read every face; their probabilities are averaged (weighted).

    ``classify_faces`` cuts each member's crops at the member's own size and margin. ``predict``
    (for callers that already hold crops) resizes the same crops to each member's size instead.
    """

    def __init__(self, members: Sequence[EmotionModel], weights: Sequence[float] | None = None) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one model")
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members) or min(weights) <= 0:
            raise ValueError("one positive weight per member")
        self.members = tuple(zip(members, weights))
        self.name = "+".join(m.name for m in members)
        self.description = "average of " + "; ".join(m.description for m in members)
        self.input_size = max(m.input_size for m in members)
        self.crop_margin = members[0].crop_margin

    def predict(self, crops: np.ndarray) -> np.ndarray:
        total = np.zeros((len(crops), len(EMOTIONS)), np.float64)
        for member, weight in self.members:
            size = member.input_size
            resized = crops if crops.shape[1:] == (size, size) else np.stack(
                [cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops]
            ).reshape(len(crops), size, size)
            total += weight * member.predict(resized)
        return normalised_rows(total / sum(w for _, w in self.members))
