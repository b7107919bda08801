"""Writing who the tracks of a finishing analysis are: students, embeddings and thumbnails.

Called by ``analysis_writes.AnalysisWrites.finish_analysis`` inside its transaction.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from emotion_core.store.records import (
    TRACK_IDENTITY_COLUMNS,
    TRACK_THUMBNAIL_COLUMNS,
    TrackIdentities,
)
from emotion_core.store.thumbnails import keep_best_thumbnails


def record_identities(
    cur: duckdb.DuckDBPyConnection, video_id: int, identities: TrackIdentities
) -> None:
    """New students for the unknown people; students onto the staged rows; embeddings."""
    tracks = identities.tracks
    missing = set(TRACK_IDENTITY_COLUMNS) - set(tracks.columns)
    if missing:
        raise ValueError(f"track identities lack columns: {sorted(missing)}")
    if tracks.empty:
        return
    students = _students_of_people(cur, video_id, tracks)
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
        _record_thumbnails(cur, video_id, identities.thumbnails, students)


def _students_of_people(
    cur: duckdb.DuckDBPyConnection, video_id: int, tracks: pd.DataFrame
) -> dict[Any, int]:
    """The student each person of the video is, creating those not known yet; a person whose
    student's identification is off is left out."""
    # (fetchall: a result left unread would keep ``register`` in the caller from running)
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
    return students


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
