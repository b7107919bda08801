"""A lesson analysed apart from the database: what a Ray worker hands back to the driver.

``analyse_lesson`` runs the same stages as ``pipeline.analyse_video`` (decoding, detection,
emotion, readability, tracking, embeddings, grouping tracks into people) but keeps its rows
instead of staging them in a store: the whole lesson comes back as one ``AnalysedLesson``, a
few megabytes for a 45-minute lesson, which ``lesson_writing.write_lesson`` writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from emotion_core.analysis.lesson_people import LessonPeople, group_people
from emotion_core.analysis.pipeline import (
    Counts,
    ProgressCallback,
    ProgressReport,
    analyse_frames,
    analysis_parameters,
    count_batches,
    lesson_tracker,
    track_sampler,
    video_record,
)
from emotion_core.analysis.reading import ReadFaces
from emotion_core.analysis.rows import observation_rows
from emotion_core.analysis.settings import AnalysisSettings
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.detector import FaceDetector
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.store.records import VideoRecord
from emotion_core.video.source import VideoSource, expected_samples

# Known only where the lesson is written: the video's id in the store, and who the students are.
WRITER_COLUMNS = ("video_id", "student_id")


@dataclass(frozen=True)
class AnalysedLesson:
    """One lesson's analysis, ready to be written by the process that holds the database."""

    record: VideoRecord  # with no class group or date: the writer adds them
    settings: AnalysisSettings
    parameters: dict[str, object]  # the settings with the models' names, kept with the video
    # one row per face in the store's observation columns but ``WRITER_COLUMNS``
    observations: pa.Table
    counts: Counts
    tracks: int  # tracks started
    emotion_model: str
    detector: str  # the detector's description
    seconds: float
    people: LessonPeople | None  # None with identification off

    def observation_rows(self, video_id: int) -> pd.DataFrame:
        """The observations as the store stages them, for video ``video_id``, with no
        student yet (the store gives each the student of its track)."""
        rows = self.observations.to_pandas()
        rows["video_id"] = video_id
        rows["student_id"] = pd.array([None] * len(rows), dtype="Int64")
        return rows


def analyse_lesson(
    path: str | Path,
    detector: FaceDetector,
    emotion_model: EmotionModel,
    settings: AnalysisSettings | None = None,
    *,
    embedder: FaceEmbedder | None = None,
    file_name: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> AnalysedLesson:
    """Analyse the video at ``path`` as ``analyse_video`` would, without a store.

    With ``settings.identify`` an ``embedder`` is needed; the tracks are embedded and joined
    into people, who meet the roster only when the lesson is written. ``file_name`` is the
    name kept for the video where ``path`` is a copy (a video sent through Ray's object store).
    Raises ``VideoError`` for a file that is not a usable video.
    """
    settings = settings or AnalysisSettings()
    if settings.identify and embedder is None:
        raise ValueError("identifying students needs an embedder")
    started = time.perf_counter()
    source = VideoSource(path)
    record = video_record(source.info, file_name=file_name)
    sampler = track_sampler(settings, embedder)
    tracker = lesson_tracker(settings)
    progress = ProgressReport(
        on_progress, expected_samples(source.info, settings.sample_fps), started
    )
    rows: list[pd.DataFrame] = []

    def keep(faces: list[ReadFaces]) -> None:
        batch = observation_rows(0, faces)
        if not batch.empty:
            rows.append(batch.drop(columns=list(WRITER_COLUMNS)))

    batches = analyse_frames(
        source.frames(settings.sample_fps), detector, emotion_model, tracker,
        settings.batch_frames, settings.detect_every, settings.preprocessing, sampler,
        settings.readability,
    )
    counts = count_batches(batches, progress, keep)
    people = None
    if sampler is not None and embedder is not None:
        grouping_started = time.perf_counter()
        tracks = sampler.finish()
        people = group_people(
            tracks, sampler.co_occurring, embedder.name,
            settings.thresholds_of(embedder.thresholds), sampler.faces_embedded,
        )
        people = replace(
            people, seconds=sampler.seconds + time.perf_counter() - grouping_started
        )
    progress.finished(counts)
    return AnalysedLesson(
        record=record, settings=settings,
        parameters=analysis_parameters(settings, emotion_model, embedder, sampler),
        observations=_table(rows), counts=counts, tracks=tracker.tracks_started,
        emotion_model=emotion_model.name, detector=detector.description,
        seconds=round(time.perf_counter() - started, 3), people=people,
    )


def _table(rows: list[pd.DataFrame]) -> pa.Table:
    """The lesson's observation rows as one Arrow table (none: an empty table)."""
    if not rows:
        return pa.table({})
    return pa.Table.from_pandas(pd.concat(rows, ignore_index=True), preserve_index=False)
