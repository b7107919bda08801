"""Reading the lessons and their observations as stored, and exporting the observations.

``LessonReads`` is part of ``store.Store``; its methods run on the store's connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


class LessonReads:
    """The ``videos`` and ``observations`` tables, row by row as stored."""

    # provided by Store
    _cursor: Any

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
        """Write every observation, with its lesson's file name and group, to CSV or Parquet.

        Every face seen is a row, with what decided whether it could be read (``readable``,
        ``face_height_px``, ``yaw_deg``, ``pitch_deg``, ``sharpness``); the emotion columns are
        empty for the faces that could not: filter on ``readable`` for the readings."""
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
