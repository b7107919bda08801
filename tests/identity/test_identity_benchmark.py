"""The identity benchmark's scoring and replay, on made-up tracks (no models, no videos): three
lessons scored against the first, and stored tracks replayed in every order through the
library's matching and the store."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.identity import orders, replay_matches_pipeline, replay_students, score
from emotion_core.identity.sampling import TrackEmbedding
from emotion_core.identity.thresholds import IdentityThresholds

THRESHOLDS = IdentityThresholds(
    within_lesson=0.1, across_lessons=0.1, suggest_merge=0.2, min_face_px=0.0
)

PEOPLE = ["p0", "p1", "p2", "p3"]
RNG = np.random.default_rng(0)
FACES = {p: v / np.linalg.norm(v) for p, v in zip(PEOPLE, RNG.normal(size=(4, 16)))}


def lesson(split: str) -> tuple[tuple[list[TrackEmbedding], set[tuple[int, int]]], pd.DataFrame]:
    """Everyone seen in one track, ``split`` in two (left and came back); one face a track."""
    tracks, rows = [], []
    for person in PEOPLE:
        for _ in range(2 if person == split else 1):
            n = len(tracks) + 1
            noisy = FACES[person] + RNG.normal(scale=0.01, size=16)
            # seen in 4 frames: enough to become a new student (AnalysisSettings)
            tracks.append(TrackEmbedding(n, 0.0, 1.0, 4, (noisy / np.linalg.norm(noisy))
                                         .astype(np.float32), 3, 1.0))
            rows.append({"frame_index": n, "person": person, "emotion": "happy", "width": 40.0,
                         "student_id": None, "track_id": n, "top_emotion": "happy"})
    together = {(a.track_id, b.track_id) for a in tracks for b in tracks
                if a.track_id < b.track_id and rows[a.track_id - 1]["person"]
                != rows[b.track_id - 1]["person"]}
    return (tracks, together), pd.DataFrame(rows)


def labelled(ids: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"frame_index": range(len(ids)), "person": list(ids),
                         "emotion": "happy", "width": 40.0, "student_id": list(ids.values()),
                         "track_id": range(len(ids)), "top_emotion": "happy"})


def test_later_lessons_are_scored_against_the_first() -> None:
    a = labelled({"p0": 1, "p1": 2, "p2": 3})
    c = labelled({"p0": 1, "p1": 3, "p2": 2})
    report = score(a, a, c)
    assert report["reid_accuracy_by_lesson"] == {"B": 1.0, "C": round(1 / 3, 4)}
    assert report["reid_accuracy"] == round(4 / 6, 4)
    assert report["persons_reidentified"] == 1
    assert report["persons_reidentified_by_lesson"] == {"B": 3, "C": 1}
    assert {(m["lesson"], m["person"]) for m in report["reid_misses"]} == {
        ("C", "p1"), ("C", "p2")}
    assert report["per_person"]["p1"]["student_c"] == 3
    assert report["off_main_id_tracks"] == []
    # one face of p0 under a new id in a track of its own: a switch there and back
    stray = pd.concat([labelled({"p0": 1}), labelled({"p0": 1}), labelled({"p0": 5})])
    stray = stray.assign(frame_index=[0, 2, 1], track_id=[0, 0, 7])
    strayed = score(a, stray)
    assert strayed["id_switches_by_lesson"] == {"A": 0, "B": 2}
    assert strayed["off_main_id_tracks"] == [{
        "lesson": "B", "person": "p0", "track_id": 7, "faces": 1, "student_id": 5, "main_id": 1,
        "width": 40.0}]
    # two lessons: the numbers the benchmark always had
    two = score(a, c)
    assert two["reid_accuracy"] == round(1 / 3, 4) and set(two["matched_faces"]) == {"A", "B"}
    assert score(c, a, a, labels=["C", "A", "B"])["reid_accuracy_by_lesson"]["A"] == round(
        1 / 3, 4)


def test_every_order_replays_one_id_per_person() -> None:
    made = [lesson(split) for split in ("p0", "p1", "p2")]
    videos, seen = [v for v, _ in made], [s for _, s in made]
    every = orders(videos, seen, thresholds=THRESHOLDS)
    assert set(every["by_order"]) == {"ABC", "ACB", "BAC", "BCA", "CAB", "CBA"}
    for scored in every["by_order"].values():
        assert scored["reid_accuracy"] == 1.0 and scored["students_per_person"] == 1.0
        assert scored["id_switches"] == 0 and scored["students"] == 4
    assert every["worst"]["reid_accuracy"]["value"] == 1.0

    # ids numbered as the store numbers new students: 1, 2, ... in order of creation
    students = replay_students(videos, thresholds=THRESHOLDS)
    assert sorted(set(students[0].values())) == [1, 2, 3, 4]
    same = replay_matches_pipeline(videos, students, thresholds=THRESHOLDS)
    assert same["same_id"] == same["tracks"] == 15 and same["differing"] == []
    students[2][1] = 99
    assert replay_matches_pipeline(videos, students, thresholds=THRESHOLDS)["differing"] == [
        {"lesson": "C", "track_id": 1, "stored": 99, "replayed": students[0][1]}]
