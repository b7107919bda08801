"""The embedding helper: a second process running DeepFace's Dlib model on chips handed to it.

Real processes and the real model: its vectors must be the analysis process's own, to the bit, in
the order the batches were sent; and when it stops or cannot start, nothing is lost: the
sampler embeds the chips itself and gets the same result.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from support.jaffe import jaffe_by_subject

from emotion_core.core.types import Faces, Frame
from emotion_core.faces.mtcnn import MTCNNDetector
from emotion_core.identity import sampling
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.identity.sampling import TrackSampler
from emotion_core.identity.worker import EmbeddingHelper, HelperFailed

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def jaffe_faces(jaffe_dir: Path, detector: MTCNNDetector
                ) -> tuple[list[np.ndarray], list[Faces]]:
    images, _ = jaffe_by_subject(jaffe_dir, per_subject=2)  # 20 photos of 10 women
    found = detector.detect([Frame(i, 0.0, im) for i, im in enumerate(images)])
    assert all(len(f) == 1 for f in found)
    return images, found


@pytest.fixture(scope="module")
def chips(jaffe_faces: tuple[list[np.ndarray], list[Faces]],
          dlib_embedder: FaceEmbedder) -> np.ndarray:
    images, found = jaffe_faces
    return np.concatenate([dlib_embedder.chips(im, f) for im, f in zip(images, found)])


@pytest.fixture
def helper(dlib_embedder: FaceEmbedder) -> Iterator[EmbeddingHelper]:
    started = EmbeddingHelper("Dlib")
    assert started.wait_ready(60), "the worker did not start"
    yield started
    started.close()


def test_the_worker_gives_this_process_s_vectors_in_order(
    helper: EmbeddingHelper, chips: np.ndarray, dlib_embedder: FaceEmbedder
) -> None:
    first, second, one = helper.submit(chips[:12]), helper.submit(chips[12:]), helper.submit(chips[3:4])
    assert helper.dimension == 128
    here = dlib_embedder.embed(chips)
    np.testing.assert_array_equal(np.concatenate([first.result(), second.result()]), here)
    np.testing.assert_array_equal(one.result(), here[3:4])
    assert helper.backlog == 0 and helper.alive


def test_a_worker_that_stops_fails_what_it_held_and_refuses_more(
    helper: EmbeddingHelper, chips: np.ndarray
) -> None:
    helper._process.kill()
    helper._process.wait()
    with pytest.raises(HelperFailed, match="stopped"):
        helper.submit(chips[:2]).result()
    assert not helper.alive and helper.backlog == 0


def test_a_model_that_needs_tensorflow_is_refused_by_the_worker(chips: np.ndarray) -> None:
    helper = EmbeddingHelper("VGG-Face")
    assert not helper.wait_ready(60)
    with pytest.raises(HelperFailed, match="cannot run in the worker"):
        helper.submit(chips[:1]).result()
    helper.close()


def sample_two_tracks(sampler: TrackSampler, images: list[np.ndarray], found: list[Faces]
                      ) -> list:
    """Photos as frames of two tracks: the first ends halfway (embedded while the "video" goes
    on), the second is open at the end (embedded by ``finish``)."""
    for step in range(10):
        for track_id, photo in ((1, step), (2, 10 + step)):
            if track_id == 1 and step >= 5:
                continue
            face = found[photo]
            frame = Faces(step, step * 1.0, face.boxes, face.scores, face.landmarks,
                          track_ids=np.array([track_id]))
            sampler.add(images[photo], frame)
        sampler.flush(step * 1.0)
    return sampler.finish()


def test_tracks_embedded_with_a_helper_are_those_embedded_without(
    helper: EmbeddingHelper, jaffe_faces: tuple[list[np.ndarray], list[Faces]],
    dlib_embedder: FaceEmbedder,
) -> None:
    images, found = jaffe_faces
    alone = sample_two_tracks(TrackSampler(dlib_embedder, 3), images, found)
    helped_sampler = TrackSampler(dlib_embedder, 3, helper=helper)
    helped = sample_two_tracks(helped_sampler, images, found)
    assert [t.track_id for t in helped] == [1, 2] and [t.samples for t in helped] == [3, 3]
    for a, b in zip(alone, helped):
        np.testing.assert_array_equal(a.embedding, b.embedding)
        assert (a.first_s, a.last_s, a.observations) == (b.first_s, b.last_s, b.observations)
    assert helped_sampler.faces_embedded == 6


def assert_same_tracks_when_the_worker_fails(
    helper: EmbeddingHelper, jaffe_faces: tuple[list[np.ndarray], list[Faces]],
    dlib_embedder: FaceEmbedder, fail: Callable[[], None],
) -> None:
    """``fail`` is done to the worker once it holds track 1's chips; the tracks come out as
    without a helper."""
    images, found = jaffe_faces
    alone = sample_two_tracks(TrackSampler(dlib_embedder, 3), images, found)

    class FailsAfterFirstBatch(TrackSampler):
        def flush(self, now_s: float) -> None:
            super().flush(now_s)
            if self._batches and helper.alive:  # track 1 was handed over
                fail()

    helped = sample_two_tracks(FailsAfterFirstBatch(dlib_embedder, 3, helper=helper), images, found)
    for a, b in zip(alone, helped, strict=True):
        np.testing.assert_array_equal(a.embedding, b.embedding)
    assert not helper.alive


def test_when_the_worker_stops_the_sampler_embeds_its_chips_itself(
    helper: EmbeddingHelper, jaffe_faces: tuple[list[np.ndarray], list[Faces]],
    dlib_embedder: FaceEmbedder,
) -> None:
    assert_same_tracks_when_the_worker_fails(helper, jaffe_faces, dlib_embedder,
                                             helper._process.kill)


def test_a_stuck_worker_is_stopped_and_its_chips_embedded_here(
    helper: EmbeddingHelper, jaffe_faces: tuple[list[np.ndarray], list[Faces]],
    dlib_embedder: FaceEmbedder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that stops answering (here: suspended) holds the analysis up only for the
    timeout, then is stopped; the analysis embeds what it held."""
    monkeypatch.setattr(sampling, "HELPER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(sampling, "HELPER_S_PER_CHIP", 0.0)
    assert_same_tracks_when_the_worker_fails(
        helper, jaffe_faces, dlib_embedder, lambda: os.kill(helper._process.pid, signal.SIGSTOP)
    )
    assert helper._process.poll() is not None, "stopped, not left hanging"
