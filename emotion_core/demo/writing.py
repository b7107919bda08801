"""Storing synthetic lessons the way the pipeline stores an analysis: begin, stage in batches,
finish."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pandas as pd

from emotion_core.demo.synthetic import SyntheticTerm
from emotion_core.store.records import AnalysisSummary, TrackIdentities, VideoRecord
from emotion_core.store.store import Store

# What an analysis of synthetic rows names as its emotion model and detector.
SYNTHETIC = "synthetic"
BATCH_ROWS = 20_000


def lesson_record(name: str, day: date | None = None, group: str = "7B",
                  duration_s: float = 1200.0) -> VideoRecord:
    """A video row for a synthetic lesson; the same ``name`` is the same video."""
    return VideoRecord(
        file_name=f"{name}.mp4", content_sha256=hashlib.sha256(name.encode()).hexdigest(),
        size_bytes=0, duration_s=duration_s, fps=25.0, width=640, height=360,
        class_group=group, recorded_on=day,
    )


def write_lesson(store: Store, record: VideoRecord, rows: pd.DataFrame,
                 sample_fps: float = 2.0, *, parameters: dict[str, Any] | None = None,
                 identities: TrackIdentities | None = None, model: str = SYNTHETIC) -> int:
    """Store one lesson's rows the way the pipeline does (begin, stage in batches, finish);
    writing the same ``record`` again is a re-analysis that replaces its rows.

    ``parameters``: what the analysis ran with (``{"sample_fps": ...}`` unless given);
    ``identities``: who each track is, which puts the students on the roster (without, the
    rows keep their student ids and the roster stays empty); ``model``: the emotion model and
    detector named.
    """
    video_id = store.begin_analysis(record, parameters or {"sample_fps": sample_fps})
    rows = rows.assign(video_id=video_id)
    for start in range(0, len(rows), BATCH_ROWS):
        store.stage_observations(rows.iloc[start:start + BATCH_ROWS])
    store.finish_analysis(video_id, AnalysisSummary(
        frames_sampled=int(record.duration_s * sample_fps), faces=len(rows),
        tracks=int(rows["track_id"].nunique()), seconds=0.0, emotion_model=model,
        detector=model), identities)
    return video_id


def write_term(store: Store, term: SyntheticTerm, group: str = "7B") -> list[int]:
    """Store every lesson of the term, a week apart; returns the video ids, in lesson order."""
    first_day = date(2026, 9, 7)
    return [
        write_lesson(
            store,
            lesson_record(f"seed{term.plan.seed}_lesson_{lesson + 1}",
                          first_day + timedelta(days=7 * lesson), group, term.plan.lesson_s),
            rows, term.plan.sample_fps,
        )
        for lesson, rows in enumerate(term.lessons)
    ]
