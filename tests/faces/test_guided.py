"""Tests for emotion_core/faces/guided.py with a scripted detector: where known faces are looked
for again between whole-frame searches, and how the faces found there join a frame's own."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from emotion_core.core.geometry import iou_matrix
from emotion_core.core.types import Faces, Frame
from emotion_core.faces.guided import (
    REGION_CONTEXT,
    RecentFaces,
    detect_guided,
    region_crop_size,
)

FACE = np.array([[100, 60, 140, 100]], np.float32)  # 40 px square
CROP = 80


def face_at(frame: Frame, boxes: np.ndarray, score: float = 0.99) -> Faces:
    n = len(boxes)
    return Faces(frame.index, frame.time_s, boxes.astype(np.float32),
                 np.full(n, score, np.float32), np.zeros((n, 5, 2), np.float32))


class ScriptedDetector:
    """Finds FACE in a whole frame and a face filling the middle of every region it is given."""

    name = description = "scripted"

    def __init__(self) -> None:
        self.calls: list[list[tuple[int, ...]]] = []

    def detect(self, frames: Sequence[Frame]) -> list[Faces]:
        self.calls.append([f.image.shape for f in frames])
        found = []
        for frame in frames:
            if frame.image.shape[:2] == (CROP, CROP):
                half = CROP / REGION_CONTEXT / 2
                box = np.array([[CROP / 2 - half, CROP / 2 - half, CROP / 2 + half,
                                 CROP / 2 + half]], np.float32)
                found.append(face_at(frame, box, 0.9))
            else:
                found.append(face_at(frame, FACE))
        return found


def frames(n: int) -> list[Frame]:
    return [Frame(i, i * 0.5, np.zeros((200, 300, 3), np.uint8)) for i in range(n)]


def test_recent_faces_are_listed_latest_first_and_forgotten() -> None:
    recent = RecentFaces(memory_s=2.0)
    first, _, later = frames(3)
    recent.add(face_at(first, FACE).with_track_ids(np.array([1])))
    recent.add(face_at(later, FACE + 50).with_track_ids(np.array([2])))
    np.testing.assert_array_equal(recent.boxes(1.0), np.r_[FACE + 50, FACE])
    np.testing.assert_array_equal(recent.boxes(2.5), FACE + 50)  # track 1 is 2.5 s old


def test_region_size_follows_the_detectors_upscale() -> None:
    plain = SimpleNamespace(settings=SimpleNamespace(upscale=1.0, min_face_size=20))
    doubled = SimpleNamespace(settings=SimpleNamespace(upscale=2.0, min_face_size=20))
    assert region_crop_size(plain) == 80
    assert region_crop_size(doubled) == 40


def test_a_frame_not_searched_whole_finds_the_face_near_where_it_was() -> None:
    detector = ScriptedDetector()
    batch = frames(2)
    found = detect_guided(detector, batch, [True, False], RecentFaces(), CROP)
    # one call with the whole frame, one with the single region of the second frame
    assert detector.calls == [[(200, 300, 3)], [(CROP, CROP, 3)]]
    assert [len(f) for f in found] == [1, 1]
    assert [f.frame_index for f in found] == [0, 1]
    assert iou_matrix(found[1].boxes, FACE)[0, 0] > 0.95
    assert found[1].scores.tolist() == [np.float32(0.9)]


def test_only_remembered_faces_the_frame_lacks_are_looked_for_again() -> None:
    detector = ScriptedDetector()
    batch = frames(1)
    recent = RecentFaces()
    recent.add(face_at(batch[0], FACE + 100).with_track_ids(np.array([7])))
    found = detect_guided(detector, batch, [True], recent, CROP)[0]
    # FACE comes from the whole frame; only the remembered face elsewhere is looked for again
    assert detector.calls[1] == [(CROP, CROP, 3)]
    assert len(found) == 2
    assert iou_matrix(found.boxes, np.r_[FACE, FACE + 100]).max(axis=1).min() > 0.95
