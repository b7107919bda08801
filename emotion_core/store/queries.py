"""The questions the dashboard asks of the store, each answered as a DataFrame.

Pages hold no SQL: they call these and draw. A lesson counts once an analysis of it has finished
(``analysed_at`` set); a re-analysis in progress leaves its earlier rows in place until it ends.
Expression shares and mood indexes are over readable faces only (``observations.readable``):
a face that could not be read has no emotion reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from emotion_core.core.labels import EMOTIONS, NEGATIVE_EMOTIONS
from emotion_core.store.store import Store

POSITIVE_EMOTIONS: tuple[str, ...] = ("happy",)
# Shown for lessons analysed without a class or group name.
NO_GROUP = "(no class given)"
# Time bins of a lesson timeline: the smallest of these that gives at most MAX_BINS bins.
NICE_BIN_SECONDS: tuple[float, ...] = (2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
MAX_BINS = 60

# over readable faces only (the others have NULL emotions anyway: the filter says so in words)
_READ = "FILTER (WHERE readable)"
_MEANS = ", ".join(f"avg({e}) {_READ} AS {e}" for e in EMOTIONS)
_INDEX = (
    f"avg({' + '.join(POSITIVE_EMOTIONS)}) {_READ}"
    f" - avg({' + '.join(NEGATIVE_EMOTIONS)}) {_READ} AS mood_index"
)
_LESSON_DATE = "coalesce(v.recorded_on, CAST(v.analysed_at AS DATE))"
_READABLE = f"count(*) {_READ} AS readable_faces"


def data_version(store: Store) -> str:
    """Changes whenever an analysis lands or a lesson goes: the key for cached query results."""
    row = store.query(
        "SELECT count(*) AS n, max(analysed_at) AS last, max(video_id) AS top,"
        " (SELECT count(*) FROM observations) AS obs FROM videos"
    ).iloc[0]
    return f"{row.n}:{row['last']}:{row.top}:{row.obs}"


def class_groups(store: Store) -> list[str]:
    """The classes with at least one analysed lesson, by name."""
    frame = store.query(
        "SELECT DISTINCT coalesce(class_group, ?) AS g FROM videos v"
        " WHERE analysed_at IS NOT NULL ORDER BY g",
        [NO_GROUP],
    )
    return frame["g"].tolist()


def lessons(
    store: Store,
    class_group: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """One row per analysed lesson, oldest first.

    Columns: ``video_id, file_name, class_group, lesson_date`` (the recorded date, else the day
    it was analysed), ``duration_s, size_bytes, frames_sampled, observations`` (faces seen),
    ``readable_faces`` (of those, the faces whose expression could be read), ``faces_per_frame,
    tracks, students``, the mean probability of each emotion over the readable faces (its
    share of the lesson), ``top_emotion`` (the largest share), ``mood_index`` (mean positive
    minus mean negative probability, -1…1) and ``emotion_model``.
    """
    frame = store.query(
        f"""
        WITH per_lesson AS (
            SELECT video_id, count(*) AS observations, {_READABLE},
                count(DISTINCT track_id) AS tracks,
                count(DISTINCT student_id) AS students, {_MEANS}, {_INDEX}
            FROM observations GROUP BY video_id
        )
        SELECT v.video_id, v.file_name, coalesce(v.class_group, $no_group) AS class_group,
            {_LESSON_DATE} AS lesson_date, v.duration_s, v.size_bytes, v.frames_sampled,
            coalesce(p.observations, 0) AS observations,
            coalesce(p.readable_faces, 0) AS readable_faces,
            coalesce(p.observations, 0) / greatest(v.frames_sampled, 1) AS faces_per_frame,
            coalesce(p.tracks, 0) AS tracks, coalesce(p.students, 0) AS students,
            {", ".join(f"p.{e}" for e in EMOTIONS)}, p.mood_index, v.emotion_model
        FROM videos v LEFT JOIN per_lesson p USING (video_id)
        WHERE v.analysed_at IS NOT NULL
            AND ($group IS NULL OR coalesce(v.class_group, $no_group) = $group)
            AND ($start IS NULL OR {_LESSON_DATE} >= $start)
            AND ($end IS NULL OR {_LESSON_DATE} <= $end)
        ORDER BY lesson_date, v.video_id
        """,
        {"no_group": NO_GROUP, "group": class_group, "start": start, "end": end},
    )
    shares = frame[list(EMOTIONS)]
    frame["top_emotion"] = np.where(
        shares.notna().all(axis=1), shares.fillna(-1).idxmax(axis=1), None
    )
    frame["lesson_date"] = pd.to_datetime(frame["lesson_date"]).dt.date
    return frame


def unanalysed(store: Store) -> pd.DataFrame:
    """Videos with no finished analysis, and why: ``video_id, file_name, class_group, status,
    failure_reason`` (an interrupted or failed re-analysis keeps the earlier result instead)."""
    return store.query(
        "SELECT video_id, file_name, coalesce(class_group, ?) AS class_group, status,"
        " failure_reason FROM videos WHERE analysed_at IS NULL ORDER BY video_id",
        [NO_GROUP],
    )


def bin_seconds(duration_s: float) -> float:
    """A round bin width that cuts ``duration_s`` into at most MAX_BINS bins."""
    for width in NICE_BIN_SECONDS:
        if duration_s / width <= MAX_BINS:
            return float(width)
    return float(NICE_BIN_SECONDS[-1])


def emotion_timeline(
    store: Store, video_ids: Sequence[int], bin_s: float, student_id: int | None = None
) -> pd.DataFrame:
    """The share of each emotion over lesson time, the lessons ``video_ids`` taken together
    (only ``student_id``'s faces when one is given).

    Long format, one row per time bin and emotion: ``bin_start_s, bin_end_s, emotion, share``
    (mean probability over every readable face seen in the bin, so the shares of a bin sum to
    1), ``observations`` and ``lessons`` (how many readable faces and lessons the bin holds)
    and the bin's ``mood_index``. A bin with no readable face has no row.
    """
    if bin_s <= 0:
        raise ValueError(f"bin width must be positive, got {bin_s}")
    wide = store.query(
        f"""
        SELECT floor(observed_at_s / $bin) * $bin AS bin_start_s, count(*) AS observations,
            count(DISTINCT video_id) AS lessons, {_MEANS}, {_INDEX}
        FROM observations WHERE list_contains($ids::INTEGER[], video_id) AND readable
            AND ($student IS NULL OR student_id = $student)
        GROUP BY 1 ORDER BY 1
        """,
        {"bin": bin_s, "ids": [int(i) for i in video_ids], "student": student_id},
    )
    wide["bin_end_s"] = wide["bin_start_s"] + bin_s
    long = wide.melt(
        id_vars=["bin_start_s", "bin_end_s", "observations", "lessons", "mood_index"],
        value_vars=list(EMOTIONS), var_name="emotion", value_name="share",
    )
    long["emotion"] = pd.Categorical(long["emotion"], categories=EMOTIONS)
    return long.sort_values(["bin_start_s", "emotion"], ignore_index=True)


def frames_to_show(store: Store, video_id: int, count: int = 3) -> list[int]:
    """``count`` frames of a lesson worth looking at: in each of ``count`` equal stretches of
    the lesson, the analysed frame with the most faces."""
    per_frame = store.query(
        "SELECT frame_index, count(*) AS faces FROM observations WHERE video_id = ?"
        " GROUP BY 1 ORDER BY 1",
        [video_id],
    )
    if per_frame.empty or count <= 0:
        return []
    chunks = np.array_split(np.arange(len(per_frame)), min(count, len(per_frame)))
    faces, frames = per_frame["faces"].to_numpy(), per_frame["frame_index"].to_numpy()
    return [int(frames[c[np.argmax(faces[c])]]) for c in chunks]


def frame_faces(store: Store, video_id: int, frame_indices: Sequence[int]) -> pd.DataFrame:
    """The faces stored for some frames of a lesson: box, probabilities and top emotion (NULL
    where the face could not be read), ``readable`` and the ``who`` label to draw (the
    student's name where identities are stored, else the track)."""
    if has_students(store):
        who = ("coalesce((SELECT display_name FROM students s WHERE s.student_id = o.student_id),"
               " 'track ' || track_id)")
    else:
        who = "'track ' || track_id"
    return store.query(
        f"""
        SELECT frame_index, observed_at_s, track_id, student_id, x1, y1, x2, y2,
            {", ".join(EMOTIONS)}, top_emotion, readable, {who} AS who
        FROM observations o
        WHERE video_id = ? AND list_contains(?::INTEGER[], frame_index)
        ORDER BY frame_index, track_id
        """,
        [video_id, [int(i) for i in frame_indices]],
    )


def readable_faces(
    store: Store, video_ids: Sequence[int] | None = None, student_id: int | None = None
) -> pd.DataFrame:
    """How many faces of each analysed lesson could be read, and why the others could not.

    One row per lesson (those of ``video_ids``, else all; only ``student_id``'s faces when one
    is given): ``video_id, faces, readable_faces, small_faces`` (faces not read that were
    under the lesson's smallest readable height) and ``readability``, the thresholds the
    lesson was analysed with (JSON text; NULL for a lesson analysed before faces were told
    apart, whose faces all count as readable).
    """
    return store.query(
        f"""
        SELECT o.video_id, count(*) AS faces, {_READABLE},
            count(*) FILTER (WHERE NOT readable AND face_height_px
                < CAST(json_extract(v.parameters, '$.readability.min_face_px') AS DOUBLE))
                AS small_faces,
            CAST(any_value(json_extract(v.parameters, '$.readability')) AS VARCHAR)
                AS readability
        FROM observations o JOIN videos v USING (video_id)
        WHERE v.analysed_at IS NOT NULL
            AND ($ids IS NULL OR list_contains($ids::INTEGER[], o.video_id))
            AND ($student IS NULL OR o.student_id = $student)
        GROUP BY o.video_id ORDER BY o.video_id
        """,
        {"ids": None if video_ids is None else [int(i) for i in video_ids],
         "student": student_id},
    )


def has_students(store: Store) -> bool:
    """Whether the database keeps student identities (a ``students`` table)."""
    found = store.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'students'"
    )
    return bool(found["n"].iloc[0])


# -- students (once identities are stored: ``Store.students`` exists) ----------------------------


def student_profiles(store: Store) -> pd.DataFrame:
    """Per student the mean probability of each emotion over their readable faces, and their
    ``mood_index``: ``student_id, observations, readable_faces, <emotions>, mood_index``."""
    return store.query(
        f"""
        SELECT student_id, count(*) AS observations, {_READABLE}, {_MEANS}, {_INDEX}
        FROM observations WHERE student_id IS NOT NULL GROUP BY 1 ORDER BY 1
        """
    )


def profile_against_class(store: Store, student_id: int) -> pd.DataFrame:
    """A student's mean probability of each emotion beside the class's over the same lessons
    (every readable face of the lessons the student is in): ``emotion, who, share``, long
    format."""
    wide = store.query(
        f"""
        SELECT 'student' AS who, {_MEANS} FROM observations WHERE student_id = $student
        UNION ALL
        SELECT 'class' AS who, {_MEANS} FROM observations
        WHERE video_id IN (SELECT video_id FROM observations WHERE student_id = $student)
        """,
        {"student": student_id},
    )
    long = wide.melt(id_vars="who", value_vars=list(EMOTIONS), var_name="emotion",
                     value_name="share")
    long["emotion"] = pd.Categorical(long["emotion"], categories=EMOTIONS)
    return long.sort_values(["emotion", "who"], ignore_index=True)


def student_lesson_moods(store: Store, student_id: int) -> pd.DataFrame:
    """Per lesson the student is in: ``video_id, file_name, lesson_date, observations,
    readable_faces`` (the student's faces, and those of them read), the student's
    ``mood_index`` and the whole class's (``class_mood_index``), oldest first."""
    frame = store.query(
        f"""
        WITH mine AS (
            SELECT video_id, count(*) AS observations, {_READABLE}, {_INDEX}
            FROM observations WHERE student_id = $student GROUP BY 1
        ), everyone AS (
            SELECT video_id, {_INDEX.replace(" AS mood_index", " AS class_mood_index")}
            FROM observations WHERE video_id IN (SELECT video_id FROM mine) GROUP BY 1
        )
        SELECT v.video_id, v.file_name, {_LESSON_DATE} AS lesson_date, m.observations,
            m.readable_faces, m.mood_index, e.class_mood_index
        FROM mine m JOIN everyone e USING (video_id) JOIN videos v USING (video_id)
        ORDER BY lesson_date, v.video_id
        """,
        {"student": student_id},
    )
    frame["lesson_date"] = pd.to_datetime(frame["lesson_date"]).dt.date
    return frame
