"""Tests for emotion_core/faces/mtcnn.py: MTCNN on real frames, batches, settings, no faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion_core.core.geometry import iou_matrix
from emotion_core.core.types import Faces, Frame
from emotion_core.faces.mtcnn import MTCNNDetector, MTCNNSettings, _mtcnn_rows
from emotion_core.video.source import VideoSource

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def classroom_frame(intel_classroom: Path) -> Frame:
    """The first frame of the four-adults clip: four frontal faces, 480x270."""
    return next(VideoSource(intel_classroom).frames(1.0))


def assert_faces_inside(faces: Faces, frame: Frame) -> None:
    height, width = frame.image.shape[:2]
    boxes = faces.boxes
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= height).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_finds_the_four_adults(detector: MTCNNDetector, classroom_frame: Frame) -> None:
    [faces] = detector.detect([classroom_frame])
    assert len(faces) == 4
    assert (faces.frame_index, faces.time_s) == (classroom_frame.index, classroom_frame.time_s)
    assert_faces_inside(faces, classroom_frame)
    assert (faces.scores >= detector.settings.min_score).all() and (faces.scores <= 1).all()
    # four different people: the boxes do not overlap
    overlap = iou_matrix(faces.boxes, faces.boxes)
    assert (overlap[~np.eye(4, dtype=bool)] == 0).all()


def test_landmarks_are_points_on_the_face(detector: MTCNNDetector, classroom_frame: Frame) -> None:
    [faces] = detector.detect([classroom_frame])
    assert len(faces) == 4
    for box, points in zip(faces.boxes, faces.landmarks):
        left_eye, right_eye, nose, mouth_left, mouth_right = points
        assert ((points >= box[:2]) & (points <= box[2:])).all(), "all five inside the box"
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_a_batch_gives_one_result_per_frame_in_order(
    detector: MTCNNDetector, classroom_frame: Frame
) -> None:
    blank = Frame(7, 3.5, np.full_like(classroom_frame.image, 90))
    mirrored = Frame(8, 4.0, np.ascontiguousarray(classroom_frame.image[:, ::-1]))
    original, empty, flipped = detector.detect([classroom_frame, blank, mirrored])
    assert [f.frame_index for f in (original, empty, flipped)] == [classroom_frame.index, 7, 8]
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.landmarks.shape == (0, 5, 2)
    assert len(flipped) == len(original) == 4
    width = classroom_frame.image.shape[1]
    mirrored_back = flipped.boxes[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [width, 0, width, 0]
    assert iou_matrix(original.boxes, mirrored_back).max(axis=1).min() > 0.6


def test_no_frames_no_work(detector: MTCNNDetector) -> None:
    assert detector.detect([]) == []


def test_upscaled_detection_maps_boxes_back(
    detector: MTCNNDetector, classroom_frame: Frame
) -> None:
    upscaled = MTCNNDetector(MTCNNSettings(upscale=2.0))
    [big] = upscaled.detect([classroom_frame])
    [plain] = detector.detect([classroom_frame])
    assert len(big) >= len(plain)
    assert_faces_inside(big, classroom_frame)
    assert iou_matrix(plain.boxes, big.boxes).max(axis=1).min() > 0.6, "same faces, same place"


def test_min_score_drops_weak_detections(classroom_frame: Frame) -> None:
    strict = MTCNNDetector(MTCNNSettings(min_score=1.01))
    [faces] = strict.detect([classroom_frame])
    assert len(faces) == 0


def test_description_names_every_setting() -> None:
    text = MTCNNSettings(upscale=1.5).describe()
    assert text.startswith("mtcnn(") and "upscale=1.5" in text and "min_face_size=20" in text


def test_our_driver_finds_what_mtcnn_as_shipped_finds(
    detector: MTCNNDetector, classroom_frame: Frame
) -> None:
    """``_mtcnn_rows`` hands mtcnn's stages the batch as one tensor and our networks run on
    onnxruntime; mtcnn as shipped gets NumPy and runs them on TensorFlow. Same boxes, scores
    and landmarks; and mtcnn itself is left as it was."""
    from mtcnn import MTCNN
    from mtcnn.network.pnet import PNet

    shipped = MTCNN()
    assert isinstance(shipped.stages[0]._model, PNet), "other users of mtcnn are not changed"
    image = classroom_frame.image
    mirrored = np.ascontiguousarray(image[:, ::-1])
    ours = _mtcnn_rows(detector._mtcnn, [image, mirrored])
    theirs = shipped.detect_faces([image.astype(np.float32), mirrored.astype(np.float32)],
                                  output_type="numpy", box_format="xyxy")
    assert len(ours) == 8 and ours.dtype == np.float32
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-3)


def test_images_of_different_sizes_keep_their_own_boxes(
    detector: MTCNNDetector, classroom_frame: Frame
) -> None:
    """A smaller image is padded to the batch's size; each box is moved back by its own image's
    padding, so a faceless image before it does not shift the next image's faces (mtcnn 1.0
    pairs paddings with the images that have boxes)."""
    blank = np.full((150, 200, 3), 90, np.uint8)
    [alone] = detector.detect([classroom_frame])
    small = Frame(0, 0.0, blank)
    none, together = detector.detect([small, classroom_frame])
    assert len(none) == 0 and len(together) == 4
    np.testing.assert_allclose(together.boxes, alone.boxes, atol=1e-3)
    # and a face in the padded image comes back in its own pixels
    face_crop = np.ascontiguousarray(classroom_frame.image[:, :240])
    [half] = detector.detect([Frame(0, 0.0, face_crop)])
    padded, _ = detector.detect([Frame(0, 0.0, face_crop), classroom_frame])
    assert len(half) >= 1 and len(padded) == len(half)
    assert iou_matrix(half.boxes, padded.boxes).max(axis=1).min() > 0.9


@pytest.mark.real_data
def test_mtcnn_on_onnxruntime_finds_the_small_faces_tensorflow_finds(
    detector: MTCNNDetector, cctv_classroom: Path
) -> None:
    """The CCTV classroom's children are 10-40 px, near PNet's threshold, where a rounding
    difference would show first: the same faces, to a thousandth of a pixel, as mtcnn with its
    own TensorFlow networks at our settings."""
    from mtcnn import MTCNN

    from emotion_core.faces.mtcnn_onnx import NetworkOnOnnx

    networks = [stage._model for stage in detector._mtcnn.stages]
    assert [n.network for n in networks if isinstance(n, NetworkOnOnnx)] == ["PNet", "RNet", "ONet"]
    frames = list(VideoSource(cctv_classroom).frames(2.0))[:8]
    s = detector.settings
    knobs = {"min_face_size": s.min_face_size, "scale_factor": s.scale_factor,
             "threshold_pnet": s.threshold_pnet, "threshold_rnet": s.threshold_rnet,
             "threshold_onet": s.threshold_onet}
    ours = _mtcnn_rows(detector._mtcnn, [f.image for f in frames], **knobs)
    theirs = np.asarray(MTCNN().detect_faces([f.image.astype(np.float32) for f in frames],
                                             output_type="numpy", box_format="xyxy", **knobs))
    assert len(ours) >= 20, "about 4 children a frame"
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)
