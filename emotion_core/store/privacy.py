"""Removing children's data: deleting a lesson, purging lessons past the retention period, and
the one list of tables that hold data derived from a lesson or about a student.

``DERIVED_TABLES`` is that list. Deleting a lesson, purging, deleting a student
(``roster.StudentRoster.delete_student``) and the subject access export
(``student_export``) all read it, so a new table of per-lesson or per-student rows is covered
by adding one line there. ``LessonRemoval`` is part of ``store.Store``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.files import stored_uploads
from emotion_core.core.paths import upload_dir


@dataclass(frozen=True)
class DerivedTable:
    """A table whose rows come from one lesson (``lesson_column`` names it) and/or are about one
    student (``student_column``); None where the rows have no such column."""

    name: str
    lesson_column: str | None = "video_id"
    student_column: str | None = "student_id"


# Every table with rows derived from a lesson or about a student, besides ``videos`` and
# ``students`` themselves. Add a table here and it is deleted with its lesson and its student,
# purged with its lesson, and written into the student's export.
DERIVED_TABLES: tuple[DerivedTable, ...] = (
    DerivedTable("observations"),
    # rows of analyses in progress: their student ids are set only as they move to observations
    DerivedTable("observations_staging", student_column=None),
    DerivedTable("face_embeddings"),
    DerivedTable("alerts"),
    # one small face picture per student, only where an analysis was asked to keep them
    DerivedTable("student_thumbnails"),
)
LESSON_TABLES = tuple(t for t in DERIVED_TABLES if t.lesson_column)
STUDENT_TABLES = tuple(t for t in DERIVED_TABLES if t.student_column)

# The day a lesson happened: its recorded date, else the day it was analysed, else the day it
# was registered (a video whose analysis never finished).
LESSON_DAY = ("coalesce(v.recorded_on, CAST(v.analysed_at AS DATE),"
              " CAST(v.created_at AS DATE))")


class LessonError(ClassroomMoodError, ValueError):
    """A lesson that cannot be deleted (no such lesson, or it is being analysed); the message is
    meant for the user."""


@dataclass(frozen=True)
class Removal:
    """What deleting or purging lessons removed (or, with ``dry_run``, would remove)."""

    lessons: list[dict[str, Any]]  # video_id, file_name, class_group, lesson_date
    rows: dict[str, int]  # rows removed per table, videos and students included
    students: list[int]  # students removed because nothing about them was left
    files: list[str]  # stored uploads removed
    file_errors: list[str] = field(default_factory=list)  # uploads that could not be removed
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        if not self.lessons:
            return "no lesson to remove"
        rows = ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in self.rows.items()
                         if table not in ("videos", "students") and (n or table == "observations"))
        return (f"{verb} {len(self.lessons)} lesson(s) with {rows}, {len(self.students)} "
                f"student(s) seen nowhere else and {len(self.files)} stored upload(s)")


def delete_student_rows(cur: duckdb.DuckDBPyConnection, student_id: int) -> dict[str, int]:
    """Delete a student and every row about them (``STUDENT_TABLES``), in ``cur``'s transaction."""
    rows = {}
    for table in STUDENT_TABLES:
        [(rows[table.name],)] = cur.execute(
            f"DELETE FROM {table.name} WHERE {table.student_column} = ?", [student_id]
        ).fetchall()
    [(rows["students"],)] = cur.execute(
        "DELETE FROM students WHERE student_id = ?", [student_id]
    ).fetchall()
    return rows


def _delete_lessons(cur: duckdb.DuckDBPyConnection, video_ids: list[int]) -> tuple[
        dict[str, int], list[int]]:
    """Delete lessons with every row derived from them and the students left with nothing, in
    ``cur``'s transaction. Returns the rows removed per table and the students removed."""
    touched: set[int] = set()
    for table in STUDENT_TABLES:
        if table.lesson_column:
            touched.update(int(sid) for (sid,) in cur.execute(
                f"SELECT DISTINCT {table.student_column} FROM {table.name}"
                f" WHERE list_contains(?::INTEGER[], {table.lesson_column})"
                f" AND {table.student_column} IS NOT NULL", [video_ids]).fetchall())
    rows = {}
    for table in LESSON_TABLES:
        [(rows[table.name],)] = cur.execute(
            f"DELETE FROM {table.name} WHERE list_contains(?::INTEGER[], {table.lesson_column})",
            [video_ids],
        ).fetchall()
    [(rows["videos"],)] = cur.execute(
        "DELETE FROM videos WHERE list_contains(?::INTEGER[], video_id)", [video_ids]
    ).fetchall()
    left = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {t.name} d WHERE d.{t.student_column} = s.student_id)"
        for t in STUDENT_TABLES
    )
    gone = sorted(int(sid) for (sid,) in cur.execute(
        f"DELETE FROM students s WHERE list_contains(?::INTEGER[], s.student_id) AND {left}"
        " RETURNING student_id", [sorted(touched)]).fetchall())
    rows["students"] = len(gone)
    return rows, gone


def _checkpoint(cur: duckdb.DuckDBPyConnection) -> None:
    """Write the deletions into the database file and empty its write-ahead log (which still
    holds the rows as they were written), where no other transaction is open; else DuckDB does
    it at its next checkpoint."""
    try:
        cur.execute("CHECKPOINT")
    except duckdb.Error:
        pass


def _remove_files(paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    removed, errors = [], []
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
        else:
            removed.append(str(path))
    return removed, errors


class LessonRemoval:
    """Listing lessons, deleting one, and purging those past the retention period."""

    # provided by Store (and ``retention_days`` by settings.StoredSettings)
    path: Path
    _cursor: Any
    _analysis_lock: Callable[[], Any]  # held while analyses begin: none can start meanwhile
    retention_days: Callable[[], int | None]

    def stored_lessons(self) -> pd.DataFrame:
        """Every lesson stored, analysed or not, oldest first: ``video_id, file_name,
        class_group, lesson_date, status, observations, students, face_embeddings, alerts``
        and ``purge_after`` (the last day it is kept: its date plus ``retention_days``; empty
        when lessons are kept until deleted)."""
        days = self.retention_days()
        with self._cursor() as cur:
            frame = cur.execute(
                f"""
                SELECT v.video_id, v.file_name, v.class_group, {LESSON_DAY} AS lesson_date,
                    v.status,
                    (SELECT count(*) FROM observations o WHERE o.video_id = v.video_id)
                        AS observations,
                    (SELECT count(DISTINCT student_id) FROM observations o
                        WHERE o.video_id = v.video_id) AS students,
                    (SELECT count(*) FROM face_embeddings e WHERE e.video_id = v.video_id)
                        AS face_embeddings,
                    (SELECT count(*) FROM alerts a WHERE a.video_id = v.video_id) AS alerts,
                    CASE WHEN ?::INTEGER IS NULL THEN NULL
                        ELSE {LESSON_DAY} + ?::INTEGER END AS purge_after
                FROM videos v ORDER BY lesson_date, v.video_id
                """,
                [days, days],
            ).df()
        for column in ("lesson_date", "purge_after"):
            frame[column] = pd.to_datetime(frame[column]).dt.date
        return frame

    def delete_lesson(self, video_id: int) -> Removal:
        """Remove a lesson with everything derived from it: its observations, staged rows, face
        embeddings and alerts, the students seen only in it, and its stored upload, in one
        transaction (the upload is removed once it has committed).

        Refused (``LessonError``) for a lesson that does not exist or is being analysed.
        """
        with self._analysis_lock():
            lessons = self._lessons_where("v.video_id = ?", [video_id])
            if lessons.empty:
                raise LessonError(f"there is no lesson {video_id}")
            if lessons["status"].iloc[0] == "running":
                raise LessonError(
                    f"lesson {video_id} ({lessons['file_name'].iloc[0]}) is being analysed: "
                    "delete it once its analysis has ended"
                )
            return self._remove(lessons, dry_run=False)

    def expired_lessons(self, today: date | None = None) -> pd.DataFrame:
        """The lessons older than the retention period on ``today`` (default: today), those
        being analysed left out; none when lessons are kept until deleted."""
        days = self.retention_days()
        if days is None:
            return self._lessons_where("false", [])
        return self._lessons_where(
            f"{LESSON_DAY} < ?::DATE - ?::INTEGER AND v.status <> 'running'",
            [today or date.today(), days],
        )

    def purge_expired(self, today: date | None = None, dry_run: bool = False) -> Removal:
        """Remove every lesson older than the retention period (``expired_lessons``) with
        everything derived from it, as ``delete_lesson`` does, in one transaction.

        ``dry_run``: say what would be removed and change nothing.
        """
        with self._analysis_lock():
            return self._remove(self.expired_lessons(today), dry_run)

    def _lessons_where(self, condition: str, params: list[Any]) -> pd.DataFrame:
        with self._cursor() as cur:
            frame = cur.execute(
                f"""
                SELECT v.video_id, v.file_name, v.class_group, {LESSON_DAY} AS lesson_date,
                    v.status, v.size_bytes, v.content_sha256
                FROM videos v WHERE {condition} ORDER BY lesson_date, v.video_id
                """,
                params,
            ).df()
        frame["lesson_date"] = pd.to_datetime(frame["lesson_date"]).dt.date
        return frame

    def _remove(self, lessons: pd.DataFrame, dry_run: bool) -> Removal:
        video_ids = [int(v) for v in lessons["video_id"]]
        # found before the rows go: the rows say which files are the lessons' uploads
        files = [
            path for lesson in lessons.itertuples()
            for path in stored_uploads(
                upload_dir(self.path),
                None if pd.isna(lesson.size_bytes) else int(lesson.size_bytes),
                str(lesson.content_sha256),
            )
        ]
        rows: dict[str, int] = {}
        students: list[int] = []
        if video_ids:
            with self._cursor() as cur:
                cur.execute("BEGIN TRANSACTION")
                try:
                    rows, students = _delete_lessons(cur, video_ids)
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("ROLLBACK" if dry_run else "COMMIT")
                if not dry_run:
                    _checkpoint(cur)
        removed, errors = ([str(p) for p in files], []) if dry_run else _remove_files(files)
        described = [
            {"video_id": int(r.video_id), "file_name": str(r.file_name),
             "class_group": None if pd.isna(r.class_group) else str(r.class_group),
             "lesson_date": None if pd.isna(r.lesson_date) else r.lesson_date.isoformat()}
            for r in lessons.itertuples()
        ]
        return Removal(described, rows, students, removed, errors, dry_run)
