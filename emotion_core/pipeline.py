"""analyse_video(): the one loop that takes a lesson video to stored observations."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from emotion_core.detection import FaceDetector, MTCNNSettings
from emotion_core.emotion import EMOTIONS, EmotionModel, classify_faces
from emotion_core.store import AnalysisSummary, Store, VideoRecord
from emotion_core.tracking import IoUTracker
from emotion_core.types import Faces, Frame, Progress
from emotion_core.video import VideoError, VideoSource, expected_samples

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class AnalysisSettings:
    """What an analysis is run with; stored with each video so results can be traced."""

    sample_fps: float = 2.0
    batch_frames: int = 8  # frames detected and classified together
    emotion_model: str = "auto"
    detector: MTCNNSettings = field(default_factory=MTCNNSettings)
    track_min_iou: float = 0.3
    track_max_gap_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.sample_fps <= 60:
            raise ValueError(f"sampling rate must be between 0 and 60 frames a second, got {self.sample_fps}")
        if self.batch_frames < 1:
            raise ValueError("batch_frames must be at least 1")


@dataclass(frozen=True)
class AnalysisResult:
    video_id: int
    file_name: str
    frames_sampled: int
    faces: int
    tracks: int
    emotion_model: str
    detector: str
    seconds: float

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def batched(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def observation_rows(video_id: int, faces: Sequence[Faces]) -> pd.DataFrame:
    """One row per face, in the store's observation columns."""
    faces = [f for f in faces if len(f)]
    if not faces:
        return pd.DataFrame()
    boxes = np.concatenate([f.boxes for f in faces])
    probabilities = np.concatenate([f.emotions for f in faces])
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
        columns[emotion] = probabilities[:, i]
    columns["top_emotion"] = np.asarray(EMOTIONS)[probabilities.argmax(axis=1)]
    return pd.DataFrame(columns)


def analyse_frames(
    frames: Iterable[Frame],
    detector: FaceDetector,
    emotion_model: EmotionModel,
    tracker: IoUTracker,
    batch_frames: int,
) -> Iterator[list[Faces]]:
    """Detect, classify and track the faces of frames, one batch of frames at a time."""
    for batch in batched(frames, batch_frames):
        faces = detector.detect(batch)
        faces = classify_faces(emotion_model, [f.image for f in batch], faces)
        yield [tracker.update(f) for f in faces]


def analyse_video(
    path: str | Path,
    store: Store,
    detector: FaceDetector,
    emotion_model: EmotionModel,
    settings: AnalysisSettings | None = None,
    *,
    class_group: str | None = None,
    recorded_on: date | None = None,
    on_progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Analyse one video into ``store``; re-analysing the same content replaces its rows.

    Raises ``VideoError`` for a file that is not a usable video (nothing is written then). A
    failure part-way marks the video failed, keeps no half-written rows, and re-raises.
    """
    settings = settings or AnalysisSettings()
    started = time.perf_counter()
    source = VideoSource(path)
    info = source.info
    record = VideoRecord(
        file_name=info.path.name,
        content_sha256=file_sha256(info.path),
        size_bytes=info.size_bytes,
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        class_group=class_group,
        recorded_on=recorded_on,
    )
    parameters = {**asdict(settings), "emotion_model": emotion_model.name}
    video_id = store.begin_analysis(record, parameters)
    log.debug("analysing %s as video %d with %s", info.path.name, video_id, emotion_model.name)
    tracker = IoUTracker(settings.track_min_iou, settings.track_max_gap_s)
    frames_total = expected_samples(info, settings.sample_fps)
    frames_done = faces_seen = 0
    try:
        stages = analyse_frames(
            source.frames(settings.sample_fps), detector, emotion_model, tracker,
            settings.batch_frames,
        )
        for faces in stages:
            store.stage_observations(observation_rows(video_id, faces))
            frames_done += len(faces)
            faces_seen += sum(len(f) for f in faces)
            if on_progress:
                on_progress(Progress(
                    frames_done, max(frames_total, frames_done), faces_seen,
                    time.perf_counter() - started,
                ))
    except VideoError as exc:
        store.fail_analysis(video_id, str(exc))
        raise
    except BaseException as exc:
        store.fail_analysis(video_id, f"analysis failed: {type(exc).__name__}: {exc}")
        raise
    if on_progress:  # the header's estimate may have been off: end at 100 %
        on_progress(Progress(frames_done, frames_done, faces_seen, time.perf_counter() - started))
    result = AnalysisResult(
        video_id=video_id,
        file_name=info.path.name,
        frames_sampled=frames_done,
        faces=faces_seen,
        tracks=tracker.tracks_started,
        emotion_model=emotion_model.name,
        detector=detector.description,
        seconds=round(time.perf_counter() - started, 3),
    )
    store.finish_analysis(
        video_id,
        AnalysisSummary(
            frames_sampled=result.frames_sampled, faces=result.faces, tracks=result.tracks,
            seconds=result.seconds, emotion_model=result.emotion_model, detector=result.detector,
        ),
    )
    return result
