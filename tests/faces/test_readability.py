"""Tests for emotion_core/faces/readability.py: real faces from JAFFE through the app's default
detector, shrunk and blurred; head pose from the five landmarks of a generic face turned."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Faces, Frame
from emotion_core.faces.detector import FaceDetector
from emotion_core.faces.readability import (
    FRONTAL_FACES,
    MOUTH_DEPTH,
    NOSE_DEPTH,
    FrontalFace,
    ReadabilityError,
    ReadabilitySettings,
    frontal_face,
    head_pose,
    readability,
)

DEFAULTS = ReadabilitySettings()
MTCNN = FRONTAL_FACES["mtcnn"]  # the landmarks the generic face below is given


def jaffe_photos(folder: Path, every: int = 1) -> list[np.ndarray]:
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))[::every]
    return [np.asarray(Image.open(folder / r["path"]).convert("RGB")) for r in rows]


def largest_face(detector: FaceDetector, image: np.ndarray) -> Faces:
    (faces,) = detector.detect([Frame(0, 0.0, image)])
    assert len(faces), "the detector finds the face of a JAFFE photo"
    return faces.select([int(np.argmax(faces.widths))])


@pytest.fixture(scope="module")
def frontal(jaffe_dir: Path, detector: FaceDetector) -> tuple[np.ndarray, Faces]:
    """A neutral JAFFE photo (256 px, the face about 180 px high) and its detected face."""
    image = jaffe_photos(jaffe_dir)[12]
    return image, largest_face(detector, image)


@pytest.fixture(scope="module")
def seen_as(detector: FaceDetector) -> FrontalFace:
    """Where the detector of the tests puts its landmarks on a frontal face."""
    return frontal_face(detector.name)


def shrunk(image: np.ndarray, faces: Faces, face_px: float) -> tuple[np.ndarray, Faces]:
    """The photo scaled so that the face is ``face_px`` high, its box and landmarks with it."""
    scale = face_px / float(faces.boxes[0, 3] - faces.boxes[0, 1])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return small, replace(faces, boxes=faces.boxes * scale, landmarks=faces.landmarks * scale)


# -- size and sharpness on a real face ------------------------------------------------------------


@pytest.mark.real_data
def test_a_large_frontal_face_is_readable(frontal: tuple[np.ndarray, Faces],
                                          seen_as: FrontalFace) -> None:
    image, faces = frontal
    measured = readability(image, faces, DEFAULTS, seen_as)
    assert measured.readable.tolist() == [True] and measured.reasons == (None,)
    assert measured.face_height_px[0] > 150
    assert abs(measured.yaw_deg[0]) < 15 and abs(measured.pitch_deg[0]) < 15
    assert measured.sharpness[0] > DEFAULTS.min_sharpness


@pytest.mark.real_data
def test_the_same_face_shrunk_to_12_px_is_not(frontal: tuple[np.ndarray, Faces],
                                              seen_as: FrontalFace) -> None:
    image, faces = shrunk(*frontal, face_px=12)
    measured = readability(image, faces, DEFAULTS, seen_as)
    assert measured.face_height_px[0] == pytest.approx(12, abs=0.01)
    assert measured.readable.tolist() == [False] and measured.reasons == ("too small",)
    # the pose is still measured: it does not depend on the face's size
    big = readability(*frontal, DEFAULTS, seen_as)
    assert measured.yaw_deg[0] == pytest.approx(big.yaw_deg[0], abs=0.5)
    assert measured.pitch_deg[0] == pytest.approx(big.pitch_deg[0], abs=0.5)
    # at the threshold it is read again
    again = readability(*shrunk(*frontal, face_px=24), DEFAULTS, seen_as)
    assert again.readable.tolist() == [True]


@pytest.mark.real_data
def test_a_blurred_face_is_not_read(frontal: tuple[np.ndarray, Faces],
                                    seen_as: FrontalFace) -> None:
    image, faces = frontal
    # blurred as much as the face would be at 20 px, and more
    blurred = cv2.GaussianBlur(image, (0, 0), 6.0)
    measured = readability(blurred, faces, DEFAULTS, seen_as)
    assert measured.reasons == ("blurred",)
    assert measured.sharpness[0] < readability(image, faces, DEFAULTS, seen_as).sharpness[0] / 4
    anyway = readability(blurred, faces, replace(DEFAULTS, min_sharpness=0.0), seen_as)
    assert anyway.readable.all()


@pytest.mark.real_data
def test_nearly_every_frontal_photo_of_jaffe_is_readable(
    jaffe_dir: Path, detector: FaceDetector, seen_as: FrontalFace
) -> None:
    photos = jaffe_photos(jaffe_dir, every=3)
    frames = [Frame(i, 0.0, image) for i, image in enumerate(photos)]
    found = [(f, faces.select([int(np.argmax(faces.widths))]))
             for f, faces in zip(frames, detector.detect(frames)) if len(faces)]
    readable = [readability(f.image, faces, DEFAULTS, seen_as).readable[0]
                for f, faces in found]
    assert len(found) >= len(photos) - 1
    assert np.mean(readable) >= 0.97, f"{sum(readable)} of {len(readable)} read"


# -- head pose from the landmarks ----------------------------------------------------------------


def posed_landmarks(yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0,
                    eye_px: float = 40.0, at: tuple[float, float] = (100.0, 80.0)) -> np.ndarray:
    """The five landmarks (1, 5, 2) of the generic face model turned by yaw and pitch (looking
    down positive) and rolled in the image, seen from afar (orthographic)."""
    model = np.array([
        [-0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, MTCNN.nose_drop, NOSE_DEPTH],
        [-0.4, MTCNN.mouth_drop, MOUTH_DEPTH], [0.4, MTCNN.mouth_drop, MOUTH_DEPTH],
    ])
    yaw, pitch, roll = np.radians([yaw_deg, pitch_deg, roll_deg])
    turn = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    # the chin goes back and the nose tip down: z (towards the camera) feeds +y when looking down
    nod = np.array([[1, 0, 0], [0, np.cos(pitch), np.sin(pitch)],
                    [0, -np.sin(pitch), np.cos(pitch)]])
    points = (model @ nod.T @ turn.T)[:, :2]
    tilt = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    return (points @ tilt.T * eye_px + np.array(at))[None].astype(np.float32)


@pytest.mark.parametrize("yaw, pitch", [(0, 0), (30, 0), (-35, 0), (25, -20), (0, 20), (0, 45),
                                        (0, -30), (-60, 10)])
def test_pose_is_read_back_from_the_landmarks(yaw: float, pitch: float) -> None:
    for roll in (0.0, 15.0, -25.0):
        for eye_px in (4.0, 40.0):
            got_yaw, got_pitch = head_pose(posed_landmarks(yaw, pitch, roll, eye_px))
            assert got_pitch[0] == pytest.approx(pitch, abs=0.5)
            assert got_yaw[0] == pytest.approx(yaw, abs=0.5)


def test_the_eyes_in_the_other_order_or_a_face_upside_down_read_the_same_pitch() -> None:
    landmarks = posed_landmarks(25, 20)
    swapped = landmarks[:, [1, 0, 2, 4, 3]]
    upside_down = posed_landmarks(25, 20, roll_deg=180)
    for other in (swapped, upside_down):
        yaw, pitch = head_pose(other)
        assert pitch[0] == pytest.approx(20, abs=0.5)
        assert abs(yaw[0]) == pytest.approx(25, abs=0.5)


def test_a_face_looking_down_reads_as_turned_less_than_it_is_never_more() -> None:
    for pitch in (25, 40, 60):
        got_yaw, got_pitch = head_pose(posed_landmarks(20, pitch))
        assert got_pitch[0] == pytest.approx(pitch, abs=0.5)
        assert abs(got_yaw[0]) <= 20 + 1e-3


def face_with(landmarks: np.ndarray, height: float = 60.0) -> Faces:
    centre = landmarks[0].mean(axis=0)
    box = np.array([[centre[0] - height / 2, centre[1] - height / 2,
                     centre[0] + height / 2, centre[1] + height / 2]], np.float32)
    return Faces(0, 0.0, boxes=box, scores=np.array([0.99], np.float32), landmarks=landmarks)


@pytest.mark.real_data
def test_a_face_looking_down_at_the_desk_is_flagged(frontal: tuple[np.ndarray, Faces]) -> None:
    image = frontal[0]  # the texture of a real face, so only the pose can stop it
    down = face_with(posed_landmarks(0, 50, eye_px=60, at=(128, 110)))
    assert readability(image, down, DEFAULTS).reasons == ("looking down",)
    turned = face_with(posed_landmarks(60, 5, eye_px=60, at=(128, 110)))
    assert readability(image, turned, DEFAULTS).reasons == ("turned away",)
    up = face_with(posed_landmarks(0, -55, eye_px=60, at=(128, 110)))
    assert readability(image, up, DEFAULTS).reasons == ("looking up",)
    upright = face_with(posed_landmarks(10, 10, eye_px=60, at=(128, 110)))
    assert readability(image, upright, DEFAULTS).readable.all()


def test_unknown_landmarks_leave_the_pose_unknown_and_stop_no_face() -> None:
    yaw, pitch = head_pose(np.zeros((2, 5, 2), np.float32))
    assert np.isnan(yaw).all() and np.isnan(pitch).all()
    image = np.random.default_rng(0).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    faces = face_with(np.zeros((1, 5, 2), np.float32))
    assert readability(image, faces, DEFAULTS).readable.all()


def test_no_face_no_readability() -> None:
    measured = readability(np.zeros((10, 10, 3), np.uint8), Faces(0, 0.0), DEFAULTS)
    assert len(measured) == 0 and measured.reasons == ()


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"min_face_px": -1}, {"max_yaw_deg": 0},
                                     {"max_pitch_deg": 91}, {"min_sharpness": 2},
                                     {"min_detection_score": -0.1}])
def test_bad_thresholds_are_refused_with_a_clear_error(changes: dict[str, float]) -> None:
    with pytest.raises(ReadabilityError) as raised:
        ReadabilitySettings(**changes)
    assert isinstance(raised.value, ClassroomMoodError) and isinstance(raised.value, ValueError)
    assert str(next(iter(changes.values()))) in str(raised.value)


def test_settings_are_kept_as_json_and_said_in_words() -> None:
    chosen = ReadabilitySettings(min_face_px=24, max_pitch_deg=25)
    assert ReadabilitySettings.from_json(chosen.as_json()) == chosen
    assert ReadabilitySettings.from_json(None) == DEFAULTS
    assert DEFAULTS.describe_unread() == (
        "faces under 16 px, turned more than 40°, looking down more than 30° or blurred are "
        "not read"
    )


def test_each_detector_s_frontal_face_reads_level() -> None:
    for name, frontal in FRONTAL_FACES.items():
        level = np.array([[[40, 50], [80, 50], [60, 50 + 40 * frontal.nose_drop],
                           [44, 50 + 40 * frontal.mouth_drop], [76, 50 + 40 * frontal.mouth_drop]]],
                         np.float32)
        yaw, pitch = head_pose(level, frontal)
        assert (yaw[0], pitch[0]) == (pytest.approx(0, abs=1e-4), pytest.approx(0, abs=1e-4)), name
    assert frontal_face("a detector not measured") == FRONTAL_FACES["mtcnn"]
