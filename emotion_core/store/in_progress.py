"""The analyses running in this process, so a Store recovers only those a dead process left."""

from __future__ import annotations

import threading
from pathlib import Path


class AnalysesInProgress:
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


ANALYSES_IN_PROGRESS = AnalysesInProgress()
