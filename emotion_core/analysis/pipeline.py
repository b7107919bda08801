"""analyse_video(): the one loop that takes a lesson video to stored observations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

from emotion_core.analysis.lesson_people import Identified, identified, lesson_roster
from emotion_core.analysis.reading import ReadFaces, read_expressions
from emotion_core.analysis.rows import observation_rows
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings
from emotion_core.core.crops import FacePreprocessing
from emotion_core.core.files import file_sha256
from emotion_core.core.types import Frame, Progress, VideoInfo
from emotion_core.emotion.model import DEFAULT_PREPROCESSING, EmotionModel
from emotion_core.faces.detector import FaceDetector
from emotion_core.faces.guided import RecentFaces, detect_guided, region_crop_size
from emotion_core.faces.readability import ReadabilitySettings, frontal_face
from emotion_core.faces.tracking import IoUTracker
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.identity.people import identify
from emotion_core.identity.sampling import TrackSampler
from emotion_core.store.records import AnalysisSummary, VideoRecord
from emotion_core.store.store import Store
from emotion_core.video.source import VideoError, VideoSource, expected_samples, file_label

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


def batched(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    """``frames`` in lists of ``size``, the last one shorter where they do not divide."""
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def analyse_frames(
    frames: Iterable[Frame],
    detector: FaceDetector,
    emotion_model: EmotionModel,
    tracker: IoUTracker,
    batch_frames: int,
    detect_every: int = 1,
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
    sampler: TrackSampler | None = None,
    readable: ReadabilitySettings | None = None,
) -> Iterator[list[ReadFaces]]:
    """Detect, track and read the faces of frames, one batch of frames at a time.

    Every face is tracked (and seen by the ``sampler``), but only the faces that ``readable``
    (the default ``ReadabilitySettings`` unless given) finds readable are read by the emotion
    model; the others keep NaN emotions. Faces are measured and cut from the frames as
    decoded, at the video's own resolution.

    ``detect_every`` 1 searches every frame whole. With k > 1 only every k-th frame is searched
    whole, and every frame is also searched near the faces seen lately that it does not have yet
    (see ``detect_guided``); ``analyse_video`` takes k from ``AnalysisSettings``. A ``sampler``
    sees every frame's tracked faces (it keeps and embeds the best chips of each track).
    """
    readable = readable or ReadabilitySettings()
    frontal = frontal_face(detector.name)  # where its landmarks sit on a frontal face
    crop_size = region_crop_size(detector)
    recent = RecentFaces()
    position = 0  # of the batch's first frame among all sampled frames
    for batch in batched(frames, batch_frames):
        if detect_every == 1:
            faces = detector.detect(batch)
        else:
            whole = [(position + i) % detect_every == 0 for i in range(len(batch))]
            faces = detect_guided(detector, batch, whole, recent, crop_size)
        position += len(batch)
        faces = [tracker.update(f) for f in faces]
        for frame, f in zip(batch, faces):
            recent.add(f)
            if sampler is not None:
                sampler.add(frame.image, f)
        if sampler is not None:
            sampler.flush(batch[-1].time_s)
        yield read_expressions(
            emotion_model, [f.image for f in batch], faces, readable, preprocessing, frontal
        )


def analyse_video(
    path: str | Path,
    store: Store,
    detector: FaceDetector,
    emotion_model: EmotionModel,
    settings: AnalysisSettings | None = None,
    *,
    embedder: FaceEmbedder | None = None,
    class_group: str | None = None,
    recorded_on: date | None = None,
    on_progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Analyse one video into ``store``; re-analysing the same content replaces its rows.

    With ``settings.identify`` (the default) every face large enough to identify gets a
    student (smaller ones count anonymously: ``identity/thresholds.py``): tracks are embedded
    (``embedder``, else ``settings.embedding_model`` loaded once per process; ``auto`` keeps
    the model the stored students were embedded with), joined into
    people and matched to the students already in ``store``. Re-analysing a video keeps its
    students' ids. With ``settings.identify_new_students`` off, people matching no student stay
    anonymous; with ``settings.store_thumbnails`` each student gets a small face thumbnail
    (``thumbnails.py``). Students whose identification is off have no embedding, so they are
    never matched.

    Raises ``VideoError`` for a file that is not a usable video (nothing is written then). A
    failure part-way marks the video failed, keeps no half-written rows, and re-raises.
    """
    settings = settings or AnalysisSettings()
    started = time.perf_counter()
    source = VideoSource(path)
    record = video_record(source.info, class_group, recorded_on)
    if settings.identify and embedder is None:
        embedder = _load_embedder(settings, store)
    sampler = track_sampler(settings, embedder)
    video_id = store.begin_analysis(
        record, analysis_parameters(settings, emotion_model, embedder, sampler)
    )
    log.debug("analysing %s as video %d with %s", record.file_name, video_id, emotion_model.name)
    tracker = lesson_tracker(settings)
    progress = ProgressReport(
        on_progress, expected_samples(source.info, settings.sample_fps), started
    )
    with failure_recorded(store, video_id):
        batches = analyse_frames(
            source.frames(settings.sample_fps), detector, emotion_model, tracker,
            settings.batch_frames, settings.detect_every, settings.preprocessing, sampler,
            settings.readability,
        )
        counts = count_batches(
            batches, progress,
            lambda faces: store.stage_observations(observation_rows(video_id, faces)),
        )
        identified = (
            _identify_people(store, video_id, class_group, sampler, embedder, settings)
            if sampler is not None and embedder is not None else None
        )
    progress.finished(counts)
    result = analysis_result(
        video_id, record, counts, tracker.tracks_started, emotion_model.name,
        detector.description, round(time.perf_counter() - started, 3), identified,
    )
    store.finish_analysis(
        video_id, result_summary(result),
        identified.identities if identified is not None else None,
    )
    return result


def video_record(
    info: VideoInfo, class_group: str | None = None, recorded_on: date | None = None,
    file_name: str | None = None,
) -> VideoRecord:
    """What the store keeps of a video file before its analysis starts (``file_name``: the
    name to keep where the file analysed is a copy under another name)."""
    return VideoRecord(
        file_name=file_name or file_label(info.path),
        content_sha256=file_sha256(info.path),
        size_bytes=info.size_bytes,
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        class_group=class_group,
        recorded_on=recorded_on,
    )


def _load_embedder(settings: AnalysisSettings, store: Store) -> FaceEmbedder:
    """``settings.embedding_model``, loaded once per process (``auto`` keeps the model the
    students of ``store`` were embedded with)."""
    from emotion_core.analysis.models import load_embedder

    return load_embedder(settings.embedding_model, store.embedding_models())


def track_sampler(
    settings: AnalysisSettings, embedder: FaceEmbedder | None
) -> TrackSampler | None:
    """The sampler of the tracks' chips, when ``settings.identify`` is on (with ``embedder``)."""
    if not settings.identify or embedder is None:
        return None
    from emotion_core.analysis.models import embedding_helper

    return TrackSampler(
        embedder, settings.embeddings_per_track, max_gap_s=settings.track_max_gap_s,
        keep_thumbnails=settings.store_thumbnails,
        helper=embedding_helper(embedder) if settings.embedding_helper else None,
        min_face_px=settings.thresholds_of(embedder.thresholds).min_face_px,
    )


def lesson_tracker(settings: AnalysisSettings) -> IoUTracker:
    """The tracker of one lesson's faces, as ``settings`` ask."""
    return IoUTracker(settings.track_min_iou, settings.track_max_gap_s, settings.track_split_iou)


def analysis_parameters(
    settings: AnalysisSettings,
    emotion_model: EmotionModel,
    embedder: FaceEmbedder | None,
    sampler: TrackSampler | None,
) -> dict[str, object]:
    """The settings stored with the video, with the names of the models actually used."""
    return {
        **asdict(settings), "emotion_model": emotion_model.name,
        "embedding_model": embedder.name if sampler is not None and embedder else None,
    }


@contextmanager
def failure_recorded(store: Store, video_id: int) -> Iterator[None]:
    """Mark the video failed in ``store`` (its staged rows dropped) when the block raises."""
    try:
        yield
    except VideoError as exc:
        store.fail_analysis(video_id, str(exc))
        raise
    except BaseException as exc:
        store.fail_analysis(video_id, f"analysis failed: {type(exc).__name__}: {exc}")
        raise


@dataclass
class Counts:
    """What an analysis has gone through so far."""

    frames: int = 0
    faces: int = 0
    readable_faces: int = 0


class ProgressReport:
    """An analysis's progress, told to ``on_progress`` (if any) as its batches are done."""

    def __init__(
        self, on_progress: ProgressCallback | None, frames_total: int, started: float
    ) -> None:
        self.on_progress = on_progress
        self.frames_total = frames_total  # the container's estimate
        self.started = started

    def batch_done(self, counts: Counts) -> None:
        if self.on_progress:
            self.on_progress(Progress(
                counts.frames, max(self.frames_total, counts.frames), counts.faces,
                time.perf_counter() - self.started,
            ))

    def finished(self, counts: Counts) -> None:
        if self.on_progress:  # the header's estimate may have been off: end at 100 %
            self.on_progress(Progress(
                counts.frames, counts.frames, counts.faces, time.perf_counter() - self.started
            ))


def count_batches(
    batches: Iterable[list[ReadFaces]], progress: ProgressReport,
    keep: Callable[[list[ReadFaces]], None],
) -> Counts:
    """Hand every batch of frames to ``keep`` (the store's staging, or a lesson's own rows),
    counting them and reporting progress."""
    counts = Counts()
    for faces in batches:
        keep(faces)
        counts.frames += len(faces)
        counts.faces += sum(len(f) for f in faces)
        counts.readable_faces += sum(f.readable for f in faces)
        progress.batch_done(counts)
    return counts


def _identify_people(
    store: Store,
    video_id: int,
    class_group: str | None,
    sampler: TrackSampler,
    embedder: FaceEmbedder,
    settings: AnalysisSettings,
) -> Identified:
    """Embed the last tracks, join the tracks into people and match them to the students of
    the video's class group in ``store``."""
    assign_started = time.perf_counter()
    roster = lesson_roster(store, video_id, class_group, embedder.name)
    tracks = sampler.finish()
    thresholds = settings.thresholds_of(embedder.thresholds)
    everyone = identify(tracks, sampler.co_occurring, roster, thresholds)
    return identified(
        everyone, tracks, embedder.name, settings, sampler.faces_embedded,
        sampler.seconds + time.perf_counter() - assign_started,
    )


def analysis_result(
    video_id: int,
    record: VideoRecord,
    counts: Counts,
    tracks: int,
    emotion_model: str,
    detector: str,
    seconds: float,
    identified: Identified | None,
) -> AnalysisResult:
    """What the analysis reports; the identity part is left at its defaults without
    ``identified``."""
    result = AnalysisResult(
        video_id=video_id,
        file_name=record.file_name,
        frames_sampled=counts.frames,
        faces=counts.faces,
        readable_faces=counts.readable_faces,
        tracks=tracks,
        emotion_model=emotion_model,
        detector=detector,
        seconds=seconds,
    )
    if identified is None:
        return result
    thumbnails = identified.identities.thumbnails
    return replace(
        result,
        embedding_model=identified.identities.model,
        students=len(identified.people),
        new_students=sum(p.student_id is None for p in identified.people),
        anonymous_people=len(identified.everyone) - len(identified.people),
        thumbnails=len(thumbnails) if thumbnails is not None else 0,
        faces_embedded=identified.faces_embedded,
        identity_seconds=round(identified.seconds, 3),
    )


def result_summary(result: AnalysisResult) -> AnalysisSummary:
    """What the store keeps of an analysis's result with the video."""
    return AnalysisSummary(
        frames_sampled=result.frames_sampled, faces=result.faces, tracks=result.tracks,
        seconds=result.seconds, emotion_model=result.emotion_model, detector=result.detector,
    )
