"""Rows the store tests write the way the pipeline writes them: lessons, observations, people."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from skimage import data as skimage_data

from emotion_core.core.labels import EMOTIONS
from emotion_core.core.paths import upload_dir
from emotion_core.core.thumbnails import encode_thumbnail
from emotion_core.store.records import AnalysisSummary, TrackIdentities, VideoRecord
from emotion_core.store.schema import MIGRATIONS, OBSERVATION_COLUMNS
from emotion_core.store.store import Store
from emotion_core.video.uploads import save_upload


def record(name: str = "lesson.mp4", sha: str = "a" * 64, **changes: object) -> VideoRecord:
    fields = {
        "file_name": name, "content_sha256": sha, "size_bytes": 1000, "duration_s": 3.0,
        "fps": 15.0, "width": 480, "height": 270,
    }
    fields.update(changes)
    return VideoRecord(**fields)  # type: ignore[arg-type]


def observations(video_id: int, frames: int, faces_per_frame: int, seed: int) -> pd.DataFrame:
    """Plausible observation rows: ``faces_per_frame`` tracks seen in each of ``frames`` frames."""
    rng = np.random.default_rng(seed)
    n = frames * faces_per_frame
    probabilities = rng.dirichlet(np.ones(len(EMOTIONS)), size=n).astype(np.float32)
    x1 = rng.uniform(0, 400, n).astype(np.float32)
    y1 = rng.uniform(0, 200, n).astype(np.float32)
    rows = {
        "video_id": video_id,
        "frame_index": np.repeat(np.arange(frames) * 5, faces_per_frame),
        "observed_at_s": np.repeat(np.arange(frames) * 0.5, faces_per_frame),
        "track_id": np.tile(np.arange(1, faces_per_frame + 1), frames),
        "student_id": pd.array([None] * n, dtype="Int64"),
        "x1": x1, "y1": y1, "x2": x1 + 40, "y2": y1 + 40,
        "detection_score": rng.uniform(0.9, 1.0, n).astype(np.float32),
        **{e: probabilities[:, i] for i, e in enumerate(EMOTIONS)},
        "top_emotion": np.asarray(EMOTIONS)[probabilities.argmax(axis=1)],
        # large frontal faces: all readable
        "face_height_px": np.float32(40.0), "yaw_deg": np.float32(0.0),
        "pitch_deg": np.float32(0.0), "sharpness": np.float32(0.1), "readable": True,
    }
    return pd.DataFrame(rows)


def summary(frames: int, faces: int, tracks: int, model: str = "fer") -> AnalysisSummary:
    return AnalysisSummary(frames, faces, tracks, 1.25, model, "mtcnn(test)")


def database_of_schema(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    """A database file as an older release left it: the first ``version`` migrations only.
    Returns the open connection (the caller adds rows, then closes it)."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, migration in enumerate(MIGRATIONS[:version], start=1):
        con.execute(migration)
        con.execute("INSERT INTO schema_version VALUES (?)", [number])
    return con


# the observation columns before faces were told apart by readability (schema 5)
PRE_READABILITY_COLUMNS = OBSERVATION_COLUMNS[:OBSERVATION_COLUMNS.index("face_height_px")]


def lesson_of_schema_5(path: Path, frames: int = 3, tracks: int = 4) -> pd.DataFrame:
    """A database file as the release before readable faces left it (schema 5), holding one
    finished lesson ("old.mp4", class "7B") whose tracks are students 1..``tracks``; returns
    the observations written (in schema 5's columns)."""
    rows = observations(1, frames, tracks, seed=5)[list(PRE_READABILITY_COLUMNS)]
    rows["student_id"] = rows["track_id"].astype("Int64")
    with database_of_schema(path, 5) as con:
        con.execute(
            "INSERT INTO videos (file_name, content_sha256, size_bytes, duration_s, fps, status,"
            " class_group, parameters, emotion_model, frames_sampled, faces, tracks,"
            " analysed_at) VALUES ('old.mp4', 'old', 1000, 3.0, 15.0, 'done', '7B',"
            " '{\"sample_fps\": 2.0}', 'fer', ?, ?, ?, current_timestamp)",
            [frames, len(rows), tracks],
        )
        for track in range(1, tracks + 1):
            con.execute("INSERT INTO students (display_name, class_group) VALUES (?, '7B')",
                        [f"Student {track}"])
        con.register("old_rows", rows)
        con.execute("INSERT INTO observations SELECT * FROM old_rows")
    return rows


def vector(seed: int, dimension: int = 8) -> list[float]:
    v = np.random.default_rng(seed).normal(size=dimension)
    return (v / np.linalg.norm(v)).tolist()


def identities(people: dict[int, tuple[int | None, list[int]]], model: str = "Dlib",
               seed: int = 0) -> TrackIdentities:
    """``people``: person number -> (known student id or None, its track ids)."""
    rows = [
        {"track_id": t, "person": p, "student_id": sid, "first_s": 0.0, "last_s": 1.0,
         "samples": 3, "quality": 0.8, "embedding": vector(seed + t)}
        for p, (sid, tracks) in people.items() for t in tracks
    ]
    frame = pd.DataFrame(rows)
    frame["student_id"] = frame["student_id"].astype("Int64")
    return TrackIdentities(model, frame)


def analyse_tracks(store: Store, sha: str, frames: int, tracks: int,
            ident: TrackIdentities | None, group: str | None = None) -> int:
    video_id = store.begin_analysis(record(f"{sha[:3]}.mp4", sha, class_group=group),
                                    {"sample_fps": 2.0})
    rows = observations(video_id, frames, tracks, seed=1)
    store.stage_observations(rows)
    store.finish_analysis(video_id, summary(frames, len(rows), tracks), ident)
    return video_id


FACE = skimage_data.astronaut()[20:220, 140:320]


def jpeg(shade: int = 0) -> bytes:
    return encode_thumbnail(np.clip(FACE.astype(int) + shade, 0, 255).astype(np.uint8))


def with_thumbnails(ident: TrackIdentities, quality: dict[int, float]) -> TrackIdentities:
    """``ident`` with a thumbnail for each person in ``quality`` (from its first track)."""
    first = ident.tracks.groupby("person")["track_id"].first()
    rows = pd.DataFrame([
        {"person": p, "track_id": int(first[p]), "observed_at_s": 0.5, "quality": q,
         "jpeg": jpeg(int(q * 50))}
        for p, q in quality.items()
    ])
    return TrackIdentities(ident.model, ident.tracks, rows)


def upload(store: Store, name: str, content: bytes) -> Path:
    """A video file kept in the uploads folder beside the database, as the app keeps one."""
    return save_upload(name, io.BytesIO(content), upload_dir(store.path))


def lesson(store: Store, name: str, on: date | None, people: dict[int, tuple[int | None, list[int]]],
           seed: int = 0, content: bytes | None = None) -> int:
    """A lesson analysed from an upload of ``content`` (made-up bytes by default): two frames,
    one face per track, students per ``people`` (see ``test_roster.identities``)."""
    content = content or f"video {name} {seed}".encode() * 50
    path = upload(store, name, content)
    video = record(path.name, hashlib.sha256(content).hexdigest(), size_bytes=len(content),
                   class_group="7B", recorded_on=on)
    video_id = store.begin_analysis(video, {"sample_fps": 2.0})
    tracks = sum(len(t) for _, t in people.values())
    rows = observations(video_id, 2, tracks, seed=seed)
    store.stage_observations(rows)
    store.finish_analysis(video_id, summary(2, len(rows), tracks), identities(people, seed=seed))
    return video_id


def raise_alert(store: Store, video_id: int, student_id: int, decision: str | None = None) -> int:
    found = pd.DataFrame([{
        "alert_id": None, "rule": "sustained_negative", "video_id": video_id,
        "student_id": student_id, "window_start_s": 0.0, "window_end_s": 1.0,
        "summary": f"student {student_id} looked sad", "numbers": {"negative_share": 0.8},
        "thresholds": {"min_share": 0.6},
    }])
    before = set(store.alerts(include_inactive=True)["alert_id"])
    kept = store.alerts(include_inactive=True)[["alert_id", "rule", "video_id", "student_id",
                                                 "window_start_s", "window_end_s", "summary",
                                                 "numbers", "thresholds"]]
    store.save_alert_check(pd.concat([kept, found], ignore_index=True), [], "test")
    [alert_id] = set(store.alerts(include_inactive=True)["alert_id"]) - before
    if decision is not None:
        store.review_alert(int(alert_id), decision, "seen by the psychologist")
    return int(alert_id)


def student_of(store: Store, video_id: int, track_id: int) -> int:
    obs = store.observations(video_id)
    return int(obs[obs["track_id"] == track_id]["student_id"].iloc[0])
