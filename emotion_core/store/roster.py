"""The students of the database: listing them, the corrections a person makes to who is who, and
the consent register (whether each student may be identified at all).

``StudentRoster`` is part of ``store.Store`` (kept apart so each file has one idea); its methods
run on the store's connection, each correction in one transaction.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.store.privacy import STUDENT_TABLES, delete_student_rows
from emotion_core.store.thumbnails import merge_thumbnails

# seconds a sampled observation stands for: 1 / the sampling rate the analysis used
_SECONDS_PER_OBSERVATION = "1.0 / coalesce(TRY_CAST(v.parameters->>'sample_fps' AS DOUBLE), 2.0)"
# the day a lesson happened: its recorded date, else the day it was analysed
_LESSON_DAY = "coalesce(v.recorded_on, CAST(v.analysed_at AS DATE))"


class RosterError(ClassroomMoodError, ValueError):
    """A students' operation that cannot be done; the message is meant for the user."""


class StudentRoster:
    """Students: who was seen, how often and when, merge / split / rename / delete, and the
    consent register (``set_identification``)."""

    # provided by Store
    _cursor: Any
    _transaction: Any

    # -- reading --------------------------------------------------------------------------------

    def students(self, class_group: str | None = None) -> pd.DataFrame:
        """One row per student, with how often and when they were seen.

        Columns: ``student_id``, ``display_name``, ``class_group``, ``created_at``, ``lessons``
        (videos they appear in), ``tracks``, ``observations``, ``seconds_seen`` (observations
        times the sampling interval), ``first_seen_on`` and ``last_seen_on`` (lesson dates: the
        recorded date, else the day of analysis), ``has_reference`` (an embedding is stored),
        ``identification`` (the consent register: False once turned off),
        ``identification_changed_at``, ``identification_note`` and ``has_thumbnail``.
        """
        where, params = ("WHERE s.class_group = ?", [class_group]) if class_group else ("", [])
        with self._cursor() as cur:
            return cur.execute(
                f"""
                SELECT s.student_id, s.display_name, s.class_group, s.created_at,
                    count(DISTINCT o.video_id) AS lessons,
                    count(DISTINCT (o.video_id, o.track_id)) AS tracks,
                    count(o.video_id) AS observations,
                    coalesce(sum({_SECONDS_PER_OBSERVATION}), 0.0) AS seconds_seen,
                    min({_LESSON_DAY}) AS first_seen_on,
                    max({_LESSON_DAY}) AS last_seen_on,
                    EXISTS (SELECT 1 FROM face_embeddings e WHERE e.student_id = s.student_id)
                        AS has_reference,
                    s.identification, s.identification_changed_at, s.identification_note,
                    EXISTS (SELECT 1 FROM student_thumbnails t WHERE t.student_id = s.student_id)
                        AS has_thumbnail
                FROM students s
                LEFT JOIN observations o ON o.student_id = s.student_id
                LEFT JOIN videos v ON v.video_id = o.video_id
                {where}
                GROUP BY s.student_id, s.display_name, s.class_group, s.created_at,
                    s.identification, s.identification_changed_at, s.identification_note
                ORDER BY s.student_id
                """,
                params,
            ).df()

    def student(self, student_id: int) -> dict[str, Any] | None:
        """The ``students()`` row of one student, or None."""
        frame = self.students()
        frame = frame[frame["student_id"] == student_id]
        return None if frame.empty else frame.iloc[0].to_dict()

    def student_lessons(self, student_id: int) -> pd.DataFrame:
        """The lessons a student appears in: ``video_id``, ``file_name``, ``class_group``,
        ``lesson_on``, ``tracks``, ``observations``, ``seconds_seen``, ``first_seen_s``,
        ``last_seen_s`` (times within the video), oldest lesson first."""
        with self._cursor() as cur:
            return cur.execute(
                f"""
                SELECT v.video_id, v.file_name, v.class_group, {_LESSON_DAY} AS lesson_on,
                    count(DISTINCT o.track_id) AS tracks, count(*) AS observations,
                    sum({_SECONDS_PER_OBSERVATION}) AS seconds_seen,
                    min(o.observed_at_s) AS first_seen_s, max(o.observed_at_s) AS last_seen_s
                FROM observations o JOIN videos v ON v.video_id = o.video_id
                WHERE o.student_id = ?
                GROUP BY ALL ORDER BY lesson_on, v.video_id
                """,
                [student_id],
            ).df()

    def student_tracks(self, student_id: int) -> pd.DataFrame:
        """The tracks (continuous sightings) that make up a student, for checking and splitting:
        ``video_id``, ``file_name``, ``track_id``, ``observations``, ``first_seen_s``,
        ``last_seen_s``, ``top_emotion`` (the most frequent one)."""
        with self._cursor() as cur:
            return cur.execute(
                """
                SELECT o.video_id, v.file_name, o.track_id, count(*) AS observations,
                    min(o.observed_at_s) AS first_seen_s, max(o.observed_at_s) AS last_seen_s,
                    mode(o.top_emotion) AS top_emotion
                FROM observations o JOIN videos v ON v.video_id = o.video_id
                WHERE o.student_id = ?
                GROUP BY ALL ORDER BY o.video_id, first_seen_s, o.track_id
                """,
                [student_id],
            ).df()

    def reference_embeddings(
        self, model: str, class_group: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The students' reference vectors of one embedding model, for matching a new video.

        Returns ``student_ids`` (M,) and ``centroids`` (M, D): per student the unit-length mean
        of its tracks' embeddings, each weighted by the chips it was made from. With
        ``class_group``, only that group's students and those of no group. Vectors of other
        models are never read, nor those of a student whose identification is off (they have
        none: turning it off deletes them).
        """
        where = "AND (s.class_group = ? OR s.class_group IS NULL)" if class_group else ""
        params = [model, class_group] if class_group else [model]
        with self._cursor() as cur:
            rows = cur.execute(
                f"""
                SELECT e.student_id, e.samples, e.embedding
                FROM face_embeddings e JOIN students s ON s.student_id = e.student_id
                WHERE e.model = ? AND s.identification {where}
                ORDER BY e.student_id
                """,
                params,
            ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.array([r[2] for r in rows], dtype=np.float64) * np.array(
            [r[1] for r in rows], dtype=np.float64
        )[:, None]
        student_ids, first = np.unique(ids, return_index=True)
        sums = np.add.reduceat(vectors, first, axis=0)
        centroids = sums / np.clip(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12, None)
        return student_ids, centroids.astype(np.float32)

    def embedding_models(self) -> list[str]:
        """The embedding models the stored reference vectors come from, most vectors first."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT model FROM face_embeddings GROUP BY model ORDER BY count(*) DESC, model"
            ).fetchall()
        return [r[0] for r in rows]

    def student_thumbnail(self, student_id: int) -> dict[str, Any] | None:
        """The student's face thumbnail (``jpeg`` bytes, ``video_id``, ``file_name``,
        ``track_id``, ``observed_at_s``, ``quality``), or None: only analyses asked to keep
        thumbnails store one."""
        with self._cursor() as cur:
            row = cur.execute(
                """
                SELECT t.jpeg, t.video_id, v.file_name, t.track_id, t.observed_at_s, t.quality
                FROM student_thumbnails t LEFT JOIN videos v ON v.video_id = t.video_id
                WHERE t.student_id = ?
                """,
                [student_id],
            ).fetchone()
        if row is None:
            return None
        keys = ("jpeg", "video_id", "file_name", "track_id", "observed_at_s", "quality")
        return dict(zip(keys, row)) | {"jpeg": bytes(row[0])}

    # -- the consent register ---------------------------------------------------------------------

    def set_identification(self, student_id: int, on: bool, note: str | None = None) -> bool:
        """Turn identification on or off for a student; returns whether it changed.

        Off, in one transaction: the student's face embeddings and thumbnail are deleted, their
        observations stay in the class-level figures but anonymous (no student, so no series of
        their own), their alerts are removed, and the register keeps their row (name, group,
        when, ``note``) with identification off. Nothing that could recognise them is kept, so
        a later lesson analysed with identification on makes them a new student.

        On: only later lessons are affected; nothing removed comes back.
        """
        if not isinstance(on, bool):
            raise RosterError(f"identification is on or off (True or False), not {on!r}")
        note = (note or "").strip() or None
        with self._transaction() as cur:
            self._require(cur, student_id)
            [(current,)] = cur.execute(
                "SELECT identification FROM students WHERE student_id = ?", [student_id]
            ).fetchall()
            if current == on:
                return False
            if not on:
                # the observations stay, anonymous; every other row about them goes
                for table in STUDENT_TABLES:
                    if table.name == "observations":
                        cur.execute("UPDATE observations SET student_id = NULL"
                                    f" WHERE {table.student_column} = ?", [student_id])
                    else:
                        cur.execute(f"DELETE FROM {table.name} WHERE {table.student_column} = ?",
                                    [student_id])
            cur.execute(
                """
                UPDATE students SET identification = ?, identification_note = ?,
                    identification_changed_at = current_timestamp
                WHERE student_id = ?
                """,
                [on, note, student_id],
            )
        return True

    # -- corrections ----------------------------------------------------------------------------

    def rename_student(self, student_id: int, display_name: str) -> None:
        """Give a student another name (names are pseudonyms, "Student 7", until changed)."""
        name = display_name.strip()
        if not name:
            raise RosterError("a student's name cannot be empty")
        with self._transaction() as cur:
            self._require(cur, student_id)
            cur.execute(
                "UPDATE students SET display_name = ? WHERE student_id = ?", [name, student_id]
            )

    def merge_students(self, keep_id: int, merged_id: int) -> None:
        """Make two students one: ``merged_id``'s observations and embeddings become
        ``keep_id``'s, and ``merged_id`` is removed.

        Refused when both were seen in one frame of a video: two faces at once are two people,
        and when either's identification is off (turn it on first: the register row of a student
        whose consent came back can take the new student a later lesson made of them). Of two
        thumbnails the better one stays.
        """
        if keep_id == merged_id:
            raise RosterError("a student cannot be merged with itself")
        with self._transaction() as cur:
            self._require(cur, keep_id)
            self._require(cur, merged_id)
            for sid in (keep_id, merged_id):
                self._require_identification(cur, sid, "merged")
            together = cur.execute(
                """
                SELECT a.video_id, min(a.observed_at_s) FROM observations a JOIN observations b
                    ON a.video_id = b.video_id AND a.frame_index = b.frame_index
                WHERE a.student_id = ? AND b.student_id = ?
                GROUP BY a.video_id ORDER BY a.video_id LIMIT 1
                """,
                [keep_id, merged_id],
            ).fetchone()
            if together is not None:
                raise RosterError(
                    f"students {keep_id} and {merged_id} are both seen at {together[1]:.1f} s of "
                    f"video {together[0]}: they are two people"
                )
            for table in ("observations", "face_embeddings"):
                cur.execute(
                    f"UPDATE {table} SET student_id = ? WHERE student_id = ?", [keep_id, merged_id]
                )
            merge_thumbnails(cur, keep_id, merged_id)
            cur.execute("DELETE FROM students WHERE student_id = ?", [merged_id])

    def split_track(self, video_id: int, track_id: int, display_name: str | None = None) -> int:
        """Take one track of a video off the student it was given, as a new student.

        The track's observations and embedding move to the new student (named ``display_name``,
        or "Student <id>"), who can then be merged with the right one, and so does the
        student's thumbnail if it was taken from that track. Returns the new id.
        """
        with self._transaction() as cur:
            row = cur.execute(
                """
                SELECT any_value(o.student_id), count(*), any_value(s.class_group)
                FROM observations o LEFT JOIN students s ON s.student_id = o.student_id
                WHERE o.video_id = ? AND o.track_id = ?
                """,
                [video_id, track_id],
            ).fetchone()
            if row is None or row[1] == 0:
                raise RosterError(f"video {video_id} has no track {track_id}")
            if row[0] is None:
                raise RosterError(
                    f"track {track_id} of video {video_id} has no student "
                    "(it was analysed with identification off, or the student's was turned off)"
                )
            new_id = int(cur.execute("SELECT nextval('student_id_seq')").fetchone()[0])
            name = (display_name or "").strip() or f"Student {new_id}"
            cur.execute(
                "INSERT INTO students (student_id, display_name, class_group) VALUES (?, ?, ?)",
                [new_id, name, row[2]],
            )
            for table in ("observations", "face_embeddings", "student_thumbnails"):
                cur.execute(
                    f"UPDATE {table} SET student_id = ? WHERE video_id = ? AND track_id = ?",
                    [new_id, video_id, track_id],
                )
        return new_id

    def delete_student(self, student_id: int) -> dict[str, int]:
        """Remove a student with everything stored about them (every table in
        ``privacy.STUDENT_TABLES``: observations, embeddings, the thumbnail, the alerts raised
        about them). Returns the rows removed per table."""
        with self._transaction() as cur:
            self._require(cur, student_id)
            return delete_student_rows(cur, student_id)

    @staticmethod
    def _require(cur: duckdb.DuckDBPyConnection, student_id: int) -> None:
        found = cur.execute(
            "SELECT 1 FROM students WHERE student_id = ?", [student_id]
        ).fetchone()
        if found is None:
            raise RosterError(f"there is no student {student_id}")

    @staticmethod
    def _require_identification(cur: duckdb.DuckDBPyConnection, student_id: int,
                                action: str) -> None:
        [(on,)] = cur.execute(
            "SELECT identification FROM students WHERE student_id = ?", [student_id]
        ).fetchall()
        if not on:
            raise RosterError(
                f"student {student_id}'s identification is off: they cannot be {action} "
                "(turn it on first)"
            )

