"""Who the people of a lesson are: its tracks joined into people where the lesson is analysed,
those people matched to the roster where the database is, and the rows the store keeps.

On one machine ``pipeline.analyse_video`` does both at once (``identity.identify``). On a Ray
cluster a worker joins the tracks (``group_people``, the costly part, with no database) and the
driver, the one process holding the database, matches the people (``match_people``) against the
roster as it stands when the lesson is written, so lessons written in the same order meet the
same roster on either engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emotion_core.analysis.rows import track_identity_rows, track_thumbnail_rows
from emotion_core.analysis.settings import AnalysisSettings
from emotion_core.identity.people import (
    JoinedTracks,
    Person,
    RosterReferences,
    join_tracks,
    match_joined,
    students_of,
)
from emotion_core.identity.sampling import TrackEmbedding
from emotion_core.identity.thresholds import IdentityThresholds
from emotion_core.store.records import TrackIdentities
from emotion_core.store.store import Store


@dataclass(frozen=True)
class Identified:
    """Who the people of an analysed video are."""

    identities: TrackIdentities
    everyone: list[Person]  # all the people of the video
    people: list[Person]  # of those, the ones given a student (the others stay anonymous)
    faces_embedded: int
    seconds: float  # cutting chips, embedding, assigning


@dataclass(frozen=True)
class LessonPeople:
    """The people of one lesson before they meet the roster (``identity.JoinedTracks``), with
    the model and thresholds they were joined under and what joining them cost."""

    model: str  # the embedding model's name
    thresholds: IdentityThresholds
    joined: JoinedTracks
    faces_embedded: int
    seconds: float  # cutting chips, embedding, grouping

    @property
    def tracks(self) -> tuple[TrackEmbedding, ...]:
        return self.joined.tracks

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        return self.joined.groups

    @property
    def centroids(self) -> np.ndarray:
        return self.joined.centroids


def group_people(
    tracks: Sequence[TrackEmbedding],
    co_occurring: Iterable[tuple[int, int]],
    model: str,
    thresholds: IdentityThresholds,
    faces_embedded: int = 0,
    seconds: float = 0.0,
) -> LessonPeople:
    """The first half of ``identity.identify`` (``join_tracks``), where the lesson is
    analysed."""
    joined = join_tracks(tracks, co_occurring, thresholds)
    return LessonPeople(model, thresholds, joined, faces_embedded, seconds)


def match_people(people: LessonPeople, roster: RosterReferences) -> list[Person]:
    """The second half of ``identity.identify`` (``match_joined``), where the database is."""
    return match_joined(people.joined, roster, people.thresholds)


def lesson_roster(
    store: Store, video_id: int, class_group: str | None, model: str
) -> RosterReferences:
    """The students of ``model`` a lesson's people may be: those of its class group (the one
    given, else the one stored with the video) and those of no group."""
    stored_group = (store.video(video_id) or {}).get("class_group")
    group = class_group or (stored_group if isinstance(stored_group, str) else None)
    student_ids, centroids = store.reference_embeddings(model, group)
    return RosterReferences(model, student_ids, centroids)


def identified(
    everyone: list[Person],
    tracks: Sequence[TrackEmbedding],
    model: str,
    settings: AnalysisSettings,
    faces_embedded: int,
    seconds: float,
) -> Identified:
    """The people who are, or become, students (``identity.students_of``) and the rows the
    store keeps of them."""
    people = students_of(everyone, tracks, settings.identify_new_students,
                         settings.min_new_student_frames)
    identities = TrackIdentities(
        model, track_identity_rows(tracks, people),
        track_thumbnail_rows(tracks, people) if settings.store_thumbnails else None,
    )
    return Identified(identities, everyone, people, faces_embedded, seconds)
