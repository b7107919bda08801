"""The subject access export: one zip with everything the database holds about one student.

What it holds (``CONTENTS``): the student's row, the lessons they were seen in, every
observation of them with its lesson's file name, group and date (CSV), the alerts raised about
them with their numbers and what people decided (JSON), their face embeddings (JSON), and any
other table of ``privacy.STUDENT_TABLES`` as JSON. It is the one place embeddings leave the
database, because a subject access request asks for all data held: the README inside says so.
``StudentExport`` is part of ``store.Store``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emotion_core.store.privacy import LESSON_DAY, STUDENT_TABLES
from emotion_core.store.roster import RosterError

FORMAT_VERSION = 1
# what the tables written as <table>.json hold, in words for README.txt
_TABLE_WORDS: dict[str, str] = {
    "student_thumbnails": "the student's face thumbnail, if one was kept: a small JPEG of "
                          "their face (base64)",
}
CONTENTS: dict[str, str] = {
    "README.txt": "what this export is and what each file holds",
    "student.json": "the student's row, how often and when they were seen, the lessons they "
                    "were seen in, and counts of everything below",
    "observations.csv": "one row per sighting of the student's face in a sampled frame: the "
                        "lesson (file name, group, date), time in the lesson, the face's box, "
                        "the detector's score, the probability of each expression, the face's "
                        "height in pixels, head pose (yaw, pitch) and sharpness, and whether "
                        "its expression could be read (readable; where it could not, the "
                        "expression columns are empty)",
    "alerts.json": "the alerts raised about the student, the numbers behind each and what "
                   "people decided (status, note, when)",
    "face_embeddings.json": "the face embeddings: numeric vectors computed from the student's "
                            "face, one per sighting (track), that can recognise them",
}
_README = """Subject access export: every piece of data Classroom mood holds about one student.

Student: {name} (id {student_id}), exported {exported_at}.

THIS FILE IDENTIFIES A CHILD. face_embeddings.json holds face embeddings: numbers computed
from the child's face that can recognise them in other pictures. They are included because
this export is meant to be everything the database holds about them. Keep this file as
safely as the database itself, and delete it once it has been handed over.

No picture of the child is stored by the app, so none is in here.

Files:
{files}
"""


@dataclass(frozen=True)
class ExportSummary:
    path: str
    student_id: int
    lessons: int
    observations: int
    alerts: int
    face_embeddings: int
    files: list[str]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, missing as null, bytes as base64."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """DATE columns as dates (DuckDB hands them over as midnight timestamps)."""
    for column in columns:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in frame.to_dict(orient="records")]


class StudentExport:
    """``export_student``: a student's subject access export."""

    # provided by Store
    _cursor: Any
    student: Any
    student_lessons: Any

    def export_student(self, student_id: int, out_path: str | Path) -> ExportSummary:
        """Write the student's export (a zip, see ``CONTENTS``) to ``out_path``.

        Written beside ``out_path`` and moved there once complete, so a failure leaves no
        partial file; an existing file there is replaced. ``RosterError`` for an unknown
        student (and nothing is written).
        """
        out = Path(out_path)
        if out.is_dir():
            raise RosterError(f"{out} is a folder: give the export a file name, e.g. "
                              f"{out / f'student_{student_id}.zip'}")
        data, summary = self._export(student_id, out)
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        try:
            with os.fdopen(handle, "wb") as fh:
                fh.write(data)
            os.replace(temporary, out)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return summary

    def student_export_bytes(self, student_id: int) -> bytes:
        """The export of ``export_student`` as bytes (for a download button)."""
        return self._export(student_id, Path(f"student_{student_id}.zip"))[0]

    def _export(self, student_id: int, out: Path) -> tuple[bytes, ExportSummary]:
        with self._cursor() as cur:
            # one snapshot: nothing written meanwhile shows in one file and not another
            cur.execute("BEGIN TRANSACTION")
            try:
                tables = self._read(cur, student_id)
            finally:
                cur.execute("ROLLBACK")
        summary = self.student(student_id) or {}
        lessons = _dates(self.student_lessons(student_id), "lesson_on")
        exported_at = datetime.now().astimezone().isoformat(timespec="seconds")
        student_row = _records(tables.pop("students"))[0]
        extra = {name: frame for name, frame in tables.items()
                 if name not in ("observations", "alerts", "face_embeddings")}
        files = {**CONTENTS, **{
            f"{name}.json": _TABLE_WORDS.get(name, f"the student's rows of table {name}")
            for name in extra}}
        counts = {name: len(frame) for name, frame in tables.items()}
        document = {
            "format_version": FORMAT_VERSION,
            "exported_at": exported_at,
            "student": student_row,
            "seen": _plain({key: summary.get(key) for key in (
                "lessons", "tracks", "observations", "seconds_seen")} | {
                key: None if pd.isna(summary.get(key)) else pd.Timestamp(summary[key]).date()
                for key in ("first_seen_on", "last_seen_on")}),
            "lessons": _records(lessons),
            "counts": counts,
            "files": files,
            "contains_face_embeddings": counts["face_embeddings"] > 0,
        }
        alerts = tables["alerts"].copy()
        for column in ("numbers", "thresholds"):
            alerts[column] = [json.loads(value) for value in alerts[column]]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            listing = "\n".join(f"  {name}: {what}" for name, what in files.items())
            archive.writestr("README.txt", _README.format(
                name=student_row["display_name"], student_id=student_id,
                exported_at=exported_at, files=listing))
            archive.writestr("student.json", json.dumps(document, indent=2))
            archive.writestr("observations.csv", tables["observations"].to_csv(index=False))
            archive.writestr("alerts.json", json.dumps(_records(alerts), indent=2))
            archive.writestr("face_embeddings.json",
                             json.dumps(_records(tables["face_embeddings"])))
            for name, frame in extra.items():
                archive.writestr(f"{name}.json", json.dumps(_records(frame), indent=2))
        return buffer.getvalue(), ExportSummary(
            str(out), student_id, len(lessons), counts["observations"], counts["alerts"],
            counts["face_embeddings"], list(files),
        )

    @staticmethod
    def _read(cur: Any, student_id: int) -> dict[str, pd.DataFrame]:
        """The student's row and their rows of every table in ``STUDENT_TABLES``; the
        observations and alerts with their lesson's file name, group and date."""
        student = cur.execute("SELECT * FROM students WHERE student_id = ?", [student_id]).df()
        if student.empty:
            raise RosterError(f"there is no student {student_id}")
        tables = {"students": student}
        with_lesson = {
            "observations": "ORDER BY o.video_id, o.frame_index, o.track_id",
            "alerts": "ORDER BY o.video_id, o.window_start_s, o.rule",
        }
        for table in STUDENT_TABLES:
            if table.name in with_lesson:
                sql = (f"SELECT v.file_name, v.class_group, {LESSON_DAY} AS lesson_date, o.*"
                       f" FROM {table.name} o LEFT JOIN videos v USING (video_id)"
                       f" WHERE o.{table.student_column} = ? {with_lesson[table.name]}")
            else:
                sql = f"SELECT * FROM {table.name} WHERE {table.student_column} = ?"
            tables[table.name] = _dates(cur.execute(sql, [student_id]).df(), "lesson_date")
        return tables
