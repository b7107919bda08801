"""What an analysis hands the store: the video it analysed, who its tracks are, and its totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd


@dataclass(frozen=True)
class VideoRecord:
    """What is known about a video before its analysis starts."""

    file_name: str
    content_sha256: str
    size_bytes: int
    duration_s: float
    fps: float
    width: int
    height: int
    class_group: str | None = None
    recorded_on: date | None = None


# What ``finish_analysis`` needs to record who is who (see ``TrackIdentities``).
TRACK_IDENTITY_COLUMNS: tuple[str, ...] = (
    "track_id", "person", "student_id", "first_s", "last_s", "samples", "quality", "embedding",
)


@dataclass(frozen=True)
class TrackIdentities:
    """Who each track of an analysis is, written with its observations.

    ``tracks`` has one row per track, in ``TRACK_IDENTITY_COLUMNS``: ``person`` numbers the
    people of the video (tracks with one number are one person), ``student_id`` is the known
    student that person is, or missing (NA) for a new student, and ``embedding`` is the track's
    reference vector (a list of floats) of ``model``.

    ``thumbnails`` (only when the analysis keeps them) has at most one row per person, in
    ``TRACK_THUMBNAIL_COLUMNS``: the JPEG of the person's best face chip.
    """

    model: str
    tracks: pd.DataFrame
    thumbnails: pd.DataFrame | None = None


TRACK_THUMBNAIL_COLUMNS: tuple[str, ...] = ("person", "track_id", "observed_at_s", "quality", "jpeg")


@dataclass(frozen=True)
class AnalysisSummary:
    frames_sampled: int
    faces: int
    tracks: int
    seconds: float
    emotion_model: str
    detector: str
