"""``python -m emotion_core students consent ID on|off`` and ``analyze --thumbnails``, run as a
user runs them (a child process), on a real DuckDB written through the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support.cli_run import error_lines, run_cli
from support.store_rows import analyse_tracks as analyse
from support.store_rows import identities, with_thumbnails

from emotion_core.store.store import Store

pytestmark = pytest.mark.subprocess

TABLES = ("students", "observations", "face_embeddings", "student_thumbnails", "alerts")


def snapshot(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").df() for t in TABLES}


def assert_unchanged(db: Path, before: dict[str, pd.DataFrame]) -> None:
    after = snapshot(db)
    for table in TABLES:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)


@pytest.fixture(scope="module")
def two_students(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("consent_cli") / "lessons.duckdb"
    with Store(db) as store:
        ident = with_thumbnails(identities({0: (None, [1]), 1: (None, [2])}), {0: 0.5, 1: 0.6})
        analyse(store, "a" * 64, 3, 2, ident)
    return db


@pytest.fixture
def db(two_students: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(two_students, tmp_path / "lessons.duckdb"))


def students(db: Path, cwd: Path) -> list[dict]:
    done = run_cli("students", "list", "--json", "--db", db, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_consent_off_and_on_from_the_command_line(db: Path, tmp_path: Path) -> None:
    first, second = students(db, tmp_path)
    assert first["identification"] is True and first["identification_changed_at"] is None
    sid = first["student_id"]
    done = run_cli("students", "consent", sid, "off", "--note", "letter from home", "--db", db,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"student {sid}: identification off" in done.stdout
    first_now, second_now = students(db, tmp_path)
    assert first_now["identification"] is False
    assert first_now["identification_note"] == "letter from home"
    assert first_now["observations"] == 0 and not first_now["has_thumbnail"]
    assert second_now == second
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM face_embeddings WHERE student_id = ?",
                           [sid]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM observations WHERE student_id IS NULL"
                           ).fetchone()[0] == 3

    listing = run_cli("students", "list", "--db", db, cwd=tmp_path).stdout.splitlines()
    assert "identification OFF" in listing[0] and "identification on" in listing[1]

    done = run_cli("students", "consent", sid, "off", "--db", db, cwd=tmp_path)
    assert done.returncode == 0 and "already off" in done.stdout
    done = run_cli("students", "consent", sid, "on", "--db", db, cwd=tmp_path)
    assert done.returncode == 0 and "from now on" in done.stdout
    assert students(db, tmp_path)[0]["identification"] is True


@pytest.mark.parametrize(("args", "expected"), [
    (("999", "off"), "error: there is no student 999"),
    (("1", "maybe"), "invalid choice: 'maybe'"),
    (("one", "off"), "invalid int value: 'one'"),
    (("1",), "the following arguments are required: identification"),
])
def test_bad_ids_and_values_are_clear_errors_that_change_nothing(
    db: Path, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    before = snapshot(db)
    done = run_cli("students", "consent", *args, "--db", db, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert expected in done.stderr
    assert_unchanged(db, before)


def test_consent_on_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    done = run_cli("students", "consent", "1", "off", "--db", missing, cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done) == [f"error: no database at {missing}: analyse a video first"]
    assert not missing.exists()


def test_thumbnails_without_identification_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.duckdb"
    done = run_cli("analyze", tmp_path / "any.mp4", "--thumbnails", "--no-identify",
                   "--db", db, cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done) == [
        "error: face thumbnails are kept per student, so they need identification on"
    ]
    assert not db.exists()
