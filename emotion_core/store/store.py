"""The DuckDB store: schema and migrations, batched writes, and the queries the app needs."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.labels import EMOTIONS
from emotion_core.store.privacy import LessonRemoval
from emotion_core.store.roster import StudentRoster
from emotion_core.store.settings import StoredSettings
from emotion_core.store.student_export import StudentExport
from emotion_core.store.thumbnails import (
    delete_lesson_thumbnails,
    delete_student_thumbnails,
    keep_best_thumbnails,
)

DB_ENV_VAR = "CLASSROOM_DB"
DEFAULT_DB_PATH = Path("data") / "classroom.duckdb"

OBSERVATION_COLUMNS: tuple[str, ...] = (
    "video_id", "frame_index", "observed_at_s", "track_id", "student_id",
    "x1", "y1", "x2", "y2", "detection_score", *EMOTIONS, "top_emotion",
)

_OBSERVATION_COLUMNS_SQL = ",\n".join(
    [
        "video_id INTEGER NOT NULL",
        "frame_index INTEGER NOT NULL",
        "observed_at_s DOUBLE NOT NULL",
        "track_id INTEGER NOT NULL",
        "student_id INTEGER",
        "x1 REAL NOT NULL", "y1 REAL NOT NULL", "x2 REAL NOT NULL", "y2 REAL NOT NULL",
        "detection_score REAL NOT NULL",
        *[f"{e} REAL NOT NULL" for e in EMOTIONS],
        "top_emotion VARCHAR NOT NULL",
    ]
)

# Each entry moves the schema one version up; never edit one that has shipped, append a new one.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE SEQUENCE video_id_seq START 1;
    CREATE TABLE videos (
        video_id INTEGER PRIMARY KEY DEFAULT nextval('video_id_seq'),
        file_name VARCHAR NOT NULL,
        content_sha256 VARCHAR NOT NULL UNIQUE,
        size_bytes BIGINT,
        duration_s DOUBLE,
        fps DOUBLE,
        width INTEGER,
        height INTEGER,
        class_group VARCHAR,
        recorded_on DATE,
        status VARCHAR NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        failure_reason VARCHAR,
        parameters JSON,
        emotion_model VARCHAR,
        detector VARCHAR,
        frames_sampled INTEGER,
        faces INTEGER,
        tracks INTEGER,
        analysis_seconds DOUBLE,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        analysed_at TIMESTAMP
    );
    CREATE TABLE observations ({_OBSERVATION_COLUMNS_SQL});
    -- rows of analyses in progress; moved into observations in one transaction when one ends
    CREATE TABLE observations_staging ({_OBSERVATION_COLUMNS_SQL});
    """,
    """
    CREATE SEQUENCE student_id_seq START 1;
    CREATE TABLE students (
        student_id INTEGER PRIMARY KEY DEFAULT nextval('student_id_seq'),
        display_name VARCHAR NOT NULL,
        class_group VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    -- One reference embedding per track (the mean of its best chips). These identify children:
    -- they never leave this file (no export writes them) and go with their student.
    CREATE TABLE face_embeddings (
        student_id INTEGER NOT NULL,
        video_id INTEGER NOT NULL,
        track_id INTEGER NOT NULL,
        model VARCHAR NOT NULL,
        first_s DOUBLE NOT NULL,
        last_s DOUBLE NOT NULL,
        samples INTEGER NOT NULL,
        quality REAL NOT NULL,
        embedding FLOAT[] NOT NULL
    );
    -- the embedding model an analysis used; NULL when identification was off
    ALTER TABLE videos ADD COLUMN embedding_model VARCHAR;
    """,
    """
    CREATE SEQUENCE alert_id_seq START 1;
    -- what the alert rules raised (emotion_core/alerts.py), and what people decided about it
    CREATE TABLE alerts (
        alert_id INTEGER PRIMARY KEY DEFAULT nextval('alert_id_seq'),
        rule VARCHAR NOT NULL,
        video_id INTEGER NOT NULL,
        student_id INTEGER NOT NULL,
        window_start_s DOUBLE NOT NULL,
        window_end_s DOUBLE NOT NULL,
        summary VARCHAR NOT NULL,
        numbers JSON NOT NULL,
        thresholds JSON NOT NULL,
        -- raised by the latest check; a reviewed alert that a later check no longer raises is
        -- kept, inactive, so that the decision holds if the same alert is raised again
        active BOOLEAN NOT NULL DEFAULT true,
        status VARCHAR NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'dismissed', 'confirmed')),
        review_note VARCHAR,
        reviewed_at TIMESTAMP,
        raised_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        checked_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    -- what the latest check was computed from (observations, settings), to skip a check that
    -- would find the same
    CREATE TABLE alert_checks (inputs VARCHAR NOT NULL, checked_at TIMESTAMP NOT NULL);
    """,
    """
    -- what people chose (emotion_core/settings.py: retention_days, ...); a setting without a
    -- row has its default
    CREATE TABLE settings (
        name VARCHAR PRIMARY KEY,
        value JSON NOT NULL,
        changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    """,
    """
    -- the consent register (roster.py): whether a student may be identified. Turned off, the
    -- student keeps this row (name, when, note) and nothing that recognises them.
    ALTER TABLE students ADD COLUMN identification BOOLEAN NOT NULL DEFAULT true;
    ALTER TABLE students ADD COLUMN identification_changed_at TIMESTAMP;
    ALTER TABLE students ADD COLUMN identification_note VARCHAR;
    -- at most one small face thumbnail per student, only when an analysis was asked to keep
    -- them (thumbnails.py); it goes with the student and with the lesson it was taken from
    CREATE TABLE student_thumbnails (
        student_id INTEGER NOT NULL,
        video_id INTEGER NOT NULL,
        track_id INTEGER NOT NULL,
        observed_at_s DOUBLE,
        quality REAL NOT NULL,
        jpeg BLOB NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


ALERT_STATUSES: tuple[str, ...] = ("open", "dismissed", "confirmed")


class StoreError(ClassroomMoodError):
    """The database cannot be opened or used; the message is meant for the user."""


class StoreBusy(StoreError):
    """Another process holds the database file open (DuckDB lets one process write a file)."""


def default_db_path() -> Path:
    return Path(os.environ.get(DB_ENV_VAR) or DEFAULT_DB_PATH)


@dataclass(frozen=True)
class VideoRecord:
    """What is known about a video before its analysis starts."""

    file_name: str
    content_sha256: str
    size_bytes: int
    duration_s: float
    fps: float
    width: int
    height: int
    class_group: str | None = None
    recorded_on: date | None = None


# What ``finish_analysis`` needs to record who is who (see ``TrackIdentities``).
TRACK_IDENTITY_COLUMNS: tuple[str, ...] = (
    "track_id", "person", "student_id", "first_s", "last_s", "samples", "quality", "embedding",
)


@dataclass(frozen=True)
class TrackIdentities:
    """Who each track of an analysis is, written with its observations.

    ``tracks`` has one row per track, in ``TRACK_IDENTITY_COLUMNS``: ``person`` numbers the
    people of the video (tracks with one number are one person), ``student_id`` is the known
    student that person is, or missing (NA) for a new student, and ``embedding`` is the track's
    reference vector (a list of floats) of ``model``.

    ``thumbnails`` (only when the analysis keeps them) has at most one row per person, in
    ``TRACK_THUMBNAIL_COLUMNS``: the JPEG of the person's best face chip.
    """

    model: str
    tracks: pd.DataFrame
    thumbnails: pd.DataFrame | None = None


TRACK_THUMBNAIL_COLUMNS: tuple[str, ...] = ("person", "track_id", "observed_at_s", "quality", "jpeg")


@dataclass(frozen=True)
class AnalysisSummary:
    frames_sampled: int
    faces: int
    tracks: int
    seconds: float
    emotion_model: str
    detector: str


class _AnalysesInProgress:
    """The analyses running in this process, per database file.

    DuckDB lets only one process write a file, so a 'running' row not listed here was left by a
    process that died. One that is listed belongs to another ``Store`` of this process (a page
    opening the database while a background job analyses) and must be left alone.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()  # held while a Store registers or recovers analyses
        self._ids: dict[Path, set[int]] = {}

    def add(self, db: Path, video_id: int) -> None:
        with self.lock:
            self._ids.setdefault(db, set()).add(video_id)

    def discard(self, db: Path, video_ids: set[int]) -> None:
        with self.lock:
            self._ids.get(db, set()).difference_update(video_ids)

    def ids(self, db: Path) -> list[int]:
        with self.lock:
            return sorted(self._ids.get(db, ()))


_IN_PROGRESS = _AnalysesInProgress()


class Store(StudentRoster, StoredSettings, LessonRemoval, StudentExport):
    """One DuckDB file. Safe to share between threads of one process (one writer at a time).

    The students' operations (list, rename, merge, split, delete) come from ``StudentRoster``,
    the settings from ``StoredSettings``, deleting and purging lessons from ``LessonRemoval``
    (privacy.py), a student's subject access export from ``StudentExport``.
    """

    def __init__(self, path: str | Path | None = None, read_only: bool = False,
                 create: bool = True) -> None:
        """``create=False`` (implied by ``read_only``): a missing file is an error, not a new
        database."""
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        if (read_only or not create) and not self.path.is_file():
            raise StoreError(f"no database at {self.path}: analyse a video first")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(
                    f"the database {self.path} is in use by another process; wait for it to finish"
                ) from exc
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._file = self.path.resolve()
        # Parameters of analyses this Store has begun: written over an earlier analysis's only
        # when one finishes, so a failed re-analysis leaves the row describing the observations
        # that are still stored.
        self._pending_parameters: dict[int, str] = {}
        if not read_only:
            self._migrate()
            self._recover_interrupted()
        elif self.schema_version() != SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} has schema version {self.schema_version()}, "
                f"this program needs {SCHEMA_VERSION}; open it once for writing to migrate"
            )

    @classmethod
    def open_waiting(
        cls, path: str | Path | None = None, wait_s: float = 0.0,
        on_wait: Callable[[Path], None] | None = None, **options: Any,
    ) -> Self:
        """``Store(path, **options)``, waiting up to ``wait_s`` seconds while another process
        holds the file; ``on_wait`` is called once, when the waiting starts. Raises the last
        ``StoreBusy`` when the file is still held after ``wait_s``."""
        deadline = time.monotonic() + wait_s
        pause = 0.05
        waiting = False
        while True:
            try:
                return cls(path, **options)
            except StoreBusy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                if not waiting and on_wait is not None:
                    on_wait(Path(path) if path is not None else default_db_path())
                waiting = True
                time.sleep(min(pause, left))
                pause = min(pause * 2, 1.0)

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        # (the registry's lock before the Store's, in this order everywhere)
        with _IN_PROGRESS.lock, self._lock:
            # analyses begun here and never ended: the next Store to open the file recovers them
            _IN_PROGRESS.discard(self._file, set(self._pending_parameters))
            self._pending_parameters.clear()
            self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            cursor = self._con.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _analysis_lock(self) -> AbstractContextManager[Any]:
        """Held, no analysis of this process can begin (``begin_analysis``) or be recovered."""
        return _IN_PROGRESS.lock

    def schema_version(self) -> int:
        with self._cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
            ).fetchone()[0]
            if not exists:
                return 0
            row = cur.execute("SELECT max(version) FROM schema_version").fetchone()
            return int(row[0] or 0)

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} was written by a newer version of this program "
                f"(schema {current} > {SCHEMA_VERSION})"
            )
        with self._transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                cur.execute(MIGRATIONS[version - 1])
                cur.execute("INSERT INTO schema_version VALUES (?)", [version])

    def _recover_interrupted(self) -> None:
        """Analyses left 'running' by a process that died: mark them and drop their rows.

        DuckDB lets only one process write a file, so only this process can be running any; those
        it is running are left alone.
        """
        with _IN_PROGRESS.lock, self._transaction() as cur:
            alive = _IN_PROGRESS.ids(self._file)
            cur.execute(
                "DELETE FROM observations_staging WHERE NOT list_contains(?::INTEGER[], video_id)",
                [alive],
            )
            cur.execute(
                """
                UPDATE videos SET
                    status = CASE WHEN analysed_at IS NULL THEN 'failed' ELSE 'done' END,
                    failure_reason = 'the analysis was interrupted before it finished'
                WHERE status = 'running' AND NOT list_contains(?::INTEGER[], video_id)
                """,
                [alive],
            )

    # -- writing an analysis --------------------------------------------------------------------

    def begin_analysis(self, video: VideoRecord, parameters: dict[str, Any]) -> int:
        """Register a video (or find it by content) as running and return its id."""
        with _IN_PROGRESS.lock, self._transaction() as cur:
            row = cur.execute(
                "SELECT video_id FROM videos WHERE content_sha256 = ?", [video.content_sha256]
            ).fetchone()
            values = [
                video.file_name, video.size_bytes, video.duration_s, video.fps, video.width,
                video.height, video.class_group, video.recorded_on, json.dumps(parameters),
            ]
            if row is None:
                video_id = cur.execute(
                    """
                    INSERT INTO videos (file_name, size_bytes, duration_s, fps, width, height,
                        class_group, recorded_on, parameters, content_sha256, status)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running') RETURNING video_id
                    """,
                    [*values, video.content_sha256],
                ).fetchone()[0]
            else:
                video_id = row[0]
                cur.execute(
                    """
                    UPDATE videos SET file_name = ?, size_bytes = ?, duration_s = ?, fps = ?,
                        width = ?, height = ?, class_group = coalesce(?, class_group),
                        recorded_on = coalesce(?, recorded_on),
                        parameters = CASE WHEN analysed_at IS NULL THEN ? ELSE parameters END,
                        status = 'running', failure_reason = NULL
                    WHERE video_id = ?
                    """,
                    [*values, video_id],
                )
            cur.execute("DELETE FROM observations_staging WHERE video_id = ?", [video_id])
            self._pending_parameters[int(video_id)] = json.dumps(parameters)
            _IN_PROGRESS.add(self._file, int(video_id))
        return int(video_id)

    def stage_observations(self, rows: pd.DataFrame) -> None:
        """Append one batch of an analysis in progress, in its own transaction."""
        if rows.empty:
            return
        missing = set(OBSERVATION_COLUMNS) - set(rows.columns)
        if missing:
            raise ValueError(f"observation rows lack columns: {sorted(missing)}")
        with self._transaction() as cur:
            cur.register("observation_batch", rows[list(OBSERVATION_COLUMNS)])
            cur.execute("INSERT INTO observations_staging SELECT * FROM observation_batch")
            cur.unregister("observation_batch")

    def finish_analysis(
        self, video_id: int, summary: AnalysisSummary, identities: TrackIdentities | None = None
    ) -> None:
        """Replace the video's observations with the staged ones and mark it done, atomically.

        With ``identities`` the observations get their students (new ones are created, named
        "Student <id>") and the video's reference embeddings replace those of an earlier
        analysis. Without, the video has no students and no embeddings (identification off).
        Students that an earlier analysis of this video created and that are now seen nowhere
        are removed. The video's thumbnails are replaced by those of ``identities`` (none when
        the analysis keeps none). A known student whose identification was turned off while the
        video was analysed stays anonymous in it.
        """
        parameters = self._pending_parameters.get(video_id)
        with self._transaction() as cur:
            earlier = {
                int(sid) for (sid,) in cur.execute(
                    "SELECT student_id FROM face_embeddings WHERE video_id = ? UNION "
                    "SELECT student_id FROM student_thumbnails WHERE video_id = ? UNION "
                    "SELECT student_id FROM observations WHERE video_id = ? "
                    "AND student_id IS NOT NULL",
                    [video_id, video_id, video_id],
                ).fetchall()
            }
            cur.execute("DELETE FROM face_embeddings WHERE video_id = ?", [video_id])
            delete_lesson_thumbnails(cur, [video_id])
            if identities is not None:
                self._record_identities(cur, video_id, identities)
            cur.execute("DELETE FROM observations WHERE video_id = ?", [video_id])
            cur.execute(
                "INSERT INTO observations SELECT * FROM observations_staging WHERE video_id = ?"
                " ORDER BY frame_index, track_id",
                [video_id],
            )
            cur.execute("DELETE FROM observations_staging WHERE video_id = ?", [video_id])
            cur.execute(
                """
                UPDATE videos SET status = 'done', failure_reason = NULL, frames_sampled = ?,
                    faces = ?, tracks = ?, analysis_seconds = ?, emotion_model = ?, detector = ?,
                    parameters = coalesce(?, parameters), analysed_at = current_timestamp
                WHERE video_id = ?
                """,
                [summary.frames_sampled, summary.faces, summary.tracks, summary.seconds,
                 summary.emotion_model, summary.detector, parameters, video_id],
            )
            cur.execute(
                "UPDATE videos SET embedding_model = ? WHERE video_id = ?",
                [identities.model if identities is not None else None, video_id],
            )
            # (a student whose identification is off is seen nowhere, and stays on the register)
            gone = cur.execute(
                """
                DELETE FROM students s WHERE list_contains(?::INTEGER[], s.student_id)
                AND s.identification
                AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.student_id = s.student_id)
                AND NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.student_id = s.student_id)
                RETURNING student_id
                """,
                [sorted(earlier)],
            ).fetchall()
            delete_student_thumbnails(cur, [sid for (sid,) in gone])
        self._ended(video_id)

    def _record_identities(
        self, cur: duckdb.DuckDBPyConnection, video_id: int, identities: TrackIdentities
    ) -> None:
        """New students for the unknown people; students onto the staged rows; embeddings."""
        tracks = identities.tracks
        missing = set(TRACK_IDENTITY_COLUMNS) - set(tracks.columns)
        if missing:
            raise ValueError(f"track identities lack columns: {sorted(missing)}")
        if tracks.empty:
            return
        # (fetchall: a result left unread would keep ``register`` below from running)
        [(group,)] = cur.execute(
            "SELECT class_group FROM videos WHERE video_id = ?", [video_id]
        ).fetchall()
        # whether each known student may still be identified (consent can change while a video
        # is analysed; a student deleted meanwhile is a new one again)
        consent = dict(cur.execute("SELECT student_id, identification FROM students").fetchall())
        students = {}
        for person, known in tracks.groupby("person", sort=True)["student_id"].first().items():
            if not pd.isna(known) and consent.get(int(known)) is False:
                continue  # identification off: anonymous, and nothing about them is kept
            if pd.isna(known) or int(known) not in consent:
                [(new_id,)] = cur.execute("SELECT nextval('student_id_seq')").fetchall()
                cur.execute(
                    "INSERT INTO students (student_id, display_name, class_group) VALUES (?, ?, ?)",
                    [new_id, f"Student {new_id}", group],
                )
                students[person] = new_id
            else:
                students[person] = int(known)
        tracks = tracks[tracks["person"].isin(list(students))]
        if tracks.empty:
            return
        rows = pd.DataFrame({
            "student_id": tracks["person"].map(students).astype("int64"),
            "video_id": video_id,
            "track_id": tracks["track_id"].astype("int64"),
            "model": identities.model,
            "first_s": tracks["first_s"].astype(float),
            "last_s": tracks["last_s"].astype(float),
            "samples": tracks["samples"].astype("int64"),
            "quality": tracks["quality"].astype(float),
            "embedding": [list(map(float, e)) for e in tracks["embedding"]],
        })
        cur.register("track_identities", rows)
        cur.execute(
            """
            UPDATE observations_staging o SET student_id = t.student_id FROM track_identities t
            WHERE o.video_id = ? AND o.track_id = t.track_id
            """,
            [video_id],
        )
        cur.execute(
            "INSERT INTO face_embeddings SELECT student_id, video_id, track_id, model, first_s,"
            " last_s, samples, quality, embedding::FLOAT[] FROM track_identities"
        )
        cur.unregister("track_identities")
        if identities.thumbnails is not None:
            self._record_thumbnails(cur, video_id, identities.thumbnails, students)

    @staticmethod
    def _record_thumbnails(
        cur: duckdb.DuckDBPyConnection, video_id: int, thumbnails: pd.DataFrame,
        students: dict[Any, int],
    ) -> None:
        missing = set(TRACK_THUMBNAIL_COLUMNS) - set(thumbnails.columns)
        if missing:
            raise ValueError(f"track thumbnails lack columns: {sorted(missing)}")
        chosen = thumbnails[thumbnails["person"].isin(list(students))]
        rows = pd.DataFrame({
            "student_id": chosen["person"].map(students).astype("int64"),
            "video_id": video_id,
            "track_id": chosen["track_id"].astype("int64"),
            "observed_at_s": chosen["observed_at_s"].astype(float),
            "quality": chosen["quality"].astype(float),
            "jpeg": list(chosen["jpeg"]),
        })
        keep_best_thumbnails(cur, rows)

    def fail_analysis(self, video_id: int, reason: str) -> None:
        """Drop the staged rows; an earlier complete analysis of the video stays as it was."""
        with self._transaction() as cur:
            cur.execute("DELETE FROM observations_staging WHERE video_id = ?", [video_id])
            cur.execute(
                """
                UPDATE videos SET
                    status = CASE WHEN analysed_at IS NULL THEN 'failed' ELSE 'done' END,
                    failure_reason = ?
                WHERE video_id = ?
                """,
                [reason, video_id],
            )
        self._ended(video_id)

    def _ended(self, video_id: int) -> None:
        self._pending_parameters.pop(video_id, None)
        _IN_PROGRESS.discard(self._file, {video_id})

    # -- reading --------------------------------------------------------------------------------

    def videos(self) -> pd.DataFrame:
        with self._cursor() as cur:
            return cur.execute("SELECT * FROM videos ORDER BY video_id").df()

    def video(self, video_id: int) -> dict[str, Any] | None:
        with self._cursor() as cur:
            frame = cur.execute("SELECT * FROM videos WHERE video_id = ?", [video_id]).df()
        return None if frame.empty else frame.iloc[0].to_dict()

    def observations(self, video_id: int | None = None) -> pd.DataFrame:
        where, params = ("WHERE video_id = ?", [video_id]) if video_id is not None else ("", [])
        with self._cursor() as cur:
            return cur.execute(
                f"SELECT * FROM observations {where} ORDER BY video_id, frame_index, track_id",
                params,
            ).df()

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> pd.DataFrame:
        """The rows of one read-only SQL statement (for ``queries``, which holds the app's SQL).

        ``params`` are positional (``?``) or named (``$name``)."""
        with self._cursor() as cur:
            return cur.execute(sql, params if isinstance(params, Mapping) else list(params)).df()

    def export_observations(self, out: str | Path, file_format: str) -> int:
        """Write every observation, with its lesson's file name and group, to CSV or Parquet."""
        if file_format not in ("csv", "parquet"):
            raise ValueError(f"unknown export format {file_format!r}; use csv or parquet")
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with self._cursor() as cur:
            relation = cur.sql(
                """
                SELECT v.file_name, v.class_group, v.recorded_on, o.*
                FROM observations o JOIN videos v USING (video_id)
                ORDER BY o.video_id, o.frame_index, o.track_id
                """
            )
            if file_format == "csv":
                relation.write_csv(str(out))
            else:
                relation.write_parquet(str(out))
            return int(cur.execute("SELECT count(*) FROM observations").fetchone()[0])

    # -- alerts ---------------------------------------------------------------------------------

    def alert_observations(self, video_id: int, columns: Sequence[str]) -> pd.DataFrame:
        """The ``columns`` of a lesson's observations that have a student id, in time order."""
        unknown = set(columns) - set(OBSERVATION_COLUMNS)
        if unknown:
            raise ValueError(f"observations have no columns {sorted(unknown)}")
        with self._cursor() as cur:
            return cur.execute(
                f"SELECT {', '.join(columns)} FROM observations"
                " WHERE video_id = ? AND student_id IS NOT NULL ORDER BY observed_at_s, track_id",
                [video_id],
            ).df()

    def observations_fingerprint(self) -> str:
        """Changes whenever an observation is added, removed, read differently or given another
        student."""
        columns = ", ".join(["video_id", "frame_index", "track_id", "student_id",
                             "detection_score", *EMOTIONS])
        with self._cursor() as cur:
            count, digest = cur.execute(
                f"SELECT count(*), coalesce(sum(hash({columns})), 0) FROM observations"
            ).fetchone()
        return f"{count}:{digest}"

    def last_alert_check(self) -> str | None:
        """The ``inputs`` of the latest ``save_alert_check``."""
        with self._cursor() as cur:
            row = cur.execute("SELECT inputs FROM alert_checks").fetchone()
        return None if row is None else str(row[0])

    def save_alert_check(self, found: pd.DataFrame, gone: Sequence[int], inputs: str) -> None:
        """Store the result of a check, in one transaction.

        ``found``: one row per alert raised (the ``alerts`` table's columns from ``rule`` to
        ``thresholds``, the last two as dicts), with ``alert_id`` set where it is an alert
        already stored and missing where it is new. ``gone``: stored alerts not raised again;
        those nobody reviewed are deleted, the others kept inactive with their decision.
        """
        columns = ["rule", "video_id", "student_id", "window_start_s", "window_end_s",
                   "summary", "numbers", "thresholds"]
        batch = found[["alert_id", *columns]].copy()
        for column in ("numbers", "thresholds"):
            batch[column] = [json.dumps(value) for value in batch[column]]
        batch["alert_id"] = batch["alert_id"].astype("Int64")
        with self._transaction() as cur:
            cur.execute(
                "DELETE FROM alerts WHERE list_contains(?::INTEGER[], alert_id)"
                " AND status = 'open'",
                [list(gone)],
            )
            cur.execute(
                "UPDATE alerts SET active = false WHERE list_contains(?::INTEGER[], alert_id)",
                [list(gone)],
            )
            cur.register("found_alerts", batch)
            cur.execute(
                """
                UPDATE alerts SET window_start_s = f.window_start_s,
                    window_end_s = f.window_end_s, summary = f.summary, numbers = f.numbers,
                    thresholds = f.thresholds, active = true, checked_at = current_timestamp
                FROM found_alerts f WHERE alerts.alert_id = f.alert_id
                """
            )
            cur.execute(
                f"INSERT INTO alerts ({', '.join(columns)}) SELECT {', '.join(columns)}"
                " FROM found_alerts WHERE alert_id IS NULL"
                " ORDER BY video_id, student_id, window_start_s, rule"
            )
            cur.unregister("found_alerts")
            cur.execute("DELETE FROM alert_checks")
            cur.execute("INSERT INTO alert_checks VALUES (?, current_timestamp)", [inputs])

    def alerts(self, include_inactive: bool = False, alert_id: int | None = None) -> pd.DataFrame:
        """Stored alerts with their lesson's file name, group and date, newest lesson first;
        ``numbers`` and ``thresholds`` as dicts. Only those the latest check raised unless
        ``include_inactive``."""
        conditions, params = [], []
        if not include_inactive:
            conditions.append("a.active")
        if alert_id is not None:
            conditions.append("a.alert_id = ?")
            params.append(alert_id)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._cursor() as cur:
            frame = cur.execute(
                f"""
                SELECT a.*, v.file_name, v.class_group, v.recorded_on
                FROM alerts a LEFT JOIN videos v USING (video_id) {where}
                ORDER BY v.recorded_on DESC NULLS LAST, a.video_id DESC, a.student_id,
                    a.window_start_s, a.rule
                """,
                params,
            ).df()
        for column in ("numbers", "thresholds"):
            frame[column] = [json.loads(value) for value in frame[column]]
        return frame

    def alert(self, alert_id: int) -> dict[str, Any] | None:
        frame = self.alerts(include_inactive=True, alert_id=alert_id)
        return None if frame.empty else frame.iloc[0].to_dict()

    def review_alert(self, alert_id: int, status: str, note: str | None = None) -> None:
        """Record a person's decision: ``dismissed``, ``confirmed``, or ``open`` to undo one."""
        if status not in ALERT_STATUSES:
            raise ValueError(f"an alert's status is one of {', '.join(ALERT_STATUSES)}, not {status!r}")
        with self._transaction() as cur:
            row = cur.execute(
                """
                UPDATE alerts SET status = ?, review_note = ?,
                    reviewed_at = CASE WHEN ? = 'open' THEN NULL ELSE current_timestamp END
                WHERE alert_id = ? RETURNING alert_id
                """,
                [status, note, status, alert_id],
            ).fetchone()
        if row is None:
            raise KeyError(f"there is no alert {alert_id}")
