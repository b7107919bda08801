"""Face thumbnails: one small JPEG per student, opt-in, so staff can tell who a pseudonym is.

Only an analysis run with ``AnalysisSettings.store_thumbnails`` keeps them, and only for students
whose identification is on. A thumbnail is the best-quality face chip of the student's best
track (the chip the embedding model was given), shrunk to ``THUMBNAIL_PX`` square: never a
frame. A student has at most one, the best-quality one seen; it goes with the student (delete,
identification turned off) and with the lesson it came from.

The SQL that removes thumbnails is here, so that whatever deletes students or lessons can call
it inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

# What ``keep_best_thumbnails`` takes: one row per student.
THUMBNAIL_COLUMNS: tuple[str, ...] = (
    "student_id", "video_id", "track_id", "observed_at_s", "quality", "jpeg",
)


def keep_best_thumbnails(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Store each row's thumbnail where its student has none yet or a worse one.

    Students whose identification is off (or who do not exist) get none.
    """
    missing = set(THUMBNAIL_COLUMNS) - set(rows.columns)
    if missing:
        raise ValueError(f"thumbnail rows lack columns: {sorted(missing)}")
    if rows.empty:
        return
    batch = rows[list(THUMBNAIL_COLUMNS)].copy()
    batch["jpeg"] = [bytes(j) for j in batch["jpeg"]]
    if batch["student_id"].duplicated().any():
        raise ValueError("thumbnail rows hold one row per student")
    cur.register("new_thumbnails", batch)
    cur.execute(
        "DELETE FROM student_thumbnails t USING new_thumbnails n"
        " WHERE t.student_id = n.student_id AND n.quality > t.quality"
    )
    cur.execute(
        """
        INSERT INTO student_thumbnails (student_id, video_id, track_id, observed_at_s, quality,
            jpeg)
        SELECT n.student_id, n.video_id, n.track_id, n.observed_at_s, n.quality, n.jpeg::BLOB
        FROM new_thumbnails n JOIN students s ON s.student_id = n.student_id
        WHERE s.identification AND NOT EXISTS (
            SELECT 1 FROM student_thumbnails t WHERE t.student_id = n.student_id)
        """
    )
    cur.unregister("new_thumbnails")


def delete_student_thumbnails(cur: duckdb.DuckDBPyConnection, student_ids: Sequence[int]) -> None:
    """Remove the thumbnails of these students (call inside the caller's transaction)."""
    cur.execute(
        "DELETE FROM student_thumbnails WHERE list_contains(?::INTEGER[], student_id)",
        [[int(s) for s in student_ids]],
    )


def delete_lesson_thumbnails(cur: duckdb.DuckDBPyConnection, video_ids: Sequence[int]) -> None:
    """Remove the thumbnails taken from these lessons (call inside the transaction that deletes
    or purges the lessons, or re-analyses one)."""
    cur.execute(
        "DELETE FROM student_thumbnails WHERE list_contains(?::INTEGER[], video_id)",
        [[int(v) for v in video_ids]],
    )


def merge_thumbnails(cur: duckdb.DuckDBPyConnection, keep_id: int, merged_id: int) -> None:
    """Two students become ``keep_id``: the better of their two thumbnails stays, as
    ``keep_id``'s."""
    held = cur.execute(
        "SELECT student_id FROM student_thumbnails WHERE student_id IN (?, ?)"
        " ORDER BY quality DESC, student_id = ? DESC",
        [keep_id, merged_id, keep_id],
    ).fetchall()
    for (worse,) in held[1:]:
        cur.execute("DELETE FROM student_thumbnails WHERE student_id = ?", [worse])
    cur.execute(
        "UPDATE student_thumbnails SET student_id = ? WHERE student_id = ?", [keep_id, merged_id]
    )
