"""Associating faces frame to frame into tracks within one video."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_core.core.geometry import iou_matrix
from emotion_core.core.types import Faces


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    last_seen_s: float
    hits: int = 1


class IoUTracker:
    """Gives each face the id of the live track its box overlaps most.

    Matching is greedy on IoU, best pair first, one face per track. A track that is not seen for
    more than ``max_gap_s`` ends; a face that matches no track starts a new one.

    Tracks stay pure rather than long: where overlap alone cannot tell who is who (a face that
    also overlaps another live track by ``split_iou`` or more, or a track that another face
    overlaps that much, as when two people cross), the tracks involved end there and the faces
    start new ones. Telling those short tracks apart is left to appearance (``identity/``).
    For the same reason a track seen in fewer than ``min_hits`` frames is not looked for again
    after a frame that misses it: such a track is often one born while people crossed, and the
    box it left behind is soon where the other person is.
    """

    def __init__(
        self, min_iou: float = 0.3, max_gap_s: float = 2.0, split_iou: float = 0.1,
        min_hits: int = 3,
    ) -> None:
        self.min_iou = min_iou
        self.max_gap_s = max_gap_s
        self.split_iou = split_iou
        self.min_hits = min_hits
        self._previous_s: float | None = None  # the time of the last update
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def tracks_started(self) -> int:
        return self._next_id - 1

    def update(self, faces: Faces) -> Faces:
        now = faces.time_s
        previous, self._previous_s = self._previous_s, now
        self._tracks = [
            t for t in self._tracks
            if now - t.last_seen_s <= self.max_gap_s
            and (t.hits >= self.min_hits or previous is None or t.last_seen_s >= previous)
        ]
        track_boxes = np.array([t.box for t in self._tracks], dtype=np.float32).reshape(-1, 4)
        overlap = iou_matrix(faces.boxes, track_boxes)
        ids = np.zeros(len(faces), dtype=np.int64)
        taken_faces: set[int] = set()
        taken_tracks: set[int] = set()
        ended: set[int] = set()  # indexes into self._tracks of tracks ended as ambiguous
        for flat in np.argsort(-overlap, axis=None):
            face, track = divmod(int(flat), overlap.shape[1])
            if overlap[face, track] < self.min_iou:
                break
            if face in taken_faces or track in taken_tracks:
                continue
            taken_faces.add(face)
            taken_tracks.add(track)
            if self._ambiguous(overlap, face, track):
                taken_faces.discard(face)
                ended.add(track)
                continue
            ids[face] = self._tracks[track].track_id
            self._tracks[track].box = faces.boxes[face]
            self._tracks[track].last_seen_s = now
            self._tracks[track].hits += 1
        self._tracks = [t for i, t in enumerate(self._tracks) if i not in ended]
        for face in range(len(faces)):
            if face not in taken_faces:
                ids[face] = self._next_id
                self._tracks.append(_Track(self._next_id, faces.boxes[face], now))
                self._next_id += 1
        return faces.with_track_ids(ids)

    def _ambiguous(self, overlap: np.ndarray, face: int, track: int) -> bool:
        """Whether ``face`` also overlaps another track, or ``track`` another face."""
        if overlap.shape[1] > 1:
            others = np.delete(overlap[face], track)
            if others.max() >= self.split_iou:
                return True
        if overlap.shape[0] > 1:
            others = np.delete(overlap[:, track], face)
            if others.max() >= self.split_iou:
                return True
        return False
