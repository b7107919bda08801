"""Changed views of faces, and a model's reading averaged over them (emotion_core.emotion.face_views)."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.emotion.face_views import changed, read_over_zooms


def square_face(side: int = 16) -> np.ndarray:
    face = np.zeros((1, 48, 48), np.uint8)
    start = (48 - side) // 2
    face[0, start:start + side, start:start + side] = 200
    return face


def test_no_change_gives_the_faces_back() -> None:
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    np.testing.assert_array_equal(changed(faces), faces)
    assert changed(faces[:0]).shape == (0, 48, 48)


def test_a_zoom_grows_or_shrinks_the_face_about_its_centre() -> None:
    face = square_face(16)
    bright = int((face > 100).sum())
    bigger, smaller = changed(face, zoom=1.25), changed(face, zoom=0.8)
    assert bigger.shape == face.shape and bigger.dtype == np.uint8
    assert (bigger > 100).sum() == pytest.approx(bright * 1.25 ** 2, rel=0.15)
    assert (smaller > 100).sum() == pytest.approx(bright * 0.8 ** 2, rel=0.15)
    # still centred: the zoomed face is its own mirror image, as the square was
    np.testing.assert_array_equal(bigger[0], bigger[0][:, ::-1])
    # the border is repeated, not filled with black
    shrunk_grey = changed(np.full((1, 48, 48), 90, np.uint8), zoom=0.8)
    assert (shrunk_grey == 90).all()


def test_a_shift_moves_the_face() -> None:
    face = square_face(16)
    moved = changed(face, dx=3)
    np.testing.assert_array_equal(moved[0, :, 3:], np.pad(face[0], ((0, 0), (3, 0)), "edge")[:, 3:48])


def test_readings_are_averaged_over_the_face_and_its_zooms() -> None:
    model = ClassroomEmotionNet()
    faces = np.random.default_rng(1).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    np.testing.assert_allclose(read_over_zooms(model, faces, ()), model.predict(faces), atol=1e-6)
    views = [model.predict(faces), model.predict(changed(faces, zoom=1.1)),
             model.predict(changed(faces, zoom=0.9))]
    averaged = read_over_zooms(model, faces, (1.1, 0.9))
    np.testing.assert_allclose(averaged, np.mean(views, axis=0), atol=1e-6)
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(averaged, views[0], atol=1e-4)  # the zooms do change the reading
    assert read_over_zooms(model, faces[:0]).shape == (0, 7)
