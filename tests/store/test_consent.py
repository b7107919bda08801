"""The consent register and face thumbnails in a real DuckDB (roster.py, thumbnails.py and the
identity side of store.py): turning identification off keeps the class figures and nothing that
recognises the child; thumbnails are one per student, the best one, and go with the student and
the lesson."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.store_rows import analyse_tracks as analyse
from support.store_rows import (
    database_of_schema,
    identities,
    jpeg,
    observations,
    record,
    summary,
    vector,
    with_thumbnails,
)

from emotion_core.core.thumbnails import THUMBNAIL_PX, decode_thumbnail, encode_thumbnail
from emotion_core.store import queries
from emotion_core.store.records import TrackIdentities
from emotion_core.store.roster import RosterError
from emotion_core.store.schema import SCHEMA_VERSION
from emotion_core.store.store import Store
from emotion_core.store.thumbnails import delete_lesson_thumbnails

# a real face (NASA's astronaut Eileen Collins, public domain, shipped by scikit-image)


def count(store: Store, table: str, where: str = "true", params: list[object] | None = None) -> int:
    frame = store.query(f"SELECT count(*) AS n FROM {table} WHERE {where}", params or [])
    return int(frame["n"].iloc[0])


def add_alert(store: Store, video_id: int, student_id: int) -> None:
    """An alert about the student, stored the way the alert check stores one."""
    found = pd.DataFrame([{
        "alert_id": None, "rule": "sustained_negative", "video_id": video_id,
        "student_id": student_id, "window_start_s": 0.0, "window_end_s": 1.0,
        "summary": "read as sad for a while", "numbers": {"share": 0.9},
        "thresholds": {"share": 0.5},
    }])
    store.save_alert_check(found, [], inputs="test")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "consent.duckdb") as s:
        yield s


@pytest.fixture
def lesson(store: Store) -> tuple[int, list[int]]:
    """One lesson with three students (three tracks in each of four frames), thumbnails kept,
    and an alert about each."""
    ident = with_thumbnails(identities({0: (None, [1]), 1: (None, [2]), 2: (None, [3])}),
                            {0: 0.6, 1: 0.7, 2: 0.8})
    video = analyse(store, "a" * 64, 4, 3, ident)
    ids = [int(i) for i in store.students()["student_id"]]
    for sid in ids:
        add_alert(store, video, sid)
    return video, ids


# -- turning identification off -----------------------------------------------------------------


def test_a_student_is_identified_until_turned_off(store: Store, lesson: tuple[int, list[int]]) -> None:
    students = store.students()
    assert students["identification"].all()
    assert students["identification_changed_at"].isna().all()
    assert students["has_thumbnail"].all()


def test_turning_identification_off_keeps_the_class_figures_and_nothing_that_recognises(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    video, (a, b, c) = lesson
    lessons_before = queries.lessons(store)
    timeline_before = queries.emotion_timeline(store, [video], 1.0)
    obs_before = store.observations(video)

    assert store.set_identification(b, False, note="parent's letter, 30 Nov")

    # nothing that recognises b is left
    assert count(store, "face_embeddings", "student_id = ?", [b]) == 0
    assert count(store, "student_thumbnails", "student_id = ?", [b]) == 0
    assert store.student_thumbnail(b) is None
    assert count(store, "alerts", "student_id = ?", [b]) == 0
    assert b not in store.reference_embeddings("Dlib")[0]
    # b's faces stay, anonymous: every observation is still there, none carries b
    obs = store.observations(video)
    assert len(obs) == len(obs_before)
    assert (obs["student_id"] != b).all()
    was_b = obs_before["student_id"] == b
    assert obs.loc[was_b, "student_id"].isna().all()
    pd.testing.assert_frame_equal(obs.drop(columns="student_id"),
                                  obs_before.drop(columns="student_id"))
    assert store.student_lessons(b).empty and store.student_tracks(b).empty
    # the class figures are the same; only the count of identified students drops
    lessons_after = queries.lessons(store)
    same = [c for c in lessons_before.columns if c != "students"]
    pd.testing.assert_frame_equal(lessons_after[same], lessons_before[same])
    assert lessons_after["students"].tolist() == [2]
    pd.testing.assert_frame_equal(queries.emotion_timeline(store, [video], 1.0), timeline_before)
    # the register keeps b, off, with when and why
    row = store.student(b)
    assert row["display_name"] == f"Student {b}"
    assert not row["identification"] and not row["has_reference"] and not row["has_thumbnail"]
    assert row["identification_note"] == "parent's letter, 30 Nov"
    assert not pd.isna(row["identification_changed_at"])
    assert row["lessons"] == 0
    # the other students are untouched
    for sid in (a, c):
        assert store.student(sid)["identification"]
        assert count(store, "face_embeddings", "student_id = ?", [sid]) == 1
        assert count(store, "alerts", "student_id = ?", [sid]) == 1
        assert store.student_thumbnail(sid) is not None


def test_turning_it_off_twice_changes_nothing_more(store: Store,
                                                   lesson: tuple[int, list[int]]) -> None:
    _, (_, b, _) = lesson
    assert store.set_identification(b, False, "first")
    assert not store.set_identification(b, False, "second")
    assert store.student(b)["identification_note"] == "first"


def test_bad_ids_and_values_are_clear_errors_that_change_nothing(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    video, (a, _, _) = lesson
    before = store.observations(video)
    with pytest.raises(RosterError, match="no student 999"):
        store.set_identification(999, False)
    with pytest.raises(RosterError, match="on or off"):
        store.set_identification(a, "off")  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(store.observations(video), before)
    assert store.students()["identification"].all()
    assert count(store, "face_embeddings") == 3 and count(store, "alerts") == 3


def test_turning_it_on_again_affects_only_later_lessons(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    video, (_, b, _) = lesson
    store.set_identification(b, False)
    assert store.set_identification(b, True, "consent given")
    row = store.student(b)
    assert row["identification"] and row["identification_note"] == "consent given"
    assert row["lessons"] == 0, "the past lesson's faces stay anonymous"
    assert store.observations(video)["student_id"].isna().sum() == 4
    # a later lesson makes them a new student, who can be merged into the register row
    later = analyse(store, "b" * 64, 2, 1, identities({0: (None, [1])}, seed=7))
    [new] = store.observations(later)["student_id"].unique().tolist()
    assert new != b
    store.merge_students(b, int(new))
    assert store.student(b)["lessons"] == 1
    assert b in store.reference_embeddings("Dlib")[0]


def test_a_student_whose_identification_is_off_cannot_be_merged(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    _, (a, b, _) = lesson
    store.set_identification(b, False)
    for keep, merged in ((a, b), (b, a)):
        with pytest.raises(RosterError, match=f"student {b}'s identification is off"):
            store.merge_students(keep, merged)
    assert len(store.students()) == 3
    assert count(store, "face_embeddings", "student_id = ?", [a]) == 1


def test_deleting_a_student_whose_identification_is_off_empties_the_register_row(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    _, (_, b, _) = lesson
    store.set_identification(b, False)
    store.delete_student(b)
    assert store.student(b) is None


def test_reanalysis_never_gives_the_old_id_back_and_keeps_the_register_row(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    video, (a, b, c) = lesson
    store.set_identification(b, False)
    # the pipeline can match a and c by their embeddings; b has none, so is a new person
    again = identities({0: (a, [1]), 1: (None, [2]), 2: (c, [3])})
    analyse(store, "a" * 64, 4, 3, again)
    ids = store.observations(video).groupby("track_id")["student_id"].first()
    assert ids[1] == a and ids[3] == c
    assert ids[2] != b, "the old id is not re-attached"
    register = store.student(b)
    assert register is not None and not register["identification"]


def test_an_analysis_that_ends_after_identification_was_turned_off_keeps_them_anonymous(
    store: Store, lesson: tuple[int, list[int]]
) -> None:
    _video, (a, b, _c) = lesson
    # a second lesson is being analysed; it matched b while b's consent was withdrawn
    later = store.begin_analysis(record("later.mp4", "c" * 64), {"sample_fps": 2.0})
    store.stage_observations(observations(later, 2, 2, seed=3))
    store.set_identification(b, False)
    ident = with_thumbnails(identities({0: (a, [1]), 1: (b, [2])}, seed=11), {0: 0.9, 1: 0.9})
    store.finish_analysis(later, summary(2, 4, 2), ident)
    obs = store.observations(later)
    assert obs.loc[obs["track_id"] == 2, "student_id"].isna().all()
    assert (obs.loc[obs["track_id"] == 1, "student_id"] == a).all()
    assert count(store, "face_embeddings", "student_id = ?", [b]) == 0
    assert store.student_thumbnail(b) is None
    assert store.student_thumbnail(a)["video_id"] == later, "a's better thumbnail is kept"


# -- thumbnails -------------------------------------------------------------------------------------


def test_thumbnails_are_small_jpegs_of_the_face() -> None:
    image = decode_thumbnail(jpeg())
    assert image.shape == (THUMBNAIL_PX, THUMBNAIL_PX, 3)
    assert len(jpeg()) < 10_000
    with pytest.raises(ValueError, match="RGB"):
        encode_thumbnail(np.zeros((10, 10), dtype=np.uint8))


def test_no_thumbnail_unless_the_analysis_keeps_them(store: Store) -> None:
    analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    assert count(store, "student_thumbnails") == 0
    assert not store.students()["has_thumbnail"].any()


def test_one_thumbnail_per_student_the_best_seen(store: Store,
                                                 lesson: tuple[int, list[int]]) -> None:
    _, (a, b, _) = lesson
    worse = with_thumbnails(identities({0: (a, [1])}, seed=3), {0: 0.1})
    better = with_thumbnails(identities({0: (b, [1])}, seed=4), {0: 0.95})
    second = analyse(store, "b" * 64, 2, 1, worse)
    third = analyse(store, "c" * 64, 2, 1, better)
    assert count(store, "student_thumbnails") == 3
    assert store.student_thumbnail(a)["video_id"] != second
    held = store.student_thumbnail(b)
    assert held["video_id"] == third and held["quality"] == pytest.approx(0.95)
    assert held["file_name"] == "ccc.mp4"
    assert decode_thumbnail(held["jpeg"]).shape == (THUMBNAIL_PX, THUMBNAIL_PX, 3)


def test_thumbnails_go_with_the_student(store: Store, lesson: tuple[int, list[int]]) -> None:
    _, (a, b, c) = lesson
    store.delete_student(a)
    assert store.student_thumbnail(a) is None
    store.set_identification(b, False)
    assert store.student_thumbnail(b) is None
    assert count(store, "student_thumbnails") == 1
    assert store.student_thumbnail(c) is not None


def test_reanalysis_replaces_the_lessons_thumbnails(store: Store,
                                                    lesson: tuple[int, list[int]]) -> None:
    _video, (a, b, c) = lesson
    # analysed again without thumbnails: the lesson's go
    analyse(store, "a" * 64, 4, 3, identities({0: (a, [1]), 1: (b, [2]), 2: (c, [3])}))
    assert count(store, "student_thumbnails") == 0
    assert store.students()["student_id"].tolist() == [a, b, c]


def test_deleting_a_lessons_thumbnails_leaves_the_others(store: Store,
                                                         lesson: tuple[int, list[int]]) -> None:
    """The hook that deleting or purging a lesson calls, inside its own transaction."""
    video, (_a, _, _) = lesson
    other = analyse(store, "b" * 64, 2, 1,
                    with_thumbnails(identities({0: (None, [1])}, seed=5), {0: 0.5}))
    with store._transaction() as cur:
        delete_lesson_thumbnails(cur, [video])
    assert count(store, "student_thumbnails") == 1
    assert store.query("SELECT video_id FROM student_thumbnails")["video_id"].tolist() == [other]


def test_merge_keeps_the_better_thumbnail(store: Store) -> None:
    analyse(store, "a" * 64, 2, 1, with_thumbnails(identities({0: (None, [1])}), {0: 0.4}))
    analyse(store, "b" * 64, 2, 1,
            with_thumbnails(identities({0: (None, [1])}, seed=5), {0: 0.9}))
    keep, merged = store.students()["student_id"].tolist()
    store.merge_students(keep, merged)
    assert count(store, "student_thumbnails") == 1
    held = store.student_thumbnail(keep)
    assert held["quality"] == pytest.approx(0.9)


def test_splitting_off_the_track_a_thumbnail_came_from_takes_it_along(store: Store) -> None:
    video = analyse(store, "a" * 64, 3, 2,
                    with_thumbnails(identities({0: (None, [1, 2])}), {0: 0.7}))
    [student] = store.students()["student_id"].tolist()
    assert store.student_thumbnail(student)["track_id"] == 1
    new = store.split_track(video, 1)
    assert store.student_thumbnail(new)["track_id"] == 1
    assert store.student_thumbnail(student) is None


def test_thumbnail_rows_are_checked(store: Store) -> None:
    bad = TrackIdentities("Dlib", identities({0: (None, [1])}).tracks,
                          pd.DataFrame({"person": [0], "jpeg": [b"x"]}))
    video = store.begin_analysis(record(), {"sample_fps": 2.0})
    store.stage_observations(observations(video, 2, 1, seed=1))
    with pytest.raises(ValueError, match="lack columns"):
        store.finish_analysis(video, summary(2, 2, 1), bad)
    assert store.students().empty and count(store, "face_embeddings") == 0


# -- migration ------------------------------------------------------------------------------------


def test_students_of_an_older_database_are_identified(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with database_of_schema(path, 3) as con:
        con.execute("INSERT INTO students (display_name) VALUES ('Ada')")
        con.execute(
            "INSERT INTO face_embeddings VALUES (1, 1, 1, 'Dlib', 0, 1, 3, 0.8, ?)", [vector(1)]
        )
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        row = store.students().iloc[0]
        assert row["display_name"] == "Ada" and row["identification"]
        assert not row["has_thumbnail"]
        assert len(store.reference_embeddings("Dlib")[0]) == 1
