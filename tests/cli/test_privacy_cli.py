"""``python -m emotion_core settings|purge|lessons|students export`` in a child process, on a real
DuckDB file written through the store: output, exit codes, and the database afterwards (a bad id
or value changes nothing)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support.env import PROJECT_ROOT, child_env
from support.store_rows import lesson, raise_alert, student_of

from emotion_core.core.paths import upload_dir
from emotion_core.store.store import Store

pytestmark = pytest.mark.subprocess

TABLES = ("videos", "students", "observations", "observations_staging", "face_embeddings",
          "alerts", "settings")


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emotion_core", *map(str, args)], cwd=cwd,
        env=child_env(PYTHONPATH=str(PROJECT_ROOT)), capture_output=True, text=True,
        timeout=300, check=False,
    )


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def snapshot(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {table: con.sql(f"SELECT * FROM {table}").df() for table in TABLES}


def assert_unchanged(db: Path, before: dict[str, pd.DataFrame]) -> None:
    for table, rows in snapshot(db).items():
        pd.testing.assert_frame_equal(rows, before[table], obj=table)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A lesson of last year (Ada and Ben, an alert on Ada) and one of last week (Ben)."""
    path = tmp_path / "data" / "classroom.duckdb"
    with Store(path) as store:
        old = lesson(store, "last year.mp4", date.today() - timedelta(days=400),
                     {0: (None, [1]), 1: (None, [2])}, seed=1)
        ben = student_of(store, old, 2)
        lesson(store, "last week.mp4", date.today() - timedelta(days=7), {0: (ben, [1])}, seed=2)
        raise_alert(store, old, student_of(store, old, 1))
    return path


def test_settings_are_shown_set_and_bad_values_refused(db: Path, tmp_path: Path) -> None:
    done = run_cli("settings", "--db", db, cwd=tmp_path)
    assert done.returncode == 0
    shown = done.stdout.splitlines()
    assert shown[0] == "retention_days = none: lessons are kept until someone deletes them"
    assert "alerts.sharp_drop.drop = 2.5" in shown  # the alert thresholds, at their defaults
    before = snapshot(db)
    refused = ("error: retention_days is a whole number of days from 1 to 36500, or none "
               "(keep lessons until deleted), not ")
    for bad, message in [
        ("retention_days=0", refused + "'0'"),
        ("retention_days=soon", refused + "'soon'"),
        ("keep=3", ("error: there is no setting 'keep'; the settings are: retention_days, and "
                    "alerts.RULE.THRESHOLD for each threshold of the alert rules "
                    "(python -m emotion_core alerts --rules lists them)")),
        ("alerts.sharp_drop.drop=-1", "error: sharp_drop.drop cannot be negative, got -1.0"),
        ("retention_days", "error: a setting is set as NAME=VALUE (e.g. retention_days=365), "
                           + "not 'retention_days'"),
    ]:
        done = run_cli("settings", bad, "--db", db, cwd=tmp_path)
        assert (done.returncode, errors(done)) == (2, [message]), bad
    # one bad assignment among good ones: none is applied
    done = run_cli("settings", "retention_days=30", "keep=3", "--db", db, cwd=tmp_path)
    assert done.returncode == 2
    assert_unchanged(db, before)

    done = run_cli("settings", "retention_days=30", "alerts.sharp_drop.drop=3", "--db", db,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = done.stdout.splitlines()
    assert shown[0] == "retention_days = 30: lessons older than 30 days are purged"
    assert "alerts.sharp_drop.drop = 3 (default 2.5)" in shown
    done = run_cli("settings", "--json", "--db", db, cwd=tmp_path)
    stored = json.loads(done.stdout)
    assert stored["retention_days"] == 30 and stored["alerts.sharp_drop.drop"] == 3.0
    with Store(db, read_only=True) as store:
        assert store.alert_settings().sharp_drop.drop == 3.0


def test_purge_without_retention_then_dry_run_then_for_real(db: Path, tmp_path: Path) -> None:
    done = run_cli("purge", "--db", db, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("retention_days is none")
    assert run_cli("settings", "retention_days=30", "--db", db, cwd=tmp_path).returncode == 0
    before = snapshot(db)

    dry = run_cli("purge", "--dry-run", "--json", "--db", db, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] and report["retention_days"] == 30
    assert [lesson["file_name"] for lesson in report["lessons"]] == ["last year.mp4"]
    assert report["rows"]["observations"] == 4 and report["rows"]["students"] == 1
    assert_unchanged(db, before)
    assert (upload_dir(db) / "last year.mp4").exists()

    done = run_cli("purge", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("removed lesson 1: last year.mp4 (7B, ")
    assert "removed 1 lesson(s) with 4 observations, 2 face embeddings, 1 alerts, 1 student(s)" \
        in done.stdout
    assert not (upload_dir(db) / "last year.mp4").exists()
    assert (upload_dir(db) / "last week.mp4").exists()
    after = snapshot(db)
    assert after["videos"]["file_name"].tolist() == ["last week.mp4"]
    assert len(after["students"]) == 1 and after["alerts"].empty


def test_lessons_are_listed_and_deleted(db: Path, tmp_path: Path) -> None:
    done = run_cli("lessons", "list", "--json", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lessons = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["file_name"], r["observations"], r["students"], r["alerts"]) for r in lessons] == [
        ("last year.mp4", 4, 2, 1), ("last week.mp4", 2, 1, 0)]
    assert lessons[0]["purge_after"] is None, "no retention period is set"

    before = snapshot(db)
    for bad, code, message in [("999", 2, "error: there is no lesson 999"),
                               ("one", 2, "invalid int value: 'one'")]:
        done = run_cli("lessons", "delete", bad, "--db", db, cwd=tmp_path)
        assert done.returncode == code
        assert message in done.stderr
    assert_unchanged(db, before)

    done = run_cli("lessons", "delete", lessons[0]["video_id"], "--json", "--db", db,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    removal = json.loads(done.stdout)
    assert removal["rows"] == {"observations": 4, "observations_staging": 0,
                               "face_embeddings": 2, "alerts": 1, "student_thumbnails": 0,
                               "videos": 1, "students": 1}
    assert removal["files"] == [str(upload_dir(db) / "last year.mp4")]
    after = snapshot(db)
    assert set(after["observations"]["video_id"]) == {lessons[1]["video_id"]}
    assert set(after["face_embeddings"]["video_id"]) == {lessons[1]["video_id"]}


def test_a_student_is_exported_and_a_bad_id_writes_nothing(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export" / "student.zip"
    done = run_cli("students", "export", "2", "--out", out, "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote everything stored about student 2 to {out}: "
                                  "4 observations in 2 lessons, 0 alerts, 2 face embeddings.")
    with zipfile.ZipFile(out) as archive:
        assert "face_embeddings.json" in archive.namelist()
        assert len(json.loads(archive.read("face_embeddings.json"))) == 2

    missing = tmp_path / "nobody.zip"
    done = run_cli("students", "export", "999", "--out", missing, "--db", db, cwd=tmp_path)
    assert (done.returncode, errors(done)) == (2, ["error: there is no student 999"])
    assert not missing.exists()
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    done = run_cli("students", "export", "2", "--out", blocked / "student.zip", "--db", db,
                   cwd=tmp_path)
    assert done.returncode == 2
    assert errors(done)[0].startswith(f"error: cannot write {blocked / 'student.zip'}: ")
    done = run_cli("students", "export", "2", "--out", tmp_path / "none.zip",
                   "--db", tmp_path / "none.duckdb", cwd=tmp_path)
    assert done.returncode == 2 and "no database at" in errors(done)[0]
    assert not (tmp_path / "none.duckdb").exists()
