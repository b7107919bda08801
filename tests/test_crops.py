"""Tests for emotion_core/crops.py: square boxes and grey face crops, at the frame edge too."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.crops import grey_face_crops, square_boxes
from emotion_core.types import Faces


def faces_with_boxes(*boxes: tuple[float, float, float, float]) -> Faces:
    n = len(boxes)
    return Faces(
        frame_index=0,
        time_s=0.0,
        boxes=np.array(boxes, dtype=np.float32).reshape(n, 4),
        scores=np.ones(n, np.float32),
        landmarks=np.zeros((n, 5, 2), np.float32),
    )


def test_square_boxes_are_centred_and_enlarged_by_the_margin() -> None:
    squares = square_boxes(np.array([[10, 20, 30, 60]]), margin=0.25)
    # longer side 40, plus 25 % on each side = 60, centred on (20, 40)
    np.testing.assert_allclose(squares, [[-10, 10, 50, 70]])


def test_square_boxes_of_nothing() -> None:
    assert square_boxes(np.zeros((0, 4)), margin=0.1).shape == (0, 4)


def test_crop_shows_what_is_inside_the_box() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[20:60, 120:160] = 255  # a white square "face"
    crops = grey_face_crops(image, faces_with_boxes((120, 20, 160, 60)), size=32, margin=0.0)
    assert crops.shape == (1, 32, 32) and crops.dtype == np.uint8
    assert crops[0, 2:-2, 2:-2].min() == 255, "the face fills the crop"


def test_crop_of_a_face_at_the_edge_keeps_its_position() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :10] = 200  # a bright face cut by the left edge of the frame
    crops = grey_face_crops(image, faces_with_boxes((-10, 40, 10, 60)), size=20, margin=0.0)
    crop = crops[0].astype(int)
    # the right half of the crop is inside the frame and bright; the left half lies outside
    # the frame and repeats the edge column, which is bright too: not stretched, not shifted
    assert crop[:, 10:].mean() == pytest.approx(200, abs=2)
    assert crop[:, :10].mean() == pytest.approx(200, abs=2)
    dark = grey_face_crops(image, faces_with_boxes((10, 40, 30, 60)), size=20, margin=0.0)
    assert dark[0].mean() < 20, "a box just right of the bright strip sees none of it"


def test_crops_follow_the_order_of_faces_and_handle_grey_input() -> None:
    grey = np.zeros((50, 50), np.uint8)
    grey[:, 25:] = 255
    crops = grey_face_crops(grey, faces_with_boxes((0, 0, 20, 20), (30, 0, 50, 20)), 16, 0.0)
    assert crops.shape == (2, 16, 16)
    assert crops[0].max() == 0 and crops[1].min() == 255
    assert grey_face_crops(grey, faces_with_boxes(), 16, 0.1).shape == (0, 16, 16)
