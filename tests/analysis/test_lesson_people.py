"""analysis/lesson_people.py: joining a lesson's tracks into people where it is analysed and
matching them to the roster where it is written gives the people ``identity.identify`` gives
in one step, small tracks left out and people seen together kept apart."""

from __future__ import annotations

import numpy as np

from emotion_core.analysis.lesson_people import group_people, match_people
from emotion_core.identity.embedders import unit_rows
from emotion_core.identity.people import RosterReferences, identify
from emotion_core.identity.sampling import TrackEmbedding
from emotion_core.identity.thresholds import DLIB

DIMENSION = 128


def lesson(seed: int) -> tuple[list[TrackEmbedding], set[tuple[int, int]], RosterReferences]:
    """Tracks of six people (two tracks each, one of them too small to identify), pairs seen
    in one frame, and a roster that knows three of the people."""
    rng = np.random.default_rng(seed)
    people = unit_rows(rng.normal(size=(6, DIMENSION)))
    tracks = []
    for track_id in range(12):
        person = people[track_id % 6]
        vector = unit_rows((person + rng.normal(scale=0.01, size=DIMENSION))[None])[0]
        face_px = 12.0 if track_id == 7 else 40.0 + track_id
        tracks.append(TrackEmbedding(track_id, track_id, track_id + 1.0, 5, vector,
                                     samples=1 + track_id % 3, quality=0.8, face_px=face_px))
    together = {(0, 1), (2, 8), (1, 7)}  # track 8 is person 2 again, but seen beside track 2
    roster = RosterReferences("Dlib", np.array([11, 12, 13]), people[[4, 0, 5]])
    return tracks, together, roster


def test_grouping_then_matching_gives_the_people_identify_gives() -> None:
    for seed in range(5):
        tracks, together, roster = lesson(seed)
        grouped = group_people(tracks, together, "Dlib", DLIB)
        assert match_people(grouped, roster) == identify(tracks, together, roster, DLIB)


def test_each_person_has_their_tracks_embeddings_and_the_small_ones_none() -> None:
    tracks, together, roster = lesson(0)
    grouped = group_people(tracks, together, "Dlib", DLIB)
    assert 7 not in {t.track_id for t in grouped.tracks}, "too small to tell who it is"
    assert sorted(t for g in grouped.groups for t in g) == [t for t in range(12) if t != 7]
    assert (2, 8) not in grouped.groups and len(grouped.groups) == 7
    assert grouped.centroids.shape == (7, DIMENSION)
    people = match_people(grouped, roster)
    assert sorted(p.student_id for p in people if p.student_id is not None) == [11, 12, 13]
