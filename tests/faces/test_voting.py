"""Tests for emotion_core/faces/voting.py: faces from several looks at an image, by vote."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.faces.voting import ROW_WIDTH, vote


def row(x1: float, y1: float, side: float, score: float, mark: float = 0.0) -> np.ndarray:
    """A candidate: a square box, its score, and five landmarks all at ``mark``."""
    r = np.full(ROW_WIDTH, mark, dtype=np.float32)
    r[:5] = (x1, y1, x1 + side, y1 + side, score)
    return r


def rows(*candidates: np.ndarray) -> np.ndarray:
    return np.array(candidates, dtype=np.float32).reshape(-1, ROW_WIDTH)


KNOBS = {"same_face_iou": 0.3, "min_score": 0.4, "min_score_small": 0.6, "small_face_px": 20.0}


def test_a_face_every_look_finds_keeps_the_mean_of_its_scores() -> None:
    faces = vote([rows(row(10, 10, 40, 0.9)), rows(row(12, 11, 40, 0.7))], **KNOBS)
    assert len(faces) == 1
    assert faces[0, 4] == pytest.approx(0.8)
    np.testing.assert_array_equal(faces[0, :4], [10, 10, 50, 50])  # the best candidate's box


def test_a_face_one_look_finds_weakly_is_dropped() -> None:
    # 0.7 alone over two looks is 0.35, under min_score; 0.9 alone is 0.45, over it
    weak = vote([rows(row(10, 10, 40, 0.7)), rows()], **KNOBS)
    strong = vote([rows(row(10, 10, 40, 0.9)), rows()], **KNOBS)
    assert len(weak) == 0 and len(strong) == 1


def test_small_faces_need_the_higher_score() -> None:
    small = [rows(row(0, 0, 15, 0.5)), rows(row(0, 0, 15, 0.5))]
    large = [rows(row(0, 0, 25, 0.5)), rows(row(0, 0, 25, 0.5))]
    assert len(vote(small, **KNOBS)) == 0
    assert len(vote(large, **KNOBS)) == 1


def test_faces_apart_stay_apart_best_first() -> None:
    left, right = row(0, 0, 30, 0.6, mark=1), row(100, 0, 30, 0.95, mark=2)
    faces = vote([rows(left, right), rows(left, right)], **KNOBS)
    assert len(faces) == 2
    np.testing.assert_array_equal(faces[:, 0], [100, 0])
    np.testing.assert_array_equal(faces[:, 5:], np.repeat([[2], [1]], 10, axis=1))


def test_two_candidates_of_one_look_count_once() -> None:
    # one look's two overlapping boxes are one face, scored by the better of them
    faces = vote([rows(row(10, 10, 40, 0.9), row(14, 12, 40, 0.8)), rows()], **KNOBS)
    assert len(faces) == 1 and faces[0, 4] == pytest.approx(0.45)


def test_the_landmarks_are_the_best_candidates() -> None:
    faces = vote([rows(row(10, 10, 40, 0.6, mark=3)), rows(row(10, 10, 40, 0.9, mark=7))], **KNOBS)
    np.testing.assert_array_equal(faces[0, 5:], np.full(10, 7))


def test_no_candidates_no_faces() -> None:
    assert vote([rows(), rows()], **KNOBS).shape == (0, ROW_WIDTH)
    assert vote([], **KNOBS).shape == (0, ROW_WIDTH)
