"""Tests for emotion_core/analysis/annotate.py: faces drawn as stored, those not read in grey."""

from __future__ import annotations

import numpy as np
from skimage import data as skimage_data

from emotion_core.analysis.annotate import EMOTION_COLOURS, STRIP_PX, UNREAD_COLOUR, draw
from emotion_core.core.labels import EMOTIONS


def test_a_face_not_read_is_drawn_in_grey_and_a_read_one_in_its_colour() -> None:
    image = skimage_data.astronaut()  # 512 × 512 RGB
    boxes = np.array([[100, 300, 160, 360], [300, 300, 360, 360]], float)
    happy = np.eye(len(EMOTIONS))[EMOTIONS.index("happy")]
    probabilities = np.stack([happy, np.full(len(EMOTIONS), np.nan)])
    drawn = draw(image, boxes, probabilities, ["Ada", "track 2"], "a caption")
    assert drawn.shape == (512 + STRIP_PX, 512, 3)
    # the left edge of each box, half-way down: below the label, inside the frame
    assert tuple(drawn[330, 100]) == EMOTION_COLOURS[EMOTIONS.index("happy")]
    assert tuple(drawn[330, 300]) == UNREAD_COLOUR
