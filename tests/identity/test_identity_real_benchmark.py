"""benchmarks/identity_real.py's counting, on hand-made vectors whose distances are known: pairs
split by person, the shares at a threshold and at a false-match rate, the equal error rate, the
composed classes and the scoring of a replayed order."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.identity_real import (
    composed_classes,
    distance_at_fmr,
    equal_error_rate,
    pair_distances,
    score_order,
    verification,
)


def unit(angle_deg: float) -> np.ndarray:
    a = np.radians(angle_deg)
    return np.array([np.cos(a), np.sin(a)], np.float32)


def test_pairs_are_counted_once_and_split_by_person() -> None:
    # cosine distance of two unit vectors at angle t is 1 - cos(t)
    vectors = np.stack([unit(0), unit(60), unit(90), unit(180)])
    subjects = np.array(["a", "a", "b", "b"])
    same, different = pair_distances(vectors, subjects)
    np.testing.assert_allclose(sorted(same), [0.5, 1.0], atol=1e-6)  # a-a at 60, b-b at 90
    # a-b pairs at 90, 180, 30 and 120 degrees
    np.testing.assert_allclose(sorted(different), [1 - np.cos(np.radians(30)), 1.0, 1.5, 2.0],
                               atol=1e-6)


def test_shares_at_the_threshold_and_at_a_false_match_rate() -> None:
    same = np.array([0.01, 0.02, 0.03, 0.20])
    different = np.linspace(0.05, 1.0, 1000)  # 1,000 pairs, the closest at 0.05
    report = verification(same, different, threshold=0.025)
    assert report["same_pairs"] == 4 and report["different_pairs"] == 1000
    assert report["same_person_accepted"] == 0.5
    assert report["different_person_matched"] == 0.0
    # one false match in 1,000 allowed: pairs under the second-closest different pair match
    assert distance_at_fmr(different, 1e-3) == pytest.approx(different[1])
    assert report["accepted_at_fmr_1e-3"] == 0.75
    # one in 10,000 of 1,000 pairs allows none: the threshold is the closest different pair
    assert report["distance_at_fmr_1e-4"] == pytest.approx(0.05)
    assert report["accepted_at_fmr_1e-4"] == 0.75
    # at 0.2 a quarter of the same pairs is refused and 158 of the different pairs (those
    # under 0.2) accepted: the closest the two rates come
    assert report["eer"] == pytest.approx((0.25 + 0.158) / 2, abs=1e-3)
    with pytest.raises(ValueError):
        verification(np.array([]), different, 0.1)


def test_equal_error_rate_of_separated_and_mixed_sets() -> None:
    assert equal_error_rate(np.array([0.1, 0.2]), np.array([0.5, 0.6])) == 0.0
    # under 0.5: one same pair of four refused (0.6), one different pair of four accepted (0.4)
    mixed = equal_error_rate(np.array([0.1, 0.2, 0.3, 0.6]), np.array([0.4, 0.5, 0.7, 0.8]))
    assert mixed == pytest.approx(0.25)


def test_composed_classes_take_three_different_photos_of_people_with_three() -> None:
    subjects = np.array(["a", "a", "a", "b", "b", "c", "c", "c", "c", "d", "d", "d"])
    classes = composed_classes(subjects, class_size=2, seed=0)
    # a, c and d have three photos or more; b has two. Classes of two: one class, and the
    # one left over is no class
    assert len(classes) == 1
    assert len(set(subjects[classes[0][0]])) == 2
    assert set(subjects[classes[0][0]]) <= {"a", "c", "d"}
    for lessons in classes:
        assert len(lessons) == 3
        people = [subjects[photos].tolist() for photos in lessons]
        assert people[0] == people[1] == people[2], "the same people in each lesson"
        photos = np.stack(lessons)  # (3, members)
        assert all(len(set(column)) == 3 for column in photos.T), "a new photo each lesson"


def test_a_replayed_order_is_scored_against_its_first_lesson() -> None:
    owners = [np.array(["a", "b", "c"]), np.array(["a", "b", "c"]), np.array(["a", "b", "c"])]
    # lesson 2: a found again; b a new student; c anonymous. lesson 3: b and c merged into 2
    students = [{1: 1, 2: 2, 3: 3}, {1: 1, 2: 4}, {1: 1, 2: 2, 3: 2}]
    scored = score_order(students, owners)
    assert scored == {"later_tracks": 6, "reidentified": 3, "false_merges": 1, "anonymous": 1}
