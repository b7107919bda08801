"""Tests for the students in a real DuckDB (emotion_core/store/roster.py and the identity side of
the store): recording who is who, reference vectors per model, list / rename / merge / split /
delete, re-analysis, identification off, and that no export carries an embedding."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from support.store_rows import analyse_tracks as analyse
from support.store_rows import identities, vector

from emotion_core.store.roster import RosterError
from emotion_core.store.schema import MIGRATIONS, SCHEMA_VERSION
from emotion_core.store.store import Store


def embedding_rows(path_or_store: Store) -> pd.DataFrame:
    with path_or_store._cursor() as cur:
        return cur.execute("SELECT * FROM face_embeddings ORDER BY video_id, track_id").df()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "lessons.duckdb") as s:
        yield s


# -- recording an analysis ----------------------------------------------------------------------


def test_new_people_become_pseudonymous_students_on_every_observation(store: Store) -> None:
    # tracks 1 and 3 are one person, 2 another
    video = analyse(store, "a" * 64, 4, 3, identities({0: (None, [1, 3]), 1: (None, [2])}))
    students = store.students()
    assert students["display_name"].tolist() == [f"Student {i}" for i in students["student_id"]]
    assert len(students) == 2
    obs = store.observations(video)
    assert obs["student_id"].notna().all()
    by_track = obs.groupby("track_id")["student_id"].first()
    assert by_track[1] == by_track[3] != by_track[2]
    assert students.set_index("student_id").loc[by_track[1], "tracks"] == 2
    assert students["observations"].sum() == len(obs) == 12
    assert store.video(video)["embedding_model"] == "Dlib"
    assert len(embedding_rows(store)) == 3, "one reference vector per track"


def test_a_known_student_gets_the_new_lesson_and_counts_it(store: Store) -> None:
    analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    first = store.students()["student_id"].tolist()
    analyse(store, "b" * 64, 3, 2, identities({0: (first[1], [1]), 1: (None, [2])}, seed=9))
    students = store.students().set_index("student_id")
    assert len(students) == 3
    assert students.loc[first[1], "lessons"] == 2
    assert students.loc[first[0], "lessons"] == 1
    lessons = store.student_lessons(first[1])
    assert lessons["observations"].tolist() == [2, 3]
    assert lessons["seconds_seen"].tolist() == [1.0, 1.5], "observations at 2 frames a second"


def test_reference_vectors_are_per_model_and_per_group(store: Store) -> None:
    analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}), group="5B")
    analyse(store, "b" * 64, 2, 1, identities({0: (None, [1])}, model="VGG-Face"), group="5B")
    analyse(store, "c" * 64, 2, 1, identities({0: (None, [1])}), group="6A")
    ids, centroids = store.reference_embeddings("Dlib")
    assert len(ids) == 3 and centroids.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-6)
    assert len(store.reference_embeddings("Dlib", "5B")[0]) == 2
    assert len(store.reference_embeddings("VGG-Face")[0]) == 1, "never another model's vectors"
    assert len(store.reference_embeddings("ArcFace")[0]) == 0


def test_reanalysis_keeps_ids_and_replaces_the_videos_vectors(store: Store) -> None:
    video = analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    ids = store.students()["student_id"].tolist()
    store.rename_student(ids[0], "Ada")
    # the same video again: the pipeline matched both people to the students they were
    again = analyse(store, "a" * 64, 2, 2, identities({0: (ids[0], [1]), 1: (ids[1], [2])}))
    assert again == video
    assert store.students()["student_id"].tolist() == ids
    assert store.students()["display_name"].tolist()[0] == "Ada"
    assert len(embedding_rows(store)) == 2, "not doubled"


def test_reanalysis_removes_students_that_are_no_longer_seen(store: Store) -> None:
    analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    keep = int(store.students()["student_id"].iloc[0])
    # now tracks 1 and 2 are judged to be one person
    analyse(store, "a" * 64, 2, 2, identities({0: (keep, [1, 2])}))
    assert store.students()["student_id"].tolist() == [keep]


def test_identification_off_stores_no_vectors_and_no_students(store: Store) -> None:
    video = analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    assert len(embedding_rows(store)) == 2
    # analysed again with identification off: the faces stay, nobody is identified
    analyse(store, "a" * 64, 2, 2, None)
    assert embedding_rows(store).empty
    assert store.students().empty
    assert store.observations(video)["student_id"].isna().all()
    assert pd.isna(store.video(video)["embedding_model"])


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_no_export_carries_an_embedding(store: Store, tmp_path: Path, file_format: str) -> None:
    analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    out = tmp_path / f"out.{file_format}"
    store.export_observations(out, file_format)
    reader = "read_csv_auto" if file_format == "csv" else "read_parquet"
    exported = duckdb.sql(f"SELECT * FROM {reader}('{out}')").df()
    assert "embedding" not in exported.columns
    assert exported["student_id"].notna().all(), "the pseudonymous id is what the export carries"
    text = out.read_bytes()
    assert str(round(vector(1)[0], 5)).encode() not in text


# -- corrections --------------------------------------------------------------------------------


def two_lessons(store: Store) -> list[int]:
    """Two students in lesson A (seen together); in lesson B a third, seen alone."""
    analyse(store, "a" * 64, 2, 2, identities({0: (None, [1]), 1: (None, [2])}))
    analyse(store, "b" * 64, 2, 1, identities({0: (None, [1])}, seed=5))
    return store.students()["student_id"].tolist()


def test_rename(store: Store) -> None:
    a, _, _ = two_lessons(store)
    store.rename_student(a, "  Ada L.  ")
    assert store.student(a)["display_name"] == "Ada L."
    with pytest.raises(RosterError, match="cannot be empty"):
        store.rename_student(a, " ")
    with pytest.raises(RosterError, match="no student 999"):
        store.rename_student(999, "x")


def test_merge_moves_observations_and_vectors(store: Store) -> None:
    a, _, c = two_lessons(store)
    store.merge_students(a, c)
    students = store.students().set_index("student_id")
    assert c not in students.index
    assert students.loc[a, "lessons"] == 2 and students.loc[a, "observations"] == 4
    assert set(embedding_rows(store)["student_id"]) == {a, int(students.index[1])}
    ids, _ = store.reference_embeddings("Dlib")
    assert c not in ids


def test_students_seen_in_one_frame_cannot_be_merged(store: Store) -> None:
    a, b, _ = two_lessons(store)
    with pytest.raises(RosterError, match="two people"):
        store.merge_students(a, b)
    with pytest.raises(RosterError, match="itself"):
        store.merge_students(a, a)
    assert len(store.students()) == 3, "nothing changed"


def test_split_a_wrongly_joined_track_off(store: Store) -> None:
    video = analyse(store, "a" * 64, 3, 2, identities({0: (None, [1, 2])}))
    # (as if the two tracks were never seen together: the pipeline would not join them else)
    [student] = store.students()["student_id"].tolist()
    tracks = store.student_tracks(student)
    assert tracks["track_id"].tolist() == [1, 2]
    new = store.split_track(video, 2, "Ben")
    assert store.student(new)["display_name"] == "Ben"
    obs = store.observations(video)
    assert set(obs[obs["track_id"] == 2]["student_id"]) == {new}
    assert set(obs[obs["track_id"] == 1]["student_id"]) == {student}
    vectors = embedding_rows(store).set_index("track_id")["student_id"]
    assert vectors.to_dict() == {1: student, 2: new}
    with pytest.raises(RosterError, match="no track 9"):
        store.split_track(video, 9)


def test_delete_removes_observations_and_vectors(store: Store) -> None:
    a, _b, _c = two_lessons(store)
    store.delete_student(a)
    assert a not in store.students()["student_id"].tolist()
    assert (store.observations()["student_id"] != a).all()
    assert a not in set(embedding_rows(store)["student_id"])
    assert len(store.observations()) == 2 + 2, "the other students' faces stay"
    with pytest.raises(RosterError, match="no student"):
        store.delete_student(a)


def test_students_of_a_group(store: Store) -> None:
    analyse(store, "a" * 64, 2, 1, identities({0: (None, [1])}), group="5B")
    analyse(store, "b" * 64, 2, 1, identities({0: (None, [1])}, seed=4), group="6A")
    assert store.students("5B")["class_group"].tolist() == ["5B"]
    assert len(store.students()) == 2


# -- migration ------------------------------------------------------------------------------------


def test_a_database_of_the_first_schema_is_migrated_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute(MIGRATIONS[0])
        con.execute("INSERT INTO schema_version VALUES (1)")
        con.execute(
            "INSERT INTO videos (file_name, content_sha256, status) VALUES ('old.mp4', 'x', 'done')"
        )
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.videos()["file_name"].tolist() == ["old.mp4"]
        assert pd.isna(store.videos()["embedding_model"].iloc[0])
        assert store.students().empty
