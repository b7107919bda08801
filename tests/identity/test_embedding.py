"""Tests for emotion_core/identity/embedders.py and the embedding side of analysis/models.py:
the offline Dlib model loads with no network, gives DeepFace's Dlib vectors and tells the JAFFE
women apart;
VGG-Face without its weights is reported, and ``auto`` falls back and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from support.jaffe import jaffe_by_subject

from emotion_core.analysis import models
from emotion_core.core.types import Faces, Frame
from emotion_core.faces.mtcnn import MTCNNDetector
from emotion_core.identity.embedders import (
    DLIB_WEIGHTS,
    DeepFaceEmbedder,
    FaceEmbedder,
    FaceEmbedderUnavailable,
    cosine_distances,
    represent_chips,
    unit_rows,
)
from emotion_core.identity.sampling import face_quality


def test_cosine_distances() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    d = cosine_distances(a, np.array([[3.0, 0.0], [-1.0, 0.0]]))
    np.testing.assert_allclose(d, [[0.0, 2.0], [1.0, 1.0]], atol=1e-6)
    assert cosine_distances(a, np.zeros((0, 2))).shape == (2, 0)
    np.testing.assert_allclose(np.linalg.norm(unit_rows(a), axis=1), 1.0)


def test_unknown_embedding_model_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of auto, VGG-Face, Dlib"):
        models.load_embedder("FaceNet")


def test_dlib_loads_offline_from_the_pip_package(
    dlib_embedder: FaceEmbedder, deepface_home: Path
) -> None:
    assert (dlib_embedder.name, dlib_embedder.dimension, dlib_embedder.chip_size) == (
        "Dlib", 128, 150
    )
    # DeepFace finds dlib's weights where it looks for them: linked from face-recognition-models
    weights = deepface_home / ".deepface" / "weights" / DLIB_WEIGHTS
    assert weights.is_symlink() and weights.resolve().is_file()
    assert "face_recognition_models" in str(weights.resolve())
    assert models.load_embedder("Dlib") is dlib_embedder, "built once per process"


def test_dlib_gives_deepfaces_dlib_vectors_averaged_with_the_mirror_image(
    dlib_embedder: FaceEmbedder, deepface_home: Path
) -> None:
    """Called directly, dlib gives what DeepFace's ``Dlib`` model gives for the same chips; each
    vector is the mean of the chip's and its mirror image's."""
    from deepface import DeepFace

    chips = np.random.default_rng(3).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    chips[:, 40:110, 40:110] //= 2  # something that is not symmetric
    direct = dlib_embedder.embed(chips)
    through_deepface = represent_chips(DeepFace.represent, "Dlib", chips)
    np.testing.assert_allclose(direct, through_deepface, atol=1e-5)
    mirrored = dlib_embedder.embed(np.ascontiguousarray(chips[:, :, ::-1]))
    np.testing.assert_allclose(direct, mirrored, atol=1e-5)
    unmirrored = np.asarray(dlib_embedder._network.compute_face_descriptor(list(chips)))
    assert np.abs(unit_rows(unmirrored) - direct).max() > 1e-3, "the mirror image counts"


def test_auto_falls_back_to_dlib_and_says_so(
    dlib_embedder: FaceEmbedder, offline: None, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(models, "_embedders_unavailable", {})
    with caplog.at_level(logging.WARNING, logger="emotion_core.analysis.models"):
        assert models.load_embedder("auto") is dlib_embedder
    [warning] = [r for r in caplog.records if r.name == "emotion_core.analysis.models"]
    assert "DeepFace's VGG-Face weights are not available" in warning.getMessage()
    assert "vgg_face_weights.h5" in warning.getMessage()
    assert "using the offline default 'Dlib'" in warning.getMessage()
    with pytest.raises(FaceEmbedderUnavailable, match="VGG-Face"):
        models.load_embedder("VGG-Face")


def test_vgg_face_chips_level_the_eyes() -> None:
    """VGG-Face's chips are cut as DeepFace aligns: rotated about the box until the eyes are
    level. (Its weights cannot be had here, so only the cutting is tested.)"""
    embedder = object.__new__(DeepFaceEmbedder)  # no weights: only chips() is used
    image = np.zeros((200, 200, 3), np.uint8)
    left, right = (80, 90), (120, 110)  # eyes on a slope of 20 px over 40
    for x, y in (left, right):
        image[y - 2:y + 3, x - 2:x + 3] = 255
    landmarks = np.zeros((1, 5, 2), np.float32)
    landmarks[0, 0], landmarks[0, 1] = left, right
    faces = Faces(0, 0.0, np.array([[60, 60, 140, 140]], np.float32), np.ones(1, np.float32),
                  landmarks)
    [chip] = embedder.chips(image, faces)
    assert chip.shape == (224, 224, 3)
    ys, xs = np.nonzero(chip[:, :, 0] > 128)
    left_eye, right_eye = ys[xs < 112], ys[xs >= 112]
    assert len(left_eye) and len(right_eye)
    assert abs(left_eye.mean() - right_eye.mean()) < 3, "eyes on one row"


@pytest.mark.real_data
def test_dlib_tells_the_jaffe_women_apart(
    jaffe_dir: Path, detector: MTCNNDetector, dlib_embedder: FaceEmbedder
) -> None:
    """40 photos of 10 women in different expressions: each photo's nearest other photo is the
    same woman, and track-like means of two photos are closer within a woman than across."""
    images, subjects = jaffe_by_subject(jaffe_dir, per_subject=4)
    found = detector.detect([Frame(i, 0.0, im) for i, im in enumerate(images)])
    assert all(len(f) == 1 for f in found)
    chips = np.concatenate([dlib_embedder.chips(im, f) for im, f in zip(images, found)])
    assert chips.shape == (40, 150, 150, 3) and chips.dtype == np.uint8
    vectors = dlib_embedder.embed(chips)
    assert vectors.shape == (40, 128)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    owner = np.array(subjects)
    d = cosine_distances(vectors, vectors)
    np.fill_diagonal(d, np.inf)
    assert (owner[d.argmin(axis=1)] == owner).all()
    # means of two photos, as the pipeline compares tracks: one woman's means are all within
    # the calibrated distance, and each mean's nearest other mean is the same woman's
    means = unit_rows(vectors.reshape(20, 2, 128).mean(axis=1))
    mean_owner = owner[::2]
    dm = cosine_distances(means, means)
    same = mean_owner[:, None] == mean_owner[None, :]
    off_diagonal = ~np.eye(20, dtype=bool)
    assert dm[same & off_diagonal].max() < dlib_embedder.thresholds.within_lesson
    np.fill_diagonal(dm, np.inf)
    assert (mean_owner[dm.argmin(axis=1)] == mean_owner).all()
    assert np.median(dm[~same]) > dlib_embedder.thresholds.within_lesson
    # and faces of these photos are of full quality for the sampler
    assert all(face_quality(f)[0] > 0.5 for f in found)


@pytest.mark.real_data
def test_a_chip_cut_from_the_kept_crop_is_the_chip_cut_from_the_frame(
    jaffe_dir: Path, detector: MTCNNDetector, dlib_embedder: FaceEmbedder
) -> None:
    """The sampler keeps only the frame around a candidate face (``identity.crop_around``) and
    cuts its chip when the track ends: the same chip as from the whole frame, for a face in
    the middle of a classroom and one whose crop meets the frame's edges."""
    from emotion_core.identity.sampling import crop_around

    small = jaffe_by_subject(jaffe_dir, per_subject=1)[0][0][::2, ::2]
    h, w = small.shape[:2]
    room = np.full((400, 700, 3), 90, np.uint8)
    room[100:100 + h, 300:300 + w] = small
    room[400 - h:, 700 - w:] = small  # in the bottom-right corner: its crop meets the edges
    [faces] = detector.detect([Frame(0, 0.0, room)])
    assert len(faces) == 2
    edge = crop_around(room, faces, int(faces.boxes[:, 0].argmax()))[0]
    assert edge.shape[0] < 3 * (faces.boxes[:, 3] - faces.boxes[:, 1]).max(), "clipped"
    whole = dlib_embedder.chips(room, faces)
    for i in range(len(faces)):
        crop, face = crop_around(room, faces, i)
        assert crop.size < room.size
        np.testing.assert_array_equal(dlib_embedder.chips(crop, face)[0], whole[i])
    # VGG-Face's chip (OpenCV's warp, fixed-point): the same but for rounding at a few pixels
    vgg = object.__new__(DeepFaceEmbedder)  # no weights: its chips() only
    whole = vgg.chips(room, faces).astype(int)
    for i in range(len(faces)):
        again = vgg.chips(*crop_around(room, faces, i))[0].astype(int)
        differ = np.abs(again - whole[i])
        assert differ.max() <= 5 and (differ > 0).mean() < 0.001
