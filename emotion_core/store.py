"""The DuckDB store: schema and migrations, batched writes, and the queries the app needs."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from emotion_core.emotion import EMOTIONS

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
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be opened or used; the message is meant for the user."""


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


@dataclass(frozen=True)
class AnalysisSummary:
    frames_sampled: int
    faces: int
    tracks: int
    seconds: float
    emotion_model: str
    detector: str


class Store:
    """One DuckDB file. Safe to share between threads of one process (one writer at a time)."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        if read_only and not self.path.is_file():
            raise StoreError(f"no database at {self.path}: analyse a video first")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the database {self.path} is in use by another process; wait for it to finish"
                ) from exc
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        if not read_only:
            self._migrate()
            self._recover_interrupted()
        elif self.schema_version() != SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} has schema version {self.schema_version()}, "
                f"this program needs {SCHEMA_VERSION}; open it once for writing to migrate"
            )

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Store:
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

        DuckDB lets only one process write a file, so nobody else can be running them now.
        """
        with self._transaction() as cur:
            cur.execute("DELETE FROM observations_staging")
            cur.execute(
                """
                UPDATE videos SET
                    status = CASE WHEN analysed_at IS NULL THEN 'failed' ELSE 'done' END,
                    failure_reason = 'the analysis was interrupted before it finished'
                WHERE status = 'running'
                """
            )

    # -- writing an analysis --------------------------------------------------------------------

    def begin_analysis(self, video: VideoRecord, parameters: dict[str, Any]) -> int:
        """Register a video (or find it by content) as running and return its id."""
        with self._transaction() as cur:
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
                        recorded_on = coalesce(?, recorded_on), parameters = ?,
                        status = 'running', failure_reason = NULL
                    WHERE video_id = ?
                    """,
                    [*values, video_id],
                )
            cur.execute("DELETE FROM observations_staging WHERE video_id = ?", [video_id])
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

    def finish_analysis(self, video_id: int, summary: AnalysisSummary) -> None:
        """Replace the video's observations with the staged ones and mark it done, atomically."""
        with self._transaction() as cur:
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
                    analysed_at = current_timestamp
                WHERE video_id = ?
                """,
                [summary.frames_sampled, summary.faces, summary.tracks, summary.seconds,
                 summary.emotion_model, summary.detector, video_id],
            )

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
