"""Every face detector the command line offers (faces/choice.py), on real frames and photos:
it finds the faces, with five landmarks in the order alignment and readability read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.env import SHARED_DATA

from benchmarks.detection import match_frame
from benchmarks.detection_real import read_truth
from emotion_core.core.geometry import iou_matrix
from emotion_core.core.types import Faces, Frame
from emotion_core.evaluation.photos import load_rgb
from emotion_core.faces.choice import (
    DEFAULT_DETECTOR,
    DETECTORS,
    UnknownDetector,
    build_detector,
    detector_settings,
)
from emotion_core.faces.detector import FaceDetector
from emotion_core.faces.yunet import DetectorUnavailable, YuNetDetector, YuNetSettings
from emotion_core.video.source import VideoSource

WIDER = SHARED_DATA / "faces" / "wider_dev"
# a WIDER group photo of eleven people, every face boxed, 32-42 px high
GROUP_PHOTO = "12--Group/12_Group_Group_12_Group_Group_12_417.jpg"


@pytest.fixture(scope="module", params=list(DETECTORS))
def any_detector(request: pytest.FixtureRequest, deepface_home: Path) -> FaceDetector:
    from emotion_core.analysis.models import configure_environment, load_detector

    configure_environment()
    return load_detector(detector_settings(request.param))


@pytest.fixture(scope="module")
def classroom_frame(intel_classroom: Path) -> Frame:
    """The first frame of the four-adults clip: four frontal faces, 480x270."""
    return next(VideoSource(intel_classroom).frames(1.0))


def assert_landmarks_on_the_faces(faces: Faces) -> None:
    for box, points in zip(faces.boxes, faces.landmarks):
        left_eye, right_eye, nose, mouth_left, mouth_right = points
        assert ((points >= box[:2] - 2) & (points <= box[2:] + 2)).all(), "all five on the face"
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.mark.real_data
def test_every_detector_finds_the_four_adults(any_detector: FaceDetector,
                                              classroom_frame: Frame) -> None:
    [faces] = any_detector.detect([classroom_frame])
    assert len(faces) == 4, any_detector.description
    assert (faces.frame_index, faces.time_s) == (classroom_frame.index, classroom_frame.time_s)
    assert ((faces.scores > 0) & (faces.scores <= 1)).all()
    overlap = iou_matrix(faces.boxes, faces.boxes)
    assert (overlap[~np.eye(4, dtype=bool)] == 0).all(), "four people, four boxes"
    assert_landmarks_on_the_faces(faces)


@pytest.mark.real_data
def test_every_detector_finds_the_faces_of_a_real_group_photo(any_detector: FaceDetector) -> None:
    if not (WIDER / "images" / GROUP_PHOTO).is_file():
        pytest.skip(f"wider_dev not found at {WIDER} (the shared test data is not on this machine)")
    image = load_rgb(WIDER / "images" / GROUP_PHOTO)
    [photo] = [p for p in read_truth(WIDER) if p.image == GROUP_PHOTO]
    assert image is not None and len(photo.boxes) == 11
    [faces] = any_detector.detect([Frame(0, 0.0, image)])
    match = match_frame(photo.boxes, faces.boxes, 0.5)
    assert (match.truth_matched >= 0).all(), f"every face found: {any_detector.description}"
    assert (match.detection_matched >= 0).all(), "and nothing else"
    assert_landmarks_on_the_faces(faces)


@pytest.mark.real_data
def test_a_batch_gives_one_result_per_frame_in_order(any_detector: FaceDetector,
                                                     classroom_frame: Frame) -> None:
    blank = Frame(7, 3.5, np.full_like(classroom_frame.image, 90))
    mirrored = Frame(8, 4.0, np.ascontiguousarray(classroom_frame.image[:, ::-1]))
    original, empty, flipped = any_detector.detect([classroom_frame, blank, mirrored])
    assert [f.frame_index for f in (original, empty, flipped)] == [classroom_frame.index, 7, 8]
    assert len(empty) == 0 and empty.landmarks.shape == (0, 5, 2)
    width = classroom_frame.image.shape[1]
    mirrored_back = flipped.boxes[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [width, 0, width, 0]
    assert len(flipped) == 4
    assert iou_matrix(original.boxes, mirrored_back).max(axis=1).min() > 0.6
    assert any_detector.detect([]) == []


@pytest.mark.real_data
def test_yunet_with_one_look_finds_what_the_vote_keeps(classroom_frame: Frame) -> None:
    """The vote adds looks; a single look at the frame as it is finds the same four faces."""
    one_look = YuNetDetector(YuNetSettings(small_face_upscale=1.0, mirror=False, min_score=0.6))
    [faces] = one_look.detect([classroom_frame])
    assert len(faces) == 4
    assert_landmarks_on_the_faces(faces)


def test_the_default_is_mtcnn_and_yunet_is_offered() -> None:
    assert DEFAULT_DETECTOR == "mtcnn" and "yunet" in DETECTORS
    assert detector_settings().describe().startswith("mtcnn(")
    assert detector_settings("mtcnn").describe().startswith("mtcnn(")


def test_an_unknown_detector_is_named_with_the_choices() -> None:
    with pytest.raises(UnknownDetector, match="unknown face detector 'retina'; choose one of "
                                              "mtcnn, yunet"):
        detector_settings("retina")
    with pytest.raises(UnknownDetector):
        build_detector(object())  # type: ignore[arg-type]


def test_missing_or_unreadable_weights_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailable, match="YuNet's weights are missing"):
        YuNetDetector(weights=tmp_path / "nowhere.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"<html>not a model</html>")
    with pytest.raises(DetectorUnavailable, match="could not be read"):
        YuNetDetector(weights=broken)


def test_the_enlarged_look_is_bounded_on_large_frames() -> None:
    settings = YuNetSettings(small_face_upscale=2.0, max_upscaled_pixels=3_000_000)
    assert settings.scales(640, 352) == [1.0, 2.0]  # the CCTV clip
    [_, upscale] = settings.scales(1600, 900)  # the 20-face room: 1.44x
    assert 1600 * 900 * upscale**2 == pytest.approx(3_000_000)
    assert settings.scales(1920, 1600) == [1.0]  # already as large: one look
    assert YuNetSettings(small_face_upscale=1.0).scales(320, 240) == [1.0]


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="candidate_score"):
        YuNetSettings(min_score=0.1, candidate_score=0.2)
    with pytest.raises(ValueError, match="small_face_upscale"):
        YuNetSettings(small_face_upscale=0.5)
