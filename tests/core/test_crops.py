"""Tests for emotion_core/core/crops.py and core/geometry.py: square boxes and grey face crops, at the frame edge too."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from emotion_core.core.crops import FacePreprocessing, eye_angles, grey_face_crops, normalised
from emotion_core.core.geometry import square_boxes
from emotion_core.core.types import Faces


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


# -- alignment and grey-level normalisation ------------------------------------------------------


def tilted_face(angle_deg: float) -> tuple[np.ndarray, Faces]:
    """A 200×200 frame with two dark 'eyes' on a line tilted by ``angle_deg`` about (100, 100),
    and the Faces that MTCNN would give for it (eyes as landmarks 0 and 1)."""
    image = np.full((200, 200), 200, np.uint8)
    angle = np.deg2rad(angle_deg)
    offset = 30 * np.array([np.cos(angle), np.sin(angle)])
    eyes = np.array([[100, 90] - offset, [100, 90] + offset], np.float32)
    for x, y in eyes:
        cv2.circle(image, (round(x), round(y)), 6, 0, -1)
    landmarks = np.zeros((1, 5, 2), np.float32)
    landmarks[0, :2] = eyes
    faces = Faces(0, 0.0, np.array([[40, 40, 160, 160]], np.float32), np.ones(1, np.float32), landmarks)
    return image, faces


@pytest.mark.parametrize("angle", [-20.0, 0.0, 15.0])
def test_alignment_levels_the_eyes(angle: float) -> None:
    image, faces = tilted_face(angle)
    np.testing.assert_allclose(eye_angles(faces), [np.deg2rad(angle)], atol=1e-5)
    crop = grey_face_crops(image, faces, size=60, margin=0.0, align=True)[0]
    ys, xs = np.nonzero(crop < 100)
    left, right = xs < 30, xs >= 30
    # both eyes' centres are on one row once aligned, each half its own eye
    assert abs(ys[left].mean() - ys[right].mean()) < 1.0
    unaligned = grey_face_crops(image, faces, size=60, margin=0.0)[0]
    ys, xs = np.nonzero(unaligned < 100)
    tilt = ys[xs >= 30].mean() - ys[xs < 30].mean()
    assert tilt == pytest.approx(30 * np.sin(np.deg2rad(angle)), abs=1.5)


def test_faces_without_landmarks_or_with_implausible_ones_are_not_turned() -> None:
    _, faces = tilted_face(0.0)
    no_landmarks = replace(faces, landmarks=np.zeros((1, 5, 2), np.float32))
    assert eye_angles(no_landmarks).tolist() == [0.0]
    upside_down = replace(faces, landmarks=faces.landmarks[:, [1, 0, 2, 3, 4]])
    assert eye_angles(upside_down).tolist() == [0.0]


def test_large_faces_are_area_averaged_not_aliased() -> None:
    # a fine checkerboard shrunk 8 times must come out mid-grey, not as a moiré of black and white
    board = (np.indices((512, 512)).sum(axis=0) % 2 * 255).astype(np.uint8)
    faces = faces_with_boxes((0, 0, 512, 512))
    crop = grey_face_crops(board, faces, size=64, margin=0.0)[0].astype(int)
    assert np.abs(crop[4:-4, 4:-4] - 127).max() <= 3


def test_normalisation_spreads_a_dull_crop() -> None:
    dull = np.tile(np.linspace(100, 140, 32).astype(np.uint8), (2, 32, 1))
    assert normalised(dull, "none") is dull
    for how in ("equalise", "clahe"):
        out = normalised(dull, how)
        assert out.shape == dull.shape and out.dtype == np.uint8
        assert np.ptp(out) > np.ptp(dull)


def test_preprocessing_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="normalise"):
        FacePreprocessing(normalise="sharpen")
    with pytest.raises(ValueError, match="margin"):
        FacePreprocessing(margin=2.0)
    assert "flip=True" in FacePreprocessing(flip=True).describe()
