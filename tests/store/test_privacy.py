"""Children's data in a real DuckDB file: the retention setting and purge, deleting a lesson or a
student with everything derived from them (every table checked, and the stored upload), and the
per-student subject access export."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.store_rows import (
    database_of_schema,
    identities,
    lesson,
    observations,
    raise_alert,
    record,
    student_of,
    summary,
    upload,
    vector,
)

from emotion_core.core.paths import upload_dir
from emotion_core.core.thumbnails import decode_thumbnail, encode_thumbnail
from emotion_core.store.privacy import DERIVED_TABLES, LESSON_TABLES, STUDENT_TABLES, LessonError
from emotion_core.store.records import TrackIdentities
from emotion_core.store.roster import RosterError
from emotion_core.store.schema import SCHEMA_VERSION
from emotion_core.store.settings import SettingsError, parse_setting
from emotion_core.store.store import Store
from emotion_core.store.thumbnails import keep_best_thumbnails

TODAY = date(2026, 6, 30)  # the day the purges in these tests run on


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "classroom.duckdb"


@pytest.fixture
def store(db: Path):  # type: ignore[no-untyped-def]
    with Store(db) as s:
        yield s


def rows_of(store: Store) -> dict[str, pd.DataFrame]:
    """Every table that holds lessons, students or what is derived from them."""
    with store._cursor() as cur:
        return {table: cur.execute(f"SELECT * FROM {table}").df()
                for table in ("videos", "students", *(t.name for t in DERIVED_TABLES))}


def rows_about(store: Store, video_id: int | None = None,
               student_id: int | None = None) -> dict[str, int]:
    """Rows left in every table about one lesson or one student."""
    counts = {}
    with store._cursor() as cur:
        if video_id is not None:
            for table in ("videos", *(t.name for t in LESSON_TABLES)):
                counts[table] = cur.execute(
                    f"SELECT count(*) FROM {table} WHERE video_id = ?", [video_id]).fetchone()[0]
        if student_id is not None:
            for table in ("students", *(t.name for t in STUDENT_TABLES)):
                counts[f"{table} (student)"] = cur.execute(
                    f"SELECT count(*) FROM {table} WHERE student_id = ?", [student_id]
                ).fetchone()[0]
    return counts


def assert_same_rows(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Equal cell by cell (a column that became all null reads back with another dtype)."""

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True).astype(object)
        return frame.where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(before), plain(after))


@pytest.fixture
def term(store: Store) -> dict[str, int]:
    """An old lesson (60 days before TODAY) with Ada and Ben, a recent one (5 days) with Ben and
    Cleo, a lesson never dated (analysed today) with Dan; alerts on Ada (confirmed), Ben, Cleo."""
    old = lesson(store, "old.mp4", TODAY - timedelta(days=60),
                 {0: (None, [1]), 1: (None, [2])}, seed=1)
    ada, ben = student_of(store, old, 1), student_of(store, old, 2)
    recent = lesson(store, "recent.mp4", TODAY - timedelta(days=5),
                    {0: (ben, [1]), 1: (None, [2])}, seed=2)
    cleo = student_of(store, recent, 2)
    undated = lesson(store, "undated.mp4", None, {0: (None, [1])}, seed=3)
    dan = student_of(store, undated, 1)
    raise_alert(store, old, ada, "confirmed")
    raise_alert(store, old, ben)
    raise_alert(store, recent, cleo)
    # face thumbnails (opt-in): Ada's from the old lesson, Ben's from the recent one
    with store._transaction() as cur:
        keep_best_thumbnails(cur, pd.DataFrame([
            {"student_id": ada, "video_id": old, "track_id": 1, "observed_at_s": 0.0,
             "quality": 1.0, "jpeg": encode_thumbnail(np.full((64, 64, 3), 90, np.uint8))},
            {"student_id": ben, "video_id": recent, "track_id": 1, "observed_at_s": 0.5,
             "quality": 1.0, "jpeg": encode_thumbnail(np.full((64, 64, 3), 160, np.uint8))},
        ]))
    return {"old": old, "recent": recent, "undated": undated, "ada": ada, "ben": ben,
            "cleo": cleo, "dan": dan}


# -- settings -----------------------------------------------------------------------------------


def test_retention_is_off_until_set_and_kept_in_the_database(db: Path) -> None:
    with Store(db) as store:
        assert store.settings()["retention_days"] is None
        store.set_setting("retention_days", 30)
        assert store.retention_days() == 30
    with Store(db, read_only=True) as store:
        assert store.settings()["retention_days"] == 30
    with Store(db) as store:
        store.set_setting("retention_days", None)
        assert store.retention_days() is None
        assert store.query("SELECT * FROM settings").empty, "the default needs no row"


@pytest.mark.parametrize("text", ["0", "-3", "30.5", "thirty", "", "1e3", "36501", "٣"])
def test_bad_retention_values_are_refused_and_change_nothing(store: Store, text: str) -> None:
    store.set_setting("retention_days", 90)
    with pytest.raises(SettingsError, match="whole number of days from 1 to 36500, or none"):
        parse_setting("retention_days", text)
    with pytest.raises(SettingsError, match="whole number of days"):
        store.set_setting("retention_days", text)
    assert store.retention_days() == 90


def test_an_unknown_setting_is_refused(store: Store) -> None:
    with pytest.raises(SettingsError, match="no setting 'retention'; the settings are: "
                                            "retention_days"):
        store.set_setting("retention", 3)
    assert parse_setting("retention_days", " None ") is None
    assert parse_setting("retention_days", "7") == 7


def test_a_database_of_schema_3_gains_the_settings_table(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    database_of_schema(path, 3).close()
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.retention_days() is None


# -- retention ------------------------------------------------------------------------------------


def test_without_a_retention_period_nothing_is_purged(store: Store, term: dict[str, int]) -> None:
    before = rows_of(store)
    removal = store.purge_expired(today=TODAY + timedelta(days=3650))
    assert removal.lessons == [] and removal.files == []
    for table, rows in rows_of(store).items():
        assert_same_rows(before[table], rows)


def test_purge_removes_exactly_the_old_lessons_and_what_came_from_them(
    store: Store, term: dict[str, int]
) -> None:
    store.set_setting("retention_days", 30)
    uploads = upload_dir(store.path)
    old_file, recent_file = uploads / "old.mp4", uploads / "recent.mp4"
    # the same content uploaded a second time, and another video of the same name and size
    copy = upload(store, "old again.mp4", old_file.read_bytes())
    stranger = uploads / "stranger.mp4"
    stranger.write_bytes(b"x" * old_file.stat().st_size)
    before = rows_of(store)

    removal = store.purge_expired(today=TODAY)

    assert [lesson["video_id"] for lesson in removal.lessons] == [term["old"]]
    assert removal.lessons[0]["lesson_date"] == (TODAY - timedelta(days=60)).isoformat()
    assert removal.students == [term["ada"]], "Ben is still seen in the recent lesson"
    assert sorted(removal.files) == sorted([str(old_file), str(copy)])
    assert not old_file.exists() and not copy.exists()
    assert recent_file.exists() and stranger.exists()
    assert set(rows_about(store, video_id=term["old"]).values()) == {0}
    assert set(rows_about(store, student_id=term["ada"]).values()) == {0}
    after = rows_of(store)
    for table, rows in after.items():
        kept = before[table]
        if "video_id" in kept.columns:
            kept = kept[kept["video_id"] != term["old"]]
        if table == "students":
            kept = kept[kept["student_id"] != term["ada"]]
        assert_same_rows(kept, rows)
    assert removal.rows == {"observations": 4, "observations_staging": 0, "face_embeddings": 2,
                            "alerts": 2, "student_thumbnails": 1, "videos": 1, "students": 1}
    assert set(store.students()["student_id"]) == {term["ben"], term["cleo"], term["dan"]}
    assert store.student(term["ben"])["lessons"] == 1


def test_a_lesson_is_kept_for_the_whole_retention_period(store: Store,
                                                         term: dict[str, int]) -> None:
    store.set_setting("retention_days", 5)
    removal = store.purge_expired(today=TODAY)
    assert [lesson["video_id"] for lesson in removal.lessons] == [term["old"]]
    assert store.purge_expired(today=TODAY).lessons == [], "the recent lesson is 5 days old"
    removal = store.purge_expired(today=TODAY + timedelta(days=1))
    assert [lesson["video_id"] for lesson in removal.lessons] == [term["recent"]]
    assert store.videos()["video_id"].tolist() == [term["undated"]]
    # a lesson without a date counts from the day it was analysed
    analysed_on = store.stored_lessons()["lesson_date"].iloc[0]
    assert analysed_on == date.today()
    assert store.stored_lessons()["purge_after"].iloc[0] == date.today() + timedelta(days=5)


def test_a_dry_run_reports_the_same_and_changes_nothing(store: Store,
                                                        term: dict[str, int]) -> None:
    store.set_setting("retention_days", 30)
    before = rows_of(store)
    files = sorted(upload_dir(store.path).iterdir())
    dry = store.purge_expired(today=TODAY, dry_run=True)
    for table, rows in rows_of(store).items():
        assert_same_rows(before[table], rows)
    assert sorted(upload_dir(store.path).iterdir()) == files
    real = store.purge_expired(today=TODAY)
    assert dry.dry_run and not real.dry_run
    assert (dry.lessons, dry.rows, dry.students, dry.files) == (
        real.lessons, real.rows, real.students, real.files)
    assert "would remove 1 lesson(s)" in dry.describe()


def test_a_lesson_being_analysed_is_not_purged(store: Store, term: dict[str, int]) -> None:
    store.set_setting("retention_days", 30)
    content = store.video(term["old"])["content_sha256"]
    running = store.begin_analysis(record("old.mp4", content, recorded_on=TODAY - timedelta(60)),
                                   {"sample_fps": 2.0})
    assert running == term["old"]
    assert store.purge_expired(today=TODAY).lessons == []
    store.fail_analysis(running, "stopped by the test")  # its earlier result stays: done
    assert [r["video_id"] for r in store.purge_expired(today=TODAY).lessons] == [term["old"]]


# -- deleting a lesson ----------------------------------------------------------------------------


def test_deleting_a_lesson_removes_everything_derived_from_it(store: Store,
                                                              term: dict[str, int]) -> None:
    old_file = upload_dir(store.path) / "old.mp4"
    before = rows_of(store)
    removal = store.delete_lesson(term["old"])
    assert set(rows_about(store, video_id=term["old"]).values()) == {0}
    assert set(rows_about(store, student_id=term["ada"]).values()) == {0}
    assert removal.students == [term["ada"]] and removal.files == [str(old_file)]
    assert not old_file.exists()
    assert (upload_dir(store.path) / "recent.mp4").exists()
    # checkpointed: the write-ahead log, which held the rows as written, is gone
    assert not Path(f"{store.path}.wal").exists()
    after = rows_of(store)
    for table in ("observations", "face_embeddings", "alerts", "videos"):
        assert_same_rows(before[table][before[table]["video_id"] != term["old"]], after[table])
    # Ben keeps what the other lesson holds about him, his alert in the old lesson is gone
    assert store.student(term["ben"])["lessons"] == 1
    assert set(store.alerts()["student_id"]) == {term["cleo"]}
    assert len(store.stored_lessons()) == 2


def test_deleting_a_lesson_that_does_not_exist_changes_nothing(store: Store,
                                                               term: dict[str, int]) -> None:
    before = rows_of(store)
    with pytest.raises(LessonError, match="there is no lesson 999"):
        store.delete_lesson(999)
    for table, rows in rows_of(store).items():
        assert_same_rows(before[table], rows)


def test_a_lesson_being_analysed_cannot_be_deleted(store: Store, term: dict[str, int]) -> None:
    content = store.video(term["recent"])["content_sha256"]
    store.begin_analysis(record("recent.mp4", content), {"sample_fps": 2.0})
    before = rows_of(store)
    with pytest.raises(LessonError, match=r"lesson \d+ \(recent.mp4\) is being analysed"):
        store.delete_lesson(term["recent"])
    for table, rows in rows_of(store).items():
        assert_same_rows(before[table], rows)
    assert (upload_dir(store.path) / "recent.mp4").exists()
    store.fail_analysis(term["recent"], "stopped by the test")
    store.delete_lesson(term["recent"])
    assert set(rows_about(store, video_id=term["recent"]).values()) == {0}


def test_a_failed_lesson_without_rows_can_be_deleted_with_its_upload(store: Store) -> None:
    path = upload(store, "broken.mp4", b"not really a video")
    video_id = store.begin_analysis(
        record(path.name, hashlib.sha256(path.read_bytes()).hexdigest(),
               size_bytes=path.stat().st_size), {})
    store.fail_analysis(video_id, "not a readable video file")
    removal = store.delete_lesson(video_id)
    assert removal.rows["videos"] == 1 and removal.files == [str(path)]
    assert store.videos().empty and not path.exists()


def test_the_sample_and_files_analysed_in_place_are_never_removed(store: Store,
                                                                   tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.mp4"
    elsewhere.write_bytes(b"a lesson on a teacher's disk" * 10)
    video_id = store.begin_analysis(
        record(elsewhere.name, hashlib.sha256(elsewhere.read_bytes()).hexdigest(),
               size_bytes=elsewhere.stat().st_size), {})
    store.finish_analysis(video_id, summary(0, 0, 0))
    assert store.delete_lesson(video_id).files == []
    assert elsewhere.exists()


# -- deleting a student ---------------------------------------------------------------------------


def test_deleting_a_student_removes_every_row_about_them(store: Store,
                                                         term: dict[str, int]) -> None:
    before = rows_of(store)
    removed = store.delete_student(term["ben"])
    assert set(rows_about(store, student_id=term["ben"]).values()) == {0}
    assert removed == {"observations": 4, "face_embeddings": 2, "alerts": 1,
                       "student_thumbnails": 1, "students": 1}
    after = rows_of(store)
    for table in ("observations", "face_embeddings", "alerts", "student_thumbnails", "students"):
        assert_same_rows(before[table][before[table]["student_id"] != term["ben"]], after[table])
    assert_same_rows(before["videos"], after["videos"]), "the lessons stay"


def test_a_student_deleted_during_an_analysis_is_not_brought_back(store: Store,
                                                                  term: dict[str, int]) -> None:
    video_id = store.begin_analysis(record("later.mp4", "f" * 64), {"sample_fps": 2.0})
    store.stage_observations(observations(video_id, 2, 1, seed=4))
    # the analysis matched the face to Cleo; Cleo is deleted before it ends
    store.delete_student(term["cleo"])
    frame = identities({0: (term["cleo"], [1])}).tracks
    store.finish_analysis(video_id, summary(2, 2, 1), TrackIdentities("Dlib", frame))
    assert term["cleo"] not in set(store.observations()["student_id"])
    assert set(rows_about(store, student_id=term["cleo"]).values()) == {0}
    [new] = set(store.observations(video_id)["student_id"])
    assert store.student(int(new))["display_name"] == f"Student {new}"


# -- the subject access export --------------------------------------------------------------------


def read_export(path: Path) -> dict[str, object]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: (archive.read(name).decode() if name.endswith((".txt", ".csv"))
                   else json.loads(archive.read(name)))
            for name in archive.namelist()
        }


def test_the_export_holds_everything_about_the_student_and_nothing_else(
    store: Store, term: dict[str, int], tmp_path: Path
) -> None:
    ben = term["ben"]
    store.rename_student(ben, "Ben K.")
    out = tmp_path / "exports" / "ben.zip"
    exported = store.export_student(ben, out)
    assert (exported.lessons, exported.observations, exported.alerts,
            exported.face_embeddings) == (2, 4, 1, 2)
    files = read_export(out)
    assert set(files) == {"README.txt", "student.json", "observations.csv", "alerts.json",
                          "face_embeddings.json", "student_thumbnails.json"}
    [picture] = files["student_thumbnails.json"]
    assert picture["video_id"] == term["recent"]
    pixels = decode_thumbnail(base64.b64decode(picture["jpeg"]))
    assert abs(int(pixels.mean()) - 160) <= 3, "Ben's own thumbnail, not Ada's"
    assert "face embeddings" in files["README.txt"] and "Ben K." in files["README.txt"]

    document = files["student.json"]
    assert document["student"]["student_id"] == ben
    assert document["student"]["display_name"] == "Ben K."
    assert document["contains_face_embeddings"] is True
    assert [lesson["file_name"] for lesson in document["lessons"]] == ["old.mp4", "recent.mp4"]
    assert document["counts"] == {"observations": 4, "face_embeddings": 2, "alerts": 1,
                                  "student_thumbnails": 1}

    rows = list(csv.DictReader(io.StringIO(files["observations.csv"])))
    assert {row["student_id"] for row in rows} == {str(ben)}
    stored = store.observations()
    assert len(rows) == (stored["student_id"] == ben).sum()
    assert {(row["file_name"], row["class_group"], row["lesson_date"]) for row in rows} == {
        ("old.mp4", "7B", str(TODAY - timedelta(days=60))),
        ("recent.mp4", "7B", str(TODAY - timedelta(days=5))),
    }

    [alert] = files["alerts.json"]
    assert (alert["student_id"], alert["video_id"], alert["file_name"]) == (
        ben, term["old"], "old.mp4")
    assert alert["numbers"] == {"negative_share": 0.8} and alert["status"] == "open"

    vectors = files["face_embeddings.json"]
    assert {v["student_id"] for v in vectors} == {ben}
    assert {(v["video_id"], v["track_id"]) for v in vectors} == {(term["old"], 2),
                                                                 (term["recent"], 1)}
    # the stored vector, in full (identities() makes track t's vector from seed + t)
    old_vector = next(v for v in vectors if v["video_id"] == term["old"])["embedding"]
    assert old_vector == pytest.approx(vector(1 + 2), abs=1e-6)


def test_the_export_carries_decisions_and_other_students_are_absent(
    store: Store, term: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "ada.zip"
    store.export_student(term["ada"], out)
    files = read_export(out)
    [alert] = files["alerts.json"]
    assert (alert["status"], alert["review_note"]) == ("confirmed", "seen by the psychologist")
    assert alert["reviewed_at"] is not None
    others = {str(term[name]) for name in ("ben", "cleo", "dan")}
    rows = list(csv.DictReader(io.StringIO(files["observations.csv"])))
    assert rows and not {row["student_id"] for row in rows} & others
    assert all(v["student_id"] == term["ada"] for v in files["face_embeddings.json"])
    assert [lesson["file_name"] for lesson in files["student.json"]["lessons"]] == ["old.mp4"]
    assert store.student_export_bytes(term["ada"])[:2] == b"PK"


def test_exporting_an_unknown_student_writes_nothing(store: Store, term: dict[str, int],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "nobody.zip"
    with pytest.raises(RosterError, match="there is no student 999"):
        store.export_student(999, out)
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]
    with pytest.raises(RosterError, match="is a folder"):
        store.export_student(term["ada"], tmp_path)


def test_the_export_replaces_an_earlier_one(store: Store, term: dict[str, int],
                                            tmp_path: Path) -> None:
    out = tmp_path / "dan.zip"
    out.write_text("an earlier export")
    store.export_student(term["dan"], out)
    assert read_export(out)["student.json"]["student"]["student_id"] == term["dan"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dan.zip")]
