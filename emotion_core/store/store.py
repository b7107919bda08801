"""The DuckDB store: opening the file, migrating its schema, and the connection its parts share.

Every part of ``Store`` (the mixins it is made of) runs its SQL on that connection, one writer
at a time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.store.analysis_writes import AnalysisWrites
from emotion_core.store.in_progress import ANALYSES_IN_PROGRESS
from emotion_core.store.lesson_reads import LessonReads
from emotion_core.store.privacy import LessonRemoval
from emotion_core.store.roster import StudentRoster
from emotion_core.store.schema import MIGRATIONS, SCHEMA_VERSION
from emotion_core.store.settings import StoredSettings
from emotion_core.store.stored_alerts import StoredAlerts
from emotion_core.store.student_export import StudentExport

DB_ENV_VAR = "CLASSROOM_DB"
DEFAULT_DB_PATH = Path("data") / "classroom.duckdb"


class StoreError(ClassroomMoodError):
    """The database cannot be opened or used; the message is meant for the user."""


class StoreBusy(StoreError):
    """Another process holds the database file open (DuckDB lets one process write a file)."""


def default_db_path() -> Path:
    return Path(os.environ.get(DB_ENV_VAR) or DEFAULT_DB_PATH)


class Store(AnalysisWrites, LessonReads, StoredAlerts, StudentRoster, StoredSettings,
            LessonRemoval, StudentExport):
    """One DuckDB file. Safe to share between threads of one process (one writer at a time).

    Writing an analysis comes from ``AnalysisWrites``, reading lessons and observations from
    ``LessonReads``, the alerts from ``StoredAlerts``, the students' operations (list, rename,
    merge, split, delete) from ``StudentRoster``, the settings from ``StoredSettings``, deleting
    and purging lessons from ``LessonRemoval`` (privacy.py), a student's subject access export
    from ``StudentExport``.
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
        with ANALYSES_IN_PROGRESS.lock, self._lock:
            # analyses begun here and never ended: the next Store to open the file recovers them
            ANALYSES_IN_PROGRESS.discard(self._file, set(self._pending_parameters))
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
        return ANALYSES_IN_PROGRESS.lock

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
        with ANALYSES_IN_PROGRESS.lock, self._transaction() as cur:
            alive = ANALYSES_IN_PROGRESS.ids(self._file)
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

    # -- reading --------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> pd.DataFrame:
        """The rows of one read-only SQL statement (for ``queries``, which holds the app's SQL).

        ``params`` are positional (``?``) or named (``$name``)."""
        with self._cursor() as cur:
            return cur.execute(sql, params if isinstance(params, Mapping) else list(params)).df()
