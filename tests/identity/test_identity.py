"""Tests for emotion_core/identity/ (sampling, people): sampling a bounded number of chips per
track, joining tracks into people without ever joining two seen at once, and the global match to
the roster."""

from __future__ import annotations

import numpy as np
import pytest
from support.tracks import THRESHOLD, THRESHOLDS, CountingEmbedder, direction, faces_at, near

from emotion_core.identity.embedders import unit_rows
from emotion_core.identity.people import (
    RosterReferences,
    group_tracks,
    identify,
    match_roster,
    students_of,
)
from emotion_core.identity.sampling import TrackEmbedding, TrackSampler, face_quality


def track(track_id: int, vector: np.ndarray, first_s: float, last_s: float) -> TrackEmbedding:
    return TrackEmbedding(track_id, first_s, last_s, 4, vector, samples=3, quality=0.9)


# -- quality and sampling -------------------------------------------------------------------------


def test_larger_frontal_confident_faces_have_higher_quality() -> None:
    faces = faces_at(0.0, [(0, 0, 20, 20), (0, 0, 80, 80), (0, 0, 160, 160)], [1, 2, 3])
    q = face_quality(faces)
    assert q[0] < q[1] == q[2] == pytest.approx(1.0)
    turned = faces.landmarks.copy()
    turned[:, 2, 0] = faces.landmarks[:, 1, 0]  # the nose under the right eye: turned aside
    from dataclasses import replace

    assert (face_quality(replace(faces, landmarks=turned)) < q).all()


def test_a_long_track_is_embedded_a_bounded_number_of_times() -> None:
    """A face seen in 200 frames costs at most ``per_track`` embeddings, made when it ends."""
    embedder = CountingEmbedder()
    sampler = TrackSampler(embedder, per_track=3, spacing_s=1.0, max_gap_s=2.0)
    image = np.full((100, 100, 3), 200, np.uint8)
    for step in range(200):
        t = step * 0.5
        sampler.add(image, faces_at(t, [(10, 10, 40 + step % 5, 40 + step % 5)], [1]))
        sampler.flush(t)
    assert embedder.embedded == [], "a live track is not embedded yet"
    tracks = sampler.finish()
    assert [t.track_id for t in tracks] == [1]
    # windows double as the track grows: between half and all of per_track are kept
    assert 2 <= tracks[0].samples <= 3 and embedder.embedded == [tracks[0].samples]
    assert tracks[0].observations == 200
    assert (tracks[0].first_s, tracks[0].last_s) == (0.0, 99.5)
    # chips are cut only for faces that become candidates, not for every frame
    assert embedder.chips_cut < 200 / 4


def test_the_chips_kept_are_spread_over_the_whole_track() -> None:
    """The best face of each part of the track, not the first few: expressions change."""
    embedder = CountingEmbedder()
    sampler = TrackSampler(embedder, per_track=4, spacing_s=1.0)
    for step in range(120):  # 60 s; the face is brighter in each quarter of the lesson
        image = np.full((60, 60, 3), 40 + 50 * (step // 30), np.uint8)
        sampler.add(image, faces_at(step * 0.5, [(10, 10, 50, 50)], [1]))
    live = sampler._live[1]
    times = sorted(c.time_s for c in live.candidates.values())
    assert len(times) >= 3
    assert times[0] < 15 and times[-1] >= 45, times
    brightness = {int(c.crop.mean()) for c in live.candidates.values()}
    assert len(brightness) >= 3, "chips from different quarters"


def test_tracks_are_embedded_once_they_end_and_co_occurrence_is_kept() -> None:
    embedder = CountingEmbedder()
    sampler = TrackSampler(embedder, per_track=2, max_gap_s=2.0)
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, 50:] = 255
    sampler.add(image, faces_at(0.0, [(0, 0, 20, 20), (60, 0, 80, 20)], [1, 2]))
    sampler.add(image, faces_at(0.5, [(60, 0, 80, 20)], [2]))
    sampler.flush(1.9)
    assert embedder.embedded == [], "track 1 was seen 1.9 s ago: not over yet"
    sampler.flush(2.1)
    assert embedder.embedded == [1], "track 1 ended: its one chip embedded"
    sampler.add(image, faces_at(3.0, [(0, 0, 20, 20)], [3]))
    tracks = sampler.finish()
    assert [t.track_id for t in tracks] == [1, 2, 3]
    assert sampler.co_occurring == {(1, 2)}
    # track 2's two faces were 0.5 s apart, closer than spacing_s: the better one is kept
    assert sampler.faces_embedded == 3


# -- joining tracks within a video ------------------------------------------------------------------


def test_tracks_of_one_person_are_joined_and_two_people_kept_apart() -> None:
    a, b = direction(1), direction(2)
    tracks = [
        track(1, near(a, 1), 0, 10), track(2, near(b, 2), 0, 10),
        # both leave and come back: new tracks
        track(3, near(a, 3), 14, 30), track(4, near(b, 4), 15, 30),
    ]
    groups = group_tracks(tracks, {(1, 2), (3, 4), (1, 4), (2, 3)}, THRESHOLD)
    assert sorted(sorted(tracks[i].track_id for i in g) for g in groups) == [[1, 3], [2, 4]]


def test_tracks_seen_in_the_same_frame_are_never_joined_however_alike() -> None:
    """Twins, or a look-alike: one vector for both, but they were seen at once."""
    a = direction(1)
    tracks = [track(1, a, 0, 10), track(2, a, 0, 10), track(3, near(a, 3), 12, 20)]
    groups = group_tracks(tracks, {(1, 2)}, THRESHOLD)
    joined = sorted(sorted(tracks[i].track_id for i in g) for g in groups)
    assert len(joined) == 2 and [1, 2] not in joined
    assert any(3 in g for g in joined) and sum(len(g) for g in joined) == 3


def test_a_group_never_takes_a_track_that_co_occurs_with_any_of_its_members() -> None:
    a = direction(1)
    # 1 and 2 are one person (never together); 3 was seen with 1, so it can join neither
    tracks = [track(1, a, 0, 5), track(2, near(a, 2), 6, 10), track(3, near(a, 3), 0, 5)]
    groups = group_tracks(tracks, {(1, 3)}, THRESHOLD)
    for g in groups:
        ids = {tracks[i].track_id for i in g}
        assert not {1, 3} <= ids


def test_different_people_are_not_joined() -> None:
    tracks = [track(i, direction(i), 10 * i, 10 * i + 5) for i in range(1, 6)]
    assert len(group_tracks(tracks, set(), THRESHOLD)) == 5


# -- the roster -------------------------------------------------------------------------------------


def test_people_are_matched_to_the_roster_in_one_global_assignment() -> None:
    a, b, c = direction(1), direction(2), direction(3)
    roster = RosterReferences("m", np.array([10, 20]), np.stack([a, b]))
    # person 0 is a bit closer to b than to a, but person 1 is b for sure: globally 0->a, 1->b
    p0 = unit_rows((a + 0.9 * b)[None])[0]
    matched = match_roster(np.stack([p0, near(b, 1), c]), roster, threshold=0.6)
    assert [m[0] for m in matched] == [10, 20, None]


def test_a_roster_student_takes_at_most_one_person_of_a_video() -> None:
    a = direction(1)
    roster = RosterReferences("m", np.array([7]), a[None])
    matched = match_roster(np.stack([near(a, 1), near(a, 2)]), roster, THRESHOLD)
    assert sorted(m[0] is None for m in matched) == [False, True]


def test_nobody_is_matched_beyond_the_threshold() -> None:
    roster = RosterReferences("m", np.array([7]), direction(1)[None])
    assert match_roster(direction(2)[None], roster, THRESHOLD) == [(None, None)]
    assert match_roster(direction(2)[None], RosterReferences.empty("m"), THRESHOLD) == [(None, None)]


def test_identify_joins_then_matches() -> None:
    a, b = direction(1), direction(2)
    roster = RosterReferences("m", np.array([5]), a[None])
    tracks = [track(1, near(a, 1), 0, 5), track(2, near(a, 2), 8, 12), track(3, b, 0, 12)]
    people = identify(tracks, {(1, 3), (2, 3)}, roster, THRESHOLDS)
    by_tracks = {p.track_ids: p.student_id for p in people}
    assert by_tracks == {(1, 2): 5, (3,): None}


def test_somebody_new_seen_in_a_frame_or_two_stays_anonymous() -> None:
    """A box caught between two people crossing, seen once, is no new student."""
    a, b, c = direction(1), direction(2), direction(3)
    roster = RosterReferences("m", np.array([5]), a[None])
    brief_known = TrackEmbedding(1, 0.0, 0.5, 1, near(a, 1), samples=1, quality=0.9)
    brief_new = TrackEmbedding(2, 3.0, 3.5, 2, b, samples=1, quality=0.9)
    # a new person whose two short tracks together make three frames
    pieces = [TrackEmbedding(3, 0.0, 0.5, 2, near(c, 3), samples=2, quality=0.9),
              TrackEmbedding(4, 6.0, 6.5, 1, near(c, 4), samples=1, quality=0.9)]
    tracks = [brief_known, brief_new, *pieces]
    people = identify(tracks, set(), roster, THRESHOLDS)
    kept = {p.track_ids: p.student_id for p in students_of(people, tracks)}
    assert kept == {(1,): 5, (3, 4): None}, "the known student is kept however briefly seen"
    assert {p.track_ids for p in students_of(people, tracks, min_new_frames=4)} == {(1,)}
    assert {p.track_ids for p in students_of(people, tracks, min_new_frames=1)} == {
        (1,), (2,), (3, 4)}
    # no new students at all: only the roster's
    assert {p.track_ids for p in students_of(people, tracks, add_new=False)} == {(1,)}
