"""Writing an analysis: register the video, stage its rows, then land or drop them atomically.

The staged observations become the video's observations (with who is who) in one transaction
when the analysis finishes, and are dropped if it fails, leaving an earlier analysis in place.
``AnalysisWrites`` is part of ``store.Store``; its methods run on the store's connection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from emotion_core.store.identity_writes import record_identities
from emotion_core.store.in_progress import ANALYSES_IN_PROGRESS
from emotion_core.store.records import AnalysisSummary, TrackIdentities, VideoRecord
from emotion_core.store.schema import OBSERVATION_COLUMNS
from emotion_core.store.thumbnails import delete_lesson_thumbnails, delete_student_thumbnails


class AnalysisWrites:
    """An analysis's rows: ``begin_analysis``, ``stage_observations`` per batch, then
    ``finish_analysis`` or ``fail_analysis``."""

    # provided by Store
    _cursor: Any
    _transaction: Any
    _file: Path
    _pending_parameters: dict[int, str]  # (see ``Store.__init__``)

    def begin_analysis(self, video: VideoRecord, parameters: dict[str, Any]) -> int:
        """Register a video (or find it by content) as running and return its id."""
        with ANALYSES_IN_PROGRESS.lock, self._transaction() as cur:
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
            ANALYSES_IN_PROGRESS.add(self._file, int(video_id))
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
            earlier = _students_of_lesson(cur, video_id)
            cur.execute("DELETE FROM face_embeddings WHERE video_id = ?", [video_id])
            delete_lesson_thumbnails(cur, [video_id])
            if identities is not None:
                record_identities(cur, video_id, identities)
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
            _delete_unseen_students(cur, earlier)
        self._ended(video_id)

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
        ANALYSES_IN_PROGRESS.discard(self._file, {video_id})


def _students_of_lesson(cur: duckdb.DuckDBPyConnection, video_id: int) -> set[int]:
    """The students the stored rows of a lesson (embeddings, thumbnails, observations) name."""
    return {
        int(sid) for (sid,) in cur.execute(
            "SELECT student_id FROM face_embeddings WHERE video_id = ? UNION "
            "SELECT student_id FROM student_thumbnails WHERE video_id = ? UNION "
            "SELECT student_id FROM observations WHERE video_id = ? "
            "AND student_id IS NOT NULL",
            [video_id, video_id, video_id],
        ).fetchall()
    }


def _delete_unseen_students(cur: duckdb.DuckDBPyConnection, student_ids: set[int]) -> None:
    """Delete those of ``student_ids`` that are now seen nowhere, with their thumbnails."""
    # (a student whose identification is off is seen nowhere, and stays on the register)
    gone = cur.execute(
        """
        DELETE FROM students s WHERE list_contains(?::INTEGER[], s.student_id)
        AND s.identification
        AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.student_id = s.student_id)
        AND NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.student_id = s.student_id)
        RETURNING student_id
        """,
        [sorted(student_ids)],
    ).fetchall()
    delete_student_thumbnails(cur, [sid for (sid,) in gone])
