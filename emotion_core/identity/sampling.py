"""The best face chips of each track of a video, embedded once the track ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from emotion_core.core.thumbnails import encode_thumbnail
from emotion_core.core.types import Faces
from emotion_core.identity.embedders import FaceEmbedder, unit_rows
from emotion_core.identity.worker import EmbeddingHelper, HelperFailed, Pending

log = logging.getLogger(__name__)

# A face this wide (pixels) or wider counts as full quality: the chips are 150-224 px, and the
# embedding barely improves past this (BENCHMARKS.md, identity).
FULL_QUALITY_WIDTH = 80.0


def face_quality(faces: Faces) -> np.ndarray:
    """A score in [0, 1] per face: large, confidently detected, frontal faces score highest.

    Frontal: the nose midway between the eyes (MTCNN's landmarks), as a face turned aside
    embeds worse than one looking at the camera.
    """
    if not len(faces):
        return np.zeros(0, dtype=np.float32)
    size = np.clip(faces.widths / FULL_QUALITY_WIDTH, 0.0, 1.0)
    eyes = faces.landmarks[:, :2]
    eye_distance = np.linalg.norm(eyes[:, 1] - eyes[:, 0], axis=1)
    off_centre = np.abs(faces.landmarks[:, 2, 0] - eyes[:, :, 0].mean(axis=1))
    frontal = 1.0 - np.clip(off_centre / np.clip(eye_distance, 1e-3, None), 0.0, 1.0)
    return (size * np.clip(faces.scores, 0.0, 1.0) * (0.5 + 0.5 * frontal)).astype(np.float32)


@dataclass(frozen=True)
class TrackEmbedding:
    """One track of a video and the embedding of its best chips.

    ``embedding`` (D,) is the unit-length mean of ``samples`` unit embeddings.
    """

    track_id: int
    first_s: float
    last_s: float
    observations: int
    embedding: np.ndarray
    samples: int
    quality: float  # mean quality of the chips embedded
    # height (px) of the largest face embedded; None for tracks rebuilt from rows stored before
    # sizes were kept
    face_px: float | None = None
    # the best of those chips as a small JPEG (core/thumbnails.py), when the sampler keeps them
    thumbnail: bytes | None = None
    thumbnail_quality: float = 0.0
    thumbnail_s: float | None = None  # when it was seen


@dataclass
class _Candidate:
    quality: float
    time_s: float
    crop: np.ndarray  # the frame around the face (RGB), enough for the embedder's chip
    face: Faces  # the one face, in the crop's coordinates

    @property
    def height(self) -> float:
        return float(self.face.boxes[0, 3] - self.face.boxes[0, 1])


# Box sides of frame kept on each side of a candidate's box: room for the chip the embedder cuts
# (dlib's chip pads the face by a quarter and turns it upright; VGG-Face's turns the box).
CROP_CONTEXT = 1.0


def crop_around(image: np.ndarray, faces: Faces, index: int) -> tuple[np.ndarray, Faces]:
    """The part of ``image`` around face ``index`` and that face in the crop's coordinates.

    The crop starts at whole pixels, so dlib cuts the same chip from it as from the frame, to
    the pixel, and VGG-Face's warp the same but for rounding
    (``tests/identity/test_embedding.py``); a chip is then cut only for the candidates that end
    up embedded, not for every face that was once a track's best."""
    x1, y1, x2, y2 = (float(v) for v in faces.boxes[index])
    pad = CROP_CONTEXT * max(x2 - x1, y2 - y1)
    height, width = image.shape[:2]
    x0, y0 = max(0, int(np.floor(x1 - pad))), max(0, int(np.floor(y1 - pad)))
    x_end, y_end = min(width, int(np.ceil(x2 + pad))), min(height, int(np.ceil(y2 + pad)))
    one = faces.select([index])
    shift = np.array([x0, y0], dtype=np.float32)
    one = replace(one, boxes=one.boxes - np.tile(shift, 2), landmarks=one.landmarks - shift)
    return np.ascontiguousarray(image[y0:y_end, x0:x_end]), one


@dataclass
class _LiveTrack:
    first_s: float
    last_s: float
    window_s: float  # the track's time is cut into windows this long: one candidate each
    observations: int = 0
    candidates: dict[int, _Candidate] = field(default_factory=dict)  # by window

    def window(self, time_s: float) -> int:
        return int((time_s - self.first_s) // self.window_s)


# A face replaces its window's candidate only when clearly better: detection scores jitter,
# and every replacement costs a chip.
BETTER_BY = 1.05

# Chips the helper process may have waiting before ended tracks are embedded here instead: it
# shares the cores with detection, and chips waiting for it are held in memory.
HELPER_MAX_BACKLOG = 60
# How long the helper may take over a batch before it is taken for stuck (and stopped, and the
# chips embedded here): far more than the 0.1-0.2 s a chip takes it on a busy 2-core machine.
HELPER_TIMEOUT_S = 60.0
HELPER_S_PER_CHIP = 2.0


class TrackSampler:
    """Keeps the best chips of each live track and embeds them when the track ends.

    A track gets at most ``per_track`` embeddings however long it is, spread over its whole
    length: its time is cut into windows (``spacing_s`` at first) holding the best-quality face
    seen in each; when there are more windows than ``per_track`` the windows double in length,
    keeping the better face of each pair. So the chips show different moments (expressions,
    poses) of the track; a candidate keeps the bit of frame around its face, and chips are cut
    only for the candidates left when the track ends. A track not seen for more than
    ``max_gap_s`` has ended (as in the tracker); its chips are cut and embedded at the next
    ``flush``. Memory holds the candidates of live tracks only (and the chips of ended tracks
    until their vectors are back); with ``keep_thumbnails`` each ended track also keeps its best
    chip, as a small JPEG.

    Faces under ``min_face_px`` high (by default the embedder's ``thresholds.min_face_px``) are
    too small to tell who they are: they are never embedded, and a track with no larger face
    is not embedded at all (``tracks_too_small`` counts them); it stays anonymous.

    With a ``helper`` (``worker.EmbeddingHelper``, a second process), ended tracks are embedded
    there while this process goes on with the video, and the chips left at the end are shared
    between the two; the vectors are the same either way.
    """

    def __init__(
        self, embedder: FaceEmbedder, per_track: int = 3, spacing_s: float = 1.0,
        max_gap_s: float = 2.0, keep_thumbnails: bool = False,
        helper: EmbeddingHelper | None = None, min_face_px: float | None = None,
    ) -> None:
        if per_track < 1:
            raise ValueError("per_track must be at least 1")
        self.embedder = embedder
        self.min_face_px = (
            embedder.thresholds.min_face_px if min_face_px is None else float(min_face_px)
        )
        self.tracks_too_small = 0
        self.keep_thumbnails = keep_thumbnails
        self.per_track = per_track
        self.spacing_s = spacing_s
        self.max_gap_s = max_gap_s
        self.faces_embedded = 0
        self.seconds = 0.0  # spent cutting chips and embedding them
        # pairs of track ids seen in one frame: never the same person
        self.co_occurring: set[tuple[int, int]] = set()
        self.helper = helper
        self._live: dict[int, _LiveTrack] = {}
        self._batches: list[_Batch] = []  # embedded or being embedded, not yet recorded
        self._done: list[TrackEmbedding] = []

    def add(self, image: np.ndarray, faces: Faces) -> None:
        """Take the tracked ``faces`` of one RGB frame into account."""
        if faces.track_ids is None:
            raise ValueError("TrackSampler needs tracked faces")
        ids = faces.track_ids.tolist()
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                self.co_occurring.add((min(a, b), max(a, b)))
        quality = face_quality(faces)
        wanted = np.zeros(len(faces), dtype=bool)
        for i, track_id in enumerate(ids):
            track = self._live.setdefault(
                track_id, _LiveTrack(faces.time_s, faces.time_s, self.spacing_s)
            )
            track.last_s = faces.time_s
            track.observations += 1
            held = track.candidates.get(track.window(faces.time_s))
            wanted[i] = held is None or quality[i] > held.quality * BETTER_BY
        if not wanted.any():
            return
        for i in np.flatnonzero(wanted):
            track = self._live[ids[i]]
            track.candidates[track.window(faces.time_s)] = _Candidate(
                float(quality[i]), faces.time_s, *crop_around(image, faces, int(i))
            )
            while len(track.candidates) > self.per_track:
                track.window_s *= 2
                merged: dict[int, _Candidate] = {}
                for candidate in track.candidates.values():
                    key = track.window(candidate.time_s)
                    if key not in merged or candidate.quality > merged[key].quality:
                        merged[key] = candidate
                track.candidates = merged

    def flush(self, now_s: float) -> None:
        """Embed the tracks not seen for more than ``max_gap_s`` before ``now_s``: in the
        ``helper`` process when there is one, while this one goes on with the video."""
        ended = [t for t, track in self._live.items() if now_s - track.last_s > self.max_gap_s]
        if ended:
            self._embed(ended, finishing=False)
        # record what is back, so chips do not pile up over a long lesson
        waiting = []
        for batch in self._batches:
            if batch.remote is None or batch.remote.done:
                self._record(batch)
            else:
                waiting.append(batch)
        self._batches = waiting

    def finish(self) -> list[TrackEmbedding]:
        """Embed every track still open; all tracks of the video, in order of track id."""
        if self._live:
            self._embed(list(self._live), finishing=True)
        for batch in self._batches:
            self._record(batch)
        self._batches.clear()
        return sorted(self._done, key=lambda t: t.track_id)

    def _embed(self, track_ids: Sequence[int], finishing: bool) -> None:
        """Cut the chips of these tracks and have them embedded: by the helper (all of them
        while the video goes on; at the end, what makes its backlog half of the work left, so
        both processes end together), the rest here."""
        started = time.perf_counter()
        ended = [(t, self._live.pop(t)) for t in track_ids]
        kept = [(t, track) for t, track in ended if self._keep_identifiable(track)]
        self.tracks_too_small += len(ended) - len(kept)
        if not kept:
            return
        track_ids = [t for t, _ in kept]
        tracks = [track for _, track in kept]
        chips = np.concatenate([self.embedder.chips(c.crop, c.face)
                                for track in tracks for c in track.candidates.values()])
        remote = 0
        if self.helper is not None and self.helper.alive:
            backlog = self.helper.backlog
            if finishing:
                remote = int(np.clip((backlog + len(chips)) // 2 - backlog, 0, len(chips)))
            elif backlog < HELPER_MAX_BACKLOG:  # else it cannot keep up: embed here
                remote = len(chips)
        batch = _Batch(list(track_ids), tracks, chips,
                       self.helper.submit(chips[:remote]) if remote and self.helper else None,
                       self.embedder.embed(chips[remote:]) if remote < len(chips) else None)
        self._batches.append(batch)
        self.seconds += time.perf_counter() - started
        self.faces_embedded += len(chips)

    def _keep_identifiable(self, track: _LiveTrack) -> bool:
        """Drop the track's faces too small to identify; whether any is left."""
        track.candidates = {
            k: c for k, c in track.candidates.items() if c.height >= self.min_face_px
        }
        return bool(track.candidates)

    def _vectors(self, batch: _Batch) -> np.ndarray:
        """The batch's vectors, waiting for the helper's part; a part it could not do is
        embedded here."""
        parts = []
        if batch.remote is not None:
            try:
                timeout_s = HELPER_TIMEOUT_S + HELPER_S_PER_CHIP * batch.remote.count
                parts.append(batch.remote.result(timeout_s))
            except HelperFailed as exc:
                log.warning("embedding here instead: %s", exc)
                if self.helper is not None and self.helper.alive:  # stuck: no more for it
                    self.helper.close(kill=True)
                parts.append(self.embedder.embed(batch.chips[:batch.remote.count]))
        if batch.here is not None:
            parts.append(batch.here)
        return np.concatenate(parts)

    def _record(self, batch: _Batch) -> None:
        started = time.perf_counter()
        vectors = self._vectors(batch)
        self.seconds += time.perf_counter() - started
        start = 0
        for track_id, track in zip(batch.track_ids, batch.tracks):
            candidates = list(track.candidates.values())
            n = len(candidates)
            best_at = max(range(n), key=lambda k: candidates[k].quality)
            self._done.append(TrackEmbedding(
                track_id=track_id, first_s=track.first_s, last_s=track.last_s,
                observations=track.observations,
                embedding=unit_rows(vectors[start:start + n].mean(axis=0, keepdims=True))[0],
                samples=n,
                quality=float(np.mean([c.quality for c in candidates])),
                face_px=max(c.height for c in candidates),
                **({"thumbnail": encode_thumbnail(batch.chips[start + best_at]),
                    "thumbnail_quality": candidates[best_at].quality,
                    "thumbnail_s": candidates[best_at].time_s} if self.keep_thumbnails else {}),
            ))
            start += n


@dataclass
class _Batch:
    """Chips of ended tracks, in track order; the helper embeds the first ``remote.count``."""

    track_ids: list[int]
    tracks: list[_LiveTrack]
    chips: np.ndarray
    remote: Pending | None
    here: np.ndarray | None  # the vectors of the other chips, computed in this process
