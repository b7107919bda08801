"""The database's tables: the observation columns and the migrations that build the schema."""

from __future__ import annotations

from emotion_core.core.labels import EMOTIONS

OBSERVATION_COLUMNS: tuple[str, ...] = (
    "video_id", "frame_index", "observed_at_s", "track_id", "student_id",
    "x1", "y1", "x2", "y2", "detection_score", *EMOTIONS, "top_emotion",
    # what decides whether the face's expression can be read (faces/readability.py); the
    # emotions and top_emotion are NULL where it could not
    "face_height_px", "yaw_deg", "pitch_deg", "sharpness", "readable",
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


def _readability_columns(table: str) -> str:
    """Migration 6 for one of the two observation tables: rows analysed before it keep their
    readings and count as readable, with their measures unknown."""
    nullable = "\n".join(
        f"ALTER TABLE {table} ALTER COLUMN {c} DROP NOT NULL;" for c in (*EMOTIONS, "top_emotion")
    )
    return f"""
    {nullable}
    ALTER TABLE {table} ADD COLUMN face_height_px REAL;
    ALTER TABLE {table} ADD COLUMN yaw_deg REAL;
    ALTER TABLE {table} ADD COLUMN pitch_deg REAL;
    ALTER TABLE {table} ADD COLUMN sharpness REAL;
    ALTER TABLE {table} ADD COLUMN readable BOOLEAN NOT NULL DEFAULT true;
    """


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
    """
    CREATE SEQUENCE student_id_seq START 1;
    CREATE TABLE students (
        student_id INTEGER PRIMARY KEY DEFAULT nextval('student_id_seq'),
        display_name VARCHAR NOT NULL,
        class_group VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    -- One reference embedding per track (the mean of its best chips). These identify children:
    -- they never leave this file (no export writes them) and go with their student.
    CREATE TABLE face_embeddings (
        student_id INTEGER NOT NULL,
        video_id INTEGER NOT NULL,
        track_id INTEGER NOT NULL,
        model VARCHAR NOT NULL,
        first_s DOUBLE NOT NULL,
        last_s DOUBLE NOT NULL,
        samples INTEGER NOT NULL,
        quality REAL NOT NULL,
        embedding FLOAT[] NOT NULL
    );
    -- the embedding model an analysis used; NULL when identification was off
    ALTER TABLE videos ADD COLUMN embedding_model VARCHAR;
    """,
    """
    CREATE SEQUENCE alert_id_seq START 1;
    -- what the alert rules raised (emotion_core/alerts.py), and what people decided about it
    CREATE TABLE alerts (
        alert_id INTEGER PRIMARY KEY DEFAULT nextval('alert_id_seq'),
        rule VARCHAR NOT NULL,
        video_id INTEGER NOT NULL,
        student_id INTEGER NOT NULL,
        window_start_s DOUBLE NOT NULL,
        window_end_s DOUBLE NOT NULL,
        summary VARCHAR NOT NULL,
        numbers JSON NOT NULL,
        thresholds JSON NOT NULL,
        -- raised by the latest check; a reviewed alert that a later check no longer raises is
        -- kept, inactive, so that the decision holds if the same alert is raised again
        active BOOLEAN NOT NULL DEFAULT true,
        status VARCHAR NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'dismissed', 'confirmed')),
        review_note VARCHAR,
        reviewed_at TIMESTAMP,
        raised_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        checked_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    -- what the latest check was computed from (observations, settings), to skip a check that
    -- would find the same
    CREATE TABLE alert_checks (inputs VARCHAR NOT NULL, checked_at TIMESTAMP NOT NULL);
    """,
    """
    -- what people chose (emotion_core/settings.py: retention_days, ...); a setting without a
    -- row has its default
    CREATE TABLE settings (
        name VARCHAR PRIMARY KEY,
        value JSON NOT NULL,
        changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    """,
    """
    -- the consent register (roster.py): whether a student may be identified. Turned off, the
    -- student keeps this row (name, when, note) and nothing that recognises them.
    ALTER TABLE students ADD COLUMN identification BOOLEAN NOT NULL DEFAULT true;
    ALTER TABLE students ADD COLUMN identification_changed_at TIMESTAMP;
    ALTER TABLE students ADD COLUMN identification_note VARCHAR;
    -- at most one small face thumbnail per student, only when an analysis was asked to keep
    -- them (thumbnails.py); it goes with the student and with the lesson it was taken from
    CREATE TABLE student_thumbnails (
        student_id INTEGER NOT NULL,
        video_id INTEGER NOT NULL,
        track_id INTEGER NOT NULL,
        observed_at_s DOUBLE,
        quality REAL NOT NULL,
        jpeg BLOB NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    """,
    # readable faces (faces/readability.py): each observation keeps the face's height in pixels
    # of the video, its head pose and sharpness, and whether its expression could be read; a
    # face that could not has no emotion reading (NULL probabilities and top emotion)
    _readability_columns("observations") + _readability_columns("observations_staging"),
)
SCHEMA_VERSION = len(MIGRATIONS)
