"""Tests for emotion_core/core/types.py: Faces validation, selection and joining, Progress
arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.core.types import Faces, Frame, Progress


def make_faces(n: int, **overrides: np.ndarray) -> Faces:
    boxes = np.array([[10 * i, 0, 10 * i + 8, 8] for i in range(n)], dtype=np.float32)
    fields = {
        "boxes": boxes.reshape(-1, 4),
        "scores": np.linspace(0.9, 1.0, n, dtype=np.float32),
        "landmarks": np.zeros((n, 5, 2), np.float32),
    }
    fields.update(overrides)
    return Faces(frame_index=3, time_s=1.5, **fields)


def test_empty_faces_have_well_shaped_arrays() -> None:
    faces = Faces(frame_index=0, time_s=0.0)
    assert len(faces) == 0
    assert faces.boxes.shape == (0, 4)
    assert faces.scores.shape == (0,)
    assert faces.landmarks.shape == (0, 5, 2)
    assert faces.widths.shape == (0,)


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("scores", np.zeros(2, np.float32), "scores must be"),
        ("landmarks", np.zeros((3, 4, 2), np.float32), "landmarks must be"),
        ("emotions", np.zeros((3, 6), np.float32), "emotions must be"),
        ("track_ids", np.zeros(2, np.int64), "track_ids must be"),
    ],
)
def test_arrays_must_agree_on_the_number_of_faces(
    field: str, bad: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_faces(3, **{field: bad})


def test_boxes_must_have_four_columns() -> None:
    with pytest.raises(ValueError, match="boxes must be"):
        Faces(frame_index=0, time_s=0.0, boxes=np.zeros((2, 3), np.float32))


def test_with_emotions_and_track_ids_keep_the_rest() -> None:
    faces = make_faces(2)
    probabilities = np.full((2, 7), 1 / 7)
    done = faces.with_emotions(probabilities).with_track_ids(np.array([4, 9]))
    assert done.emotions.dtype == np.float32 and done.track_ids.dtype == np.int64
    assert done.track_ids.tolist() == [4, 9]
    np.testing.assert_array_equal(done.boxes, faces.boxes)
    assert faces.emotions is None, "Faces is immutable: the original is unchanged"
    with pytest.raises(ValueError):
        faces.with_emotions(np.zeros((3, 7)))


def test_select_keeps_rows_aligned() -> None:
    faces = make_faces(3).with_emotions(np.eye(7)[:3]).with_track_ids(np.array([1, 2, 3]))
    kept = faces.select(np.array([True, False, True]))
    assert len(kept) == 2
    assert kept.track_ids.tolist() == [1, 3]
    assert kept.emotions.argmax(axis=1).tolist() == [0, 2]
    assert kept.boxes[:, 0].tolist() == [0, 20]
    assert (kept.frame_index, kept.time_s) == (3, 1.5)
    np.testing.assert_allclose(kept.widths, [8, 8])


def test_select_takes_indices_in_their_order() -> None:
    faces = make_faces(3).with_track_ids(np.array([1, 2, 3]))
    assert faces.select([2, 0]).track_ids.tolist() == [3, 1]
    assert faces.select(np.array([1])).boxes[:, 0].tolist() == [10]
    nothing = faces.select([])
    assert len(nothing) == 0 and nothing.landmarks.shape == (0, 5, 2)


def frame(index: int = 3, time_s: float = 1.5) -> Frame:
    return Frame(index=index, time_s=time_s, image=np.zeros((4, 4, 3), np.uint8))


def test_empty_is_no_face_of_the_frame() -> None:
    none = Faces.empty(frame(7, 2.5))
    assert (none.frame_index, none.time_s, len(none)) == (7, 2.5, 0)
    assert none.emotions is None and none.track_ids is None


def test_concat_joins_the_parts_in_order() -> None:
    first, second = make_faces(2), make_faces(3).select([2])
    joined = Faces.concat(frame(), [first, second])
    assert (joined.frame_index, joined.time_s, len(joined)) == (3, 1.5, 3)
    assert joined.boxes[:, 0].tolist() == [0, 10, 20]
    np.testing.assert_array_equal(joined.scores, np.r_[first.scores, second.scores])
    assert joined.boxes.dtype == joined.scores.dtype == joined.landmarks.dtype == np.float32
    assert joined.emotions is None and joined.track_ids is None
    assert len(Faces.concat(frame(), [])) == 0
    assert len(Faces.concat(frame(), [Faces.empty(frame()), first])) == 2


def test_concat_keeps_emotions_and_track_ids_only_when_every_part_has_them() -> None:
    tracked = make_faces(2).with_emotions(np.eye(7)[:2]).with_track_ids(np.array([4, 5]))
    joined = Faces.concat(frame(), [tracked, tracked.select([1])])
    assert joined.track_ids.tolist() == [4, 5, 5]
    assert joined.emotions.argmax(axis=1).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="emotions"):
        Faces.concat(frame(), [tracked, make_faces(1)])


def test_concat_refuses_faces_of_another_frame() -> None:
    with pytest.raises(ValueError, match="another frame"):
        Faces.concat(frame(index=4), [make_faces(1)])


def test_progress_fraction_and_eta() -> None:
    assert Progress(0, 10, 0, 0.0).fraction == 0.0
    assert Progress(0, 10, 0, 0.0).eta_s is None
    halfway = Progress(5, 10, 12, 2.0)
    assert halfway.fraction == 0.5
    assert halfway.eta_s == pytest.approx(2.0)
    # the container's estimate can be short: never more than 100 %, no negative time left
    assert Progress(12, 10, 0, 3.0).fraction == 1.0
    assert Progress(12, 10, 0, 3.0).eta_s is None
    assert Progress(3, 0, 0, 1.0).fraction == 0.0
