"""The dashboard's queries on a small database written through the store, numbers worked by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.store_rows import identities, student_of

from emotion_core.core.labels import EMOTIONS
from emotion_core.store import queries
from emotion_core.store.records import AnalysisSummary, TrackIdentities, VideoRecord
from emotion_core.store.schema import OBSERVATION_COLUMNS
from emotion_core.store.store import Store


def one_hot(emotion: str) -> list[float]:
    return [1.0 if e == emotion else 0.0 for e in EMOTIONS]


# a face that could not be read, in ``add_lesson``: 12 px high, no emotion
SMALL = None
# one looking down at the desk: large enough, but no emotion either
LOOKING_DOWN = "looking down"
READABILITY = {"min_face_px": 20.0, "max_yaw_deg": 40.0, "max_pitch_deg": 30.0}


def face_row(video_id: int, frame: int, t: float, track: int, emotion: str | None) -> list:
    if emotion is SMALL:
        return [video_id, frame, t, track, None, 0.0, 0.0, 12.0, 12.0, 0.9,
                *[None] * len(EMOTIONS), None, 12.0, 3.0, 5.0, 0.05, False]
    if emotion == LOOKING_DOWN:
        return [video_id, frame, t, track, None, 0.0, 0.0, 30.0, 30.0, 0.9,
                *[None] * len(EMOTIONS), None, 30.0, 3.0, 55.0, 0.05, False]
    return [video_id, frame, t, track, None, 0.0, 0.0, 30.0, 30.0, 0.99, *one_hot(emotion),
            emotion, 30.0, 0.0, 0.0, 0.1, True]


def add_lesson(
    store: Store, name: str, group: str | None, on: date | None,
    faces: list[tuple[int, float, int, str | None]],  # (frame index, time s, track, emotion)
    people: TrackIdentities | None = None,
) -> int:
    video_id = store.begin_analysis(
        VideoRecord(name, f"sha-{name}", 1000, 60.0, 10.0, 640, 360, group, on),
        {"sample_fps": 2.0, "readability": READABILITY},
    )
    rows = pd.DataFrame([face_row(video_id, *face) for face in faces],
                        columns=list(OBSERVATION_COLUMNS))
    rows["student_id"] = rows["student_id"].astype("Int64")
    store.stage_observations(rows)
    store.finish_analysis(video_id, AnalysisSummary(len({f[0] for f in faces}), len(faces),
                                                    len({f[2] for f in faces}), 1.0, "m", "d"),
                          people)
    return video_id


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "q.duckdb") as store:
        yield store


def test_lessons_one_row_each_with_shares_and_mood_index(store: Store) -> None:
    first = add_lesson(store, "a.mp4", "7B", date(2026, 3, 2), [
        (0, 0.0, 1, "happy"), (0, 0.0, 2, "sad"), (5, 2.5, 1, "happy"), (5, 2.5, 2, "neutral"),
    ])
    add_lesson(store, "b.mp4", None, None, [(0, 0.0, 1, "angry")])
    lessons = queries.lessons(store)
    assert list(lessons["video_id"]) == [first, first + 1]  # dated first, then today's
    a = lessons.iloc[0]
    assert (a["happy"], a["sad"], a["neutral"]) == (0.5, 0.25, 0.25)
    assert a["mood_index"] == pytest.approx(0.5 - 0.25)
    assert a["top_emotion"] == "happy" and a["tracks"] == 2 and a["faces_per_frame"] == 2
    assert lessons.iloc[1]["class_group"] == queries.NO_GROUP
    assert lessons.iloc[1]["lesson_date"] == date.today()  # no date given: the day analysed
    assert queries.class_groups(store) == sorted(["7B", queries.NO_GROUP])
    assert list(queries.lessons(store, "7B")["file_name"]) == ["a.mp4"]
    assert list(queries.lessons(store, queries.NO_GROUP)["file_name"]) == ["b.mp4"]
    assert queries.lessons(store, "7B", date(2026, 3, 3)).empty
    assert len(queries.lessons(store, None, date(2026, 3, 2), date(2026, 3, 2))) == 1


def test_timeline_bins_lesson_time_and_shares_sum_to_one(store: Store) -> None:
    video_id = add_lesson(store, "a.mp4", "7B", None, [
        (0, 0.0, 1, "happy"), (0, 0.0, 2, "sad"), (3, 1.5, 1, "happy"), (9, 4.5, 1, "fear"),
    ])
    timeline = queries.emotion_timeline(store, [video_id], 2.0)
    assert list(timeline["emotion"].cat.categories) == list(EMOTIONS)
    wide = timeline.pivot(index="bin_start_s", columns="emotion", values="share")
    assert list(wide.index) == [0.0, 4.0]
    assert np.allclose(wide.sum(axis=1), 1.0)
    assert wide.loc[0.0, "happy"] == pytest.approx(2 / 3)
    assert wide.loc[4.0, "fear"] == 1.0
    assert set(timeline["bin_end_s"] - timeline["bin_start_s"]) == {2.0}
    assert queries.emotion_timeline(store, [video_id + 99], 2.0).empty


def test_bin_width_is_round_and_keeps_bins_few() -> None:
    assert queries.bin_seconds(30) == 2
    assert queries.bin_seconds(45 * 60) == 60
    assert queries.bin_seconds(10 * 3600) == 600
    assert queries.bin_seconds(20 * 3600) == 1800
    for duration in (1, 59, 600, 2700, 5400):
        assert duration / queries.bin_seconds(duration) <= queries.MAX_BINS


def test_frames_to_show_the_busiest_frame_of_each_stretch(store: Store) -> None:
    faces = [(f, f / 10, 1, "happy") for f in range(0, 60, 10)] + [
        (10, 1.0, 2, "sad"), (10, 1.0, 3, "sad"), (50, 5.0, 2, "sad"),
    ]
    video_id = add_lesson(store, "a.mp4", None, None, faces)
    assert queries.frames_to_show(store, video_id, 3) == [10, 20, 50]
    shown = queries.frame_faces(store, video_id, [10])
    assert list(shown["who"]) == ["track 1", "track 2", "track 3"]
    assert queries.frames_to_show(store, video_id + 1) == []


def test_data_version_changes_when_a_lesson_lands(store: Store) -> None:
    before = queries.data_version(store)
    add_lesson(store, "a.mp4", None, None, [(0, 0.0, 1, "happy")])
    assert queries.data_version(store) != before


def test_unanalysed_lists_the_failed_with_their_reason(store: Store) -> None:
    video_id = store.begin_analysis(
        VideoRecord("x.mp4", "sha-x", 1, 1.0, 1.0, 1, 1), {"sample_fps": 2.0}
    )
    store.fail_analysis(video_id, "the file looks truncated")
    failed = queries.unanalysed(store)
    assert list(failed["status"]) == ["failed"]
    assert list(failed["failure_reason"]) == ["the file looks truncated"]


def test_faces_that_could_not_be_read_count_as_faces_but_not_in_the_shares(store: Store) -> None:
    video_id = add_lesson(store, "a.mp4", "7B", None, [
        (0, 0.0, 1, "happy"), (0, 0.0, 2, SMALL), (0, 0.0, 3, LOOKING_DOWN),
        (5, 2.5, 1, "sad"), (5, 2.5, 2, SMALL), (9, 4.5, 2, SMALL),
    ])
    lesson = queries.lessons(store).iloc[0]
    assert (lesson["observations"], lesson["readable_faces"]) == (6, 2)
    assert (lesson["happy"], lesson["sad"], lesson["neutral"]) == (0.5, 0.5, 0.0)
    assert lesson["mood_index"] == pytest.approx(0.0)
    assert lesson["faces_per_frame"] == 2  # every face seen counts: 6 in 3 frames
    # the bin of 4.5 s holds only a face that could not be read: no share to show there
    timeline = queries.emotion_timeline(store, [video_id], 2.0)
    assert sorted(timeline["bin_start_s"].unique()) == [0.0, 2.0]
    assert set(timeline["observations"]) == {1}
    # every face is drawn, those not read without an emotion
    shown = queries.frame_faces(store, video_id, [0])
    assert shown["readable"].tolist() == [True, False, False]
    assert shown["top_emotion"].isna().tolist() == [False, True, True]
    counts = queries.readable_faces(store).iloc[0]
    assert (counts["faces"], counts["readable_faces"], counts["small_faces"]) == (6, 2, 3)
    assert json.loads(counts["readability"]) == READABILITY
    assert queries.readable_faces(store, [video_id + 1]).empty


def test_a_student_s_figures_are_over_their_readable_faces(store: Store) -> None:
    video_id = add_lesson(store, "a.mp4", "7B", None, [
        (0, 0.0, 1, "happy"), (0, 0.0, 2, "sad"), (5, 2.5, 1, LOOKING_DOWN),
        (5, 2.5, 2, "sad"),
    ], identities({0: (None, [1]), 1: (None, [2])}))
    student = student_of(store, video_id, 1)
    other = student_of(store, video_id, 2)
    profiles = queries.student_profiles(store).set_index("student_id")
    assert profiles.loc[student, ["observations", "readable_faces"]].tolist() == [2, 1]
    assert profiles.loc[student, "happy"] == 1.0 and profiles.loc[other, "sad"] == 1.0
    moods = queries.student_lesson_moods(store, student).iloc[0]
    assert (moods["observations"], moods["readable_faces"]) == (2, 1)
    assert moods["mood_index"] == 1.0
    assert moods["class_mood_index"] == pytest.approx(1 / 3 - 2 / 3)
    counts = queries.readable_faces(store, student_id=student).iloc[0]
    assert (counts["faces"], counts["readable_faces"], counts["small_faces"]) == (2, 1, 0)
