"""Tests for emotion_core/faces/tracking.py on synthetic boxes: IoU, matching, gaps, new faces."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.core.geometry import iou_matrix
from emotion_core.core.types import Faces
from emotion_core.faces.tracking import IoUTracker


def faces_at(time_s: float, *boxes: tuple[float, float, float, float]) -> Faces:
    n = len(boxes)
    return Faces(
        frame_index=round(time_s * 10),
        time_s=time_s,
        boxes=np.array(boxes, dtype=np.float32).reshape(n, 4),
        scores=np.ones(n, np.float32),
        landmarks=np.zeros((n, 5, 2), np.float32),
    )


def ids(faces: Faces) -> list[int]:
    assert faces.track_ids is not None
    return faces.track_ids.tolist()


def test_iou_matrix_values() -> None:
    a = np.array([[0, 0, 10, 10], [100, 100, 110, 110]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]], np.float32)
    expected = [[1.0, 50 / 150, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(iou_matrix(a, b), expected, rtol=1e-6)
    assert iou_matrix(a, np.zeros((0, 4), np.float32)).shape == (2, 0)
    assert iou_matrix(np.zeros((0, 4), np.float32), b).shape == (0, 3)


def test_faces_moving_slowly_keep_their_ids() -> None:
    tracker = IoUTracker()
    first = tracker.update(faces_at(0.0, (0, 0, 20, 20), (100, 0, 120, 20)))
    assert ids(first) == [1, 2]
    for step in range(1, 10):
        t, dx = step * 0.5, 2 * step
        # listed in the other order each frame: ids follow boxes, not positions in the list
        faces = tracker.update(faces_at(t, (100 + dx, 0, 120 + dx, 20), (dx, 0, 20 + dx, 20)))
        assert ids(faces) == [2, 1]
    assert tracker.tracks_started == 2


def test_a_new_face_starts_a_new_track() -> None:
    tracker = IoUTracker()
    tracker.update(faces_at(0.0, (0, 0, 20, 20)))
    faces = tracker.update(faces_at(0.5, (1, 0, 21, 20), (200, 200, 230, 230)))
    assert ids(faces) == [1, 2]


def test_a_track_survives_a_short_gap_but_not_a_long_one() -> None:
    tracker = IoUTracker(max_gap_s=2.0, min_hits=3)
    for t in (0.0, 0.5, 1.0):
        tracker.update(faces_at(t, (0, 0, 20, 20)))
    assert ids(tracker.update(faces_at(1.5))) == []
    assert ids(tracker.update(faces_at(2.5, (0, 0, 20, 20)))) == [1], "1.5 s gap: same track"
    assert ids(tracker.update(faces_at(5.0, (0, 0, 20, 20)))) == [2], "2.5 s gap: a new track"


def test_a_track_seen_in_fewer_than_min_hits_frames_ends_at_its_first_miss() -> None:
    tracker = IoUTracker(max_gap_s=2.0, min_hits=3)
    tracker.update(faces_at(0.0, (0, 0, 20, 20)))
    tracker.update(faces_at(0.5, (0, 0, 20, 20)))
    assert ids(tracker.update(faces_at(1.0))) == []
    assert ids(tracker.update(faces_at(1.5, (0, 0, 20, 20)))) == [2], "two hits: not kept"


def test_one_face_per_track_best_overlap_first() -> None:
    tracker = IoUTracker(min_iou=0.3, split_iou=1.1)  # never split: greedy matching alone
    tracker.update(faces_at(0.0, (0, 0, 20, 20)))
    # both new faces overlap the track; the closer one (IoU 0.82) wins, the other starts a track
    faces = tracker.update(faces_at(0.5, (6, 0, 26, 20), (2, 0, 22, 20)))
    assert ids(faces) == [2, 1]


def test_a_face_that_two_tracks_could_claim_starts_a_new_track() -> None:
    """Two people crossing: overlap cannot tell who is who, so both tracks end there and the
    faces start new tracks; appearance joins them up later, and no track holds two people."""
    tracker = IoUTracker(min_iou=0.3, split_iou=0.1, min_hits=1)
    tracker.update(faces_at(0.0, (0, 0, 20, 20), (30, 0, 50, 20)))
    # apart: each keeps its track
    assert ids(tracker.update(faces_at(0.5, (4, 0, 24, 20), (26, 0, 46, 20)))) == [1, 2]
    # close: each face overlaps its own track well and the other's a little (IoU 0.11)
    assert ids(tracker.update(faces_at(1.0, (10, 0, 30, 20), (20, 0, 40, 20)))) == [3, 4]
    # the same happens while they stay close
    assert ids(tracker.update(faces_at(1.5, (12, 0, 32, 20), (18, 0, 38, 20)))) == [5, 6]
    # apart again, the faces start new tracks
    assert ids(tracker.update(faces_at(2.0, (0, 0, 20, 20), (40, 0, 60, 20)))) == [7, 8]
    # the left one is still near where a lost track (5) was last seen: it could be that person
    assert ids(tracker.update(faces_at(2.5, (1, 0, 21, 20), (39, 0, 59, 20)))) == [9, 8]
    # once the lost tracks have ended (max_gap_s), nothing is ambiguous any more
    assert ids(tracker.update(faces_at(3.6, (1, 0, 21, 20), (39, 0, 59, 20)))) == [9, 8]
    assert ids(tracker.update(faces_at(4.0, (0, 0, 20, 20), (40, 0, 60, 20)))) == [9, 8]


def test_one_face_near_two_tracks_after_the_other_left_is_split() -> None:
    tracker = IoUTracker(min_iou=0.3, split_iou=0.1)
    tracker.update(faces_at(0.0, (0, 0, 20, 20), (18, 0, 38, 20)))
    # one face only, overlapping both tracks: it could be either person
    assert ids(tracker.update(faces_at(0.5, (9, 0, 29, 20)))) == [3]


def test_too_little_overlap_is_a_different_face() -> None:
    tracker = IoUTracker(min_iou=0.3)
    tracker.update(faces_at(0.0, (0, 0, 20, 20)))
    faces = tracker.update(faces_at(0.5, (15, 0, 35, 20)))  # IoU 5*20 / 700 = 0.14
    assert ids(faces) == [2]


def test_the_track_follows_the_latest_box() -> None:
    tracker = IoUTracker(min_iou=0.3)
    tracker.update(faces_at(0.0, (0, 0, 20, 20)))
    # each step overlaps the previous box well, but the last is far from the first box
    for step in range(1, 6):
        faces = tracker.update(faces_at(step * 0.5, (8 * step, 0, 20 + 8 * step, 20)))
        assert ids(faces) == [1]


def test_empty_frames_give_empty_ids() -> None:
    tracker = IoUTracker()
    faces = tracker.update(faces_at(0.0))
    assert faces.track_ids is not None and faces.track_ids.shape == (0,)
    assert tracker.tracks_started == 0


@pytest.mark.parametrize("n", [1, 5, 30])
def test_many_disjoint_faces_each_get_one_track(n: int) -> None:
    tracker = IoUTracker()
    boxes = [(40 * i, 0, 40 * i + 30, 30) for i in range(n)]
    for step in range(3):
        faces = tracker.update(faces_at(step * 0.5, *boxes))
        assert ids(faces) == list(range(1, n + 1))
