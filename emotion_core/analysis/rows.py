"""An analysis's results as the store's rows: observations, track identities, thumbnails."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from emotion_core.analysis.reading import ReadFaces
from emotion_core.core.labels import EMOTIONS
from emotion_core.identity.people import Person
from emotion_core.identity.sampling import TrackEmbedding
from emotion_core.store.records import TRACK_THUMBNAIL_COLUMNS


def observation_rows(video_id: int, frames: Sequence[ReadFaces]) -> pd.DataFrame:
    """One row per face, in the store's observation columns; a face that could not be read
    has its measures and no emotions (NULL probabilities and top emotion)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    faces = [f.faces for f in frames]
    measured = [f.readability for f in frames]
    boxes = np.concatenate([f.boxes for f in faces])
    probabilities = np.concatenate([f.emotions for f in faces])
    readable = np.concatenate([r.readable for r in measured])
    columns: dict[str, object] = {
        "video_id": video_id,
        "frame_index": np.concatenate([np.full(len(f), f.frame_index) for f in faces]),
        "observed_at_s": np.concatenate([np.full(len(f), f.time_s) for f in faces]),
        "track_id": np.concatenate([f.track_ids for f in faces]),
        "student_id": pd.array([None] * len(boxes), dtype="Int64"),
        "x1": boxes[:, 0], "y1": boxes[:, 1], "x2": boxes[:, 2], "y2": boxes[:, 3],
        "detection_score": np.concatenate([f.scores for f in faces]),
    }
    for i, emotion in enumerate(EMOTIONS):
        columns[emotion] = np.where(readable, probabilities[:, i], np.nan).astype(np.float32)
    top = np.asarray(EMOTIONS, dtype=object)[np.nan_to_num(probabilities, nan=0.0).argmax(axis=1)]
    columns["top_emotion"] = np.where(readable, top, None)
    for name in ("face_height_px", "yaw_deg", "pitch_deg", "sharpness"):
        columns[name] = np.concatenate([getattr(r, name) for r in measured]).astype(np.float32)
    columns["readable"] = readable
    return pd.DataFrame(columns)


def track_identity_rows(tracks: Sequence[TrackEmbedding], people: Sequence[Person]) -> pd.DataFrame:
    """The store's ``TrackIdentities`` rows: one per track of ``people`` (the others stay
    anonymous), with its person (its index in ``people``) and student."""
    person_of = {t: (n, p.student_id) for n, p in enumerate(people) for t in p.track_ids}
    tracks = [t for t in tracks if t.track_id in person_of]
    return pd.DataFrame({
        "track_id": pd.array([t.track_id for t in tracks], dtype="int64"),
        "person": pd.array([person_of[t.track_id][0] for t in tracks], dtype="int64"),
        "student_id": pd.array([person_of[t.track_id][1] for t in tracks], dtype="Int64"),
        "first_s": [t.first_s for t in tracks],
        "last_s": [t.last_s for t in tracks],
        "samples": [t.samples for t in tracks],
        "quality": [t.quality for t in tracks],
        "embedding": [t.embedding.tolist() for t in tracks],
    })


def track_thumbnail_rows(
    tracks: Sequence[TrackEmbedding], people: Sequence[Person]
) -> pd.DataFrame:
    """The store's thumbnail rows: per person of ``people``, the best chip of their tracks."""
    by_id = {t.track_id: t for t in tracks}
    rows = []
    for n, person in enumerate(people):
        held = [by_id[t] for t in person.track_ids if by_id[t].thumbnail is not None]
        if held:
            best = max(held, key=lambda t: t.thumbnail_quality)
            rows.append({"person": n, "track_id": best.track_id, "observed_at_s": best.thumbnail_s,
                         "quality": best.thumbnail_quality, "jpeg": best.thumbnail})
    return pd.DataFrame(rows, columns=list(TRACK_THUMBNAIL_COLUMNS))
