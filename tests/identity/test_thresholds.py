"""The identity thresholds (identity/thresholds.py): read from one place, and faces too small to
identify never make or match a student on their own."""

from __future__ import annotations

import numpy as np
import pytest
from support.tracks import CountingEmbedder, direction, faces_at, near

from emotion_core.identity.embedders import DeepFaceEmbedder, DlibEmbedder
from emotion_core.identity.people import RosterReferences, identify, students_of
from emotion_core.identity.sampling import TrackEmbedding, TrackSampler
from emotion_core.identity.thresholds import DLIB, VGG_FACE, IdentityThresholds, thresholds_for

SMALL_FACES = IdentityThresholds(
    within_lesson=0.1, across_lessons=0.1, suggest_merge=0.2, min_face_px=24.0
)


def test_each_embedder_reads_its_thresholds_from_the_one_table() -> None:
    assert DlibEmbedder.thresholds is thresholds_for("Dlib") is DLIB
    assert DeepFaceEmbedder.thresholds is thresholds_for("VGG-Face") is VGG_FACE
    with pytest.raises(ValueError, match="no identity thresholds"):
        thresholds_for("Facenet")
    # a false merge mixes two children's records: matching across lessons is never looser
    # than suggesting a merge, which a person confirms
    for t in (DLIB, VGG_FACE):
        assert t.across_lessons <= t.suggest_merge and t.min_face_px > 0
    with pytest.raises(ValueError):
        IdentityThresholds(within_lesson=0.1, across_lessons=0.2, suggest_merge=0.1,
                           min_face_px=20)


def test_one_distance_overrides_joining_and_matching() -> None:
    swept = DLIB.at_distance(0.5)
    assert (swept.within_lesson, swept.across_lessons) == (0.5, 0.5)
    assert swept.suggest_merge >= 0.5 and swept.min_face_px == DLIB.min_face_px


def test_a_tiny_face_never_creates_a_student() -> None:
    """A child seen only at 16 px stays anonymous however long; at 30 px they become one."""
    a, b = direction(1), direction(2)
    tiny = TrackEmbedding(1, 0.0, 60.0, 100, a, samples=3, quality=0.5, face_px=16.0)
    big = TrackEmbedding(2, 0.0, 60.0, 100, b, samples=3, quality=0.9, face_px=30.0)
    people = identify([tiny, big], {(1, 2)}, RosterReferences.empty("m"), SMALL_FACES)
    assert [p.track_ids for p in students_of(people, [tiny, big])] == [(2,)]


def test_a_tiny_face_is_not_matched_to_a_known_student() -> None:
    """Small, blurred faces are close to everyone: a 16 px face near a student's reference
    is still nobody's."""
    a = direction(1)
    roster = RosterReferences("m", np.array([5]), a[None])
    tiny = TrackEmbedding(1, 0.0, 60.0, 100, near(a, 1), samples=3, quality=0.5, face_px=16.0)
    assert identify([tiny], set(), roster, SMALL_FACES) == []
    same_at_size = TrackEmbedding(1, 0.0, 60.0, 100, near(a, 1), 3, 0.9, face_px=24.0)
    [person] = identify([same_at_size], set(), roster, SMALL_FACES)
    assert person.student_id == 5


def test_the_sampler_embeds_only_faces_large_enough_to_identify() -> None:
    """A track seen small and then large is identified by its large sightings; a track never
    larger than the limit is not embedded at all."""
    embedder = CountingEmbedder()
    sampler = TrackSampler(embedder, per_track=3, spacing_s=1.0, min_face_px=24.0)
    image = np.full((200, 200, 3), 120, np.uint8)
    for step in range(20):
        t = step * 0.5
        grown = 16 if step < 10 else 40  # track 1 comes closer half-way
        sampler.add(image, faces_at(t, [(10, 10, 10 + grown, 10 + grown),
                                        (100, 100, 116, 116)], [1, 2]))
    tracks = sampler.finish()
    assert [t.track_id for t in tracks] == [1]
    assert tracks[0].face_px == 40.0
    assert sampler.tracks_too_small == 1
    assert sum(embedder.embedded) == tracks[0].samples, "no 16 px chip was embedded"


def test_a_person_matches_only_a_student_clearly_nearer_than_the_others() -> None:
    """Two look-alike students both under the threshold: a newcomer between them is new; a
    returning child much nearer one of them is that one."""
    a, b = direction(1), direction(2)
    twin_b = near(a, 7, spread=0.15)  # a look-alike of a
    roster = RosterReferences("m", np.array([5, 6, 7]), np.stack([a, twin_b, b]))
    between = near(a + twin_b, 8, spread=0.01)
    returning = near(a, 9, spread=0.02)
    strict = IdentityThresholds(within_lesson=0.1, across_lessons=0.1, suggest_merge=0.2,
                                min_face_px=0.0, clearly_nearest=0.8)
    tracks = [TrackEmbedding(1, 0.0, 60.0, 100, between, 3, 0.9),
              TrackEmbedding(2, 0.0, 60.0, 100, returning, 3, 0.9)]
    by_track = {p.track_ids: p.student_id for p in identify(tracks, {(1, 2)}, roster, strict)}
    assert by_track == {(1,): None, (2,): 5}
    # without the rule the newcomer takes the look-alike's place
    lax = IdentityThresholds(within_lesson=0.1, across_lessons=0.1, suggest_merge=0.2,
                             min_face_px=0.0)
    by_track = {p.track_ids: p.student_id for p in identify(tracks, {(1, 2)}, roster, lax)}
    assert by_track[(1,)] == 6


def test_smaller_faces_are_held_to_a_stricter_distance() -> None:
    sized = IdentityThresholds(within_lesson=0.05, across_lessons=0.08, suggest_merge=0.1,
                               min_face_px=20.0, across_smaller=((20.0, 0.04), (40.0, 0.06)))
    assert sized.across_at(None) == sized.across_at(200.0) == 0.08
    assert sized.across_at(20.0) == 0.04 and sized.across_at(30.0) == pytest.approx(0.05)
    assert sized.across_at(60.0) == pytest.approx(0.07)  # half-way from 40 px to 80 px
    with pytest.raises(ValueError, match="ascending"):
        IdentityThresholds(0.05, 0.08, 0.1, 20.0, across_smaller=((40.0, 0.06), (20.0, 0.04)))
    # a returning child 0.05 from their reference: known at 100 px, new at 25 px
    a = direction(1)
    roster = RosterReferences("m", np.array([5]), a[None])
    close = near(a, 2, spread=float(np.sqrt(2 * 0.05)))
    for face_px, expected in ((100.0, 5), (25.0, None)):
        track = TrackEmbedding(1, 0.0, 60.0, 100, close, 3, 0.9, face_px=face_px)
        [person] = identify([track], set(), roster, sized)
        assert person.student_id == expected, face_px
