"""Small typed values passed between the analysis stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, read before any frame is decoded."""

    path: Path
    width: int  # after rotation, as a person would see it
    height: int
    fps: float
    duration_s: float
    frame_count: int  # estimate: containers do not always know
    rotation: int  # degrees counter-clockwise applied for display (0, 90, 180, 270)
    codec: str
    size_bytes: int


@dataclass(frozen=True)
class Frame:
    """One decoded, sampled frame. ``image`` is (H, W, 3) uint8 RGB, already rotated upright."""

    index: int  # position among all decoded frames of the video
    time_s: float
    image: np.ndarray


def _empty(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


@dataclass(frozen=True)
class Faces:
    """The faces of one frame, as arrays aligned on the first axis (N faces).

    - ``boxes``: (N, 4) float32, x1, y1, x2, y2 in frame pixels
    - ``scores``: (N,) float32 detection confidence in [0, 1]
    - ``landmarks``: (N, 5, 2) float32: left eye, right eye, nose, mouth left, mouth right
    - ``emotions``: (N, 7) float32 probabilities in ``emotion.EMOTIONS`` order, once classified
    - ``track_ids``: (N,) int64, once tracked
    """

    frame_index: int
    time_s: float
    boxes: np.ndarray = field(default_factory=lambda: _empty((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: _empty((0,)))
    landmarks: np.ndarray = field(default_factory=lambda: _empty((0, 5, 2)))
    emotions: np.ndarray | None = None
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must be (N, 4), got {self.boxes.shape}")
        if self.scores.shape != (n,):
            raise ValueError(f"scores must be ({n},), got {self.scores.shape}")
        if self.landmarks.shape != (n, 5, 2):
            raise ValueError(f"landmarks must be ({n}, 5, 2), got {self.landmarks.shape}")
        if self.emotions is not None and self.emotions.shape != (n, 7):
            raise ValueError(f"emotions must be ({n}, 7), got {self.emotions.shape}")
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f"track_ids must be ({n},), got {self.track_ids.shape}")

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def widths(self) -> np.ndarray:
        return self.boxes[:, 2] - self.boxes[:, 0]

    def with_emotions(self, emotions: np.ndarray) -> Faces:
        return replace(self, emotions=np.asarray(emotions, dtype=np.float32))

    def with_track_ids(self, track_ids: np.ndarray) -> Faces:
        return replace(self, track_ids=np.asarray(track_ids, dtype=np.int64))

    def clipped_to(self, width: int, height: int, min_side: float = 2.0) -> Faces:
        """Boxes clipped to a width × height frame, without those left thinner than ``min_side``."""
        boxes = self.boxes.copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        keep = (boxes[:, 2] - boxes[:, 0] >= min_side) & (boxes[:, 3] - boxes[:, 1] >= min_side)
        return replace(self, boxes=boxes).select(keep)

    def select(self, keep: np.ndarray | Sequence[int] | Sequence[bool]) -> Faces:
        """The faces where the boolean mask ``keep`` is true, or at the indices ``keep``, in
        their order."""
        rows = np.asarray(keep)
        if rows.dtype != bool and rows.size == 0:
            rows = rows.astype(np.intp)  # NumPy makes floats of an empty list: no face
        return replace(
            self,
            boxes=self.boxes[rows],
            scores=self.scores[rows],
            landmarks=self.landmarks[rows],
            emotions=None if self.emotions is None else self.emotions[rows],
            track_ids=None if self.track_ids is None else self.track_ids[rows],
        )

    @classmethod
    def empty(cls, frame: Frame) -> Faces:
        """No face, in ``frame``."""
        return cls(frame.index, frame.time_s)

    @classmethod
    def concat(cls, frame: Frame, parts: Sequence[Faces]) -> Faces:
        """The faces of ``parts``, all of ``frame``, one after the other.

        Emotions and track ids are kept where every part has them, and left unset where none
        has; parts that disagree on that are an error, as are parts of another frame.
        """
        if any(p.frame_index != frame.index for p in parts):
            raise ValueError(f"faces of another frame than frame {frame.index}")
        if not parts:
            return cls.empty(frame)
        return cls(
            frame_index=frame.index,
            time_s=frame.time_s,
            boxes=np.concatenate([p.boxes for p in parts]).astype(np.float32, copy=False),
            scores=np.concatenate([p.scores for p in parts]).astype(np.float32, copy=False),
            landmarks=np.concatenate([p.landmarks for p in parts]).astype(np.float32, copy=False),
            emotions=_concat_optional("emotions", [p.emotions for p in parts], np.float32),
            track_ids=_concat_optional("track_ids", [p.track_ids for p in parts], np.int64),
        )


def _concat_optional(
    name: str, arrays: Sequence[np.ndarray | None], dtype: type
) -> np.ndarray | None:
    """The ``arrays`` one after the other when all are set, None when none is."""
    given = [a for a in arrays if a is not None]
    if not given:
        return None
    if len(given) < len(arrays):
        raise ValueError(f"some faces have {name} and some have not")
    return np.concatenate(given).astype(dtype, copy=False)


@dataclass(frozen=True)
class Progress:
    """How far an analysis has come; passed to progress callbacks."""

    frames_done: int
    frames_total: int  # estimate from the container's duration
    faces: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.frames_done / self.frames_total) if self.frames_total else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.frames_done == 0 or self.frames_total <= self.frames_done:
            return None
        return self.elapsed_s / self.frames_done * (self.frames_total - self.frames_done)
