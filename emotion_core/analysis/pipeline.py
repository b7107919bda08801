"""analyse_video(): the one loop that takes a lesson video to stored observations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from emotion_core.core.crops import FacePreprocessing, region_crops
from emotion_core.core.files import file_sha256
from emotion_core.core.geometry import iou_matrix, square_boxes
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces, Frame, Progress
from emotion_core.emotion.model import DEFAULT_PREPROCESSING, EmotionModel, classify_faces
from emotion_core.faces.detector import FaceDetector
from emotion_core.faces.mtcnn import MTCNNSettings
from emotion_core.faces.tracking import IoUTracker
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.identity.sampling import (
    Person,
    RosterReferences,
    TrackEmbedding,
    TrackSampler,
    identify,
    students_of,
)
from emotion_core.store.store import (
    TRACK_THUMBNAIL_COLUMNS,
    AnalysisSummary,
    Store,
    TrackIdentities,
    VideoRecord,
)
from emotion_core.video.source import VideoError, VideoSource, expected_samples, file_label

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]

# Between full detections (``detect_every`` > 1) faces are looked for again only near the faces
# already known: in a square REGION_CONTEXT times a face's side around its last box, scaled so
# that the face is about REGION_FACE_PX wide where the detector looks. Small faces come out
# enlarged, and MTCNN finds those more reliably than the same faces in the whole frame.
REGION_CONTEXT = 2.5
REGION_FACE_PX = 32.0
# A face found in a region is taken only when its centre is this close to the region's centre
# (a fraction of the region's side on each axis): a neighbour cut by the region's edge is left to
# its own region or to the next full detection.
REGION_CENTRE_TOLERANCE = 0.25
# Boxes that overlap more than this are taken to be one face.
SAME_FACE_IOU = 0.3
# How long a face that was seen is looked for again where it was: pupils come back to their seat
# after looking away or leaving the room for a moment.
REGION_MEMORY_S = 6.0
# Regions per detector call: the detector's working memory grows with the regions of a call, so a
# crowded batch is split and the peak memory of an analysis does not depend on the busiest batch.
REGIONS_PER_CALL = 64


@dataclass(frozen=True)
class AnalysisSettings:
    """What an analysis is run with; stored with each video so results can be traced."""

    sample_fps: float = 2.0
    # frames detected and classified together; the detector gets batch_frames / detect_every
    # whole frames per call, and all the regions of the batch in one more call. 8, not 16:
    # MTCNN's memory in a call grows with the candidate boxes of all its frames, and with 16
    # a busy batch briefly took 0.25 GB more (BENCHMARKS.md, Memory), for no gain in speed
    batch_frames: int = 8
    # a whole-frame search on every k-th sampled frame; every frame is also searched near the
    # faces seen lately (see REGION_CONTEXT), which costs a fraction of a whole-frame search.
    # 2 about halves the analysis time (benchmarks/speed.py) and loses no faces on the composed
    # classroom (benchmarks/detection.py); 1 searches every frame whole.
    detect_every: int = 2
    emotion_model: str = "auto"
    detector: MTCNNSettings = field(default_factory=MTCNNSettings)
    # how faces are cut for the emotion model: the same value evaluation uses by default
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING
    track_min_iou: float = 0.3
    track_max_gap_s: float = 2.0
    # a track ends where its face also overlaps another track this much (two people crossing);
    # appearance joins the pieces up again (see tracking.IoUTracker)
    track_split_iou: float = 0.1
    # who is who: False counts and classifies faces for the class-level view only, and stores
    # no embedding and no student
    identify: bool = True
    # False: faces are recognised only as the students already on the roster (identification
    # on); anyone else stays anonymous, with no student and no embedding stored (a class where
    # only some children's consent was given, once those are on the roster)
    identify_new_students: bool = True
    # somebody new who matches no student becomes one only when seen in this many sampled
    # frames; fewer stay anonymous (identity.students_of says why)
    min_new_student_frames: int = 3
    # one small face thumbnail per student (thumbnails.py), only for students whose
    # identification is on; opt-in, and never a frame
    store_thumbnails: bool = False
    embedding_model: str = "auto"
    # chips embedded per track at most (its best ones), whatever the track's length
    embeddings_per_track: int = 3
    # cosine distance under which tracks (and a person and a student) are one; None: the
    # embedding model's calibrated value (embedding.py, BENCHMARKS.md)
    same_person_distance: float | None = None
    # embed in a second process as well, on the machine's second core (Dlib only; the vectors
    # are the same: embedding_worker.py)
    embedding_helper: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.sample_fps <= 60:
            raise ValueError(f"sampling rate must be between 0 and 60 frames a second, got {self.sample_fps}")
        if self.batch_frames < 1:
            raise ValueError("batch_frames must be at least 1")
        if self.detect_every < 1:
            raise ValueError("detect_every must be at least 1")
        if self.embeddings_per_track < 1:
            raise ValueError("embeddings_per_track must be at least 1")
        if self.min_new_student_frames < 1:
            raise ValueError("min_new_student_frames must be at least 1")
        if self.store_thumbnails and not self.identify:
            raise ValueError(
                "face thumbnails are kept per student, so they need identification on"
            )


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
    # who is who (None when identification is off)
    embedding_model: str | None = None
    students: int | None = None  # people of this video given a student
    new_students: int | None = None  # of those, not on the roster before
    # people left anonymous: not on the roster, with ``identify_new_students`` off
    anonymous_people: int | None = None
    thumbnails: int = 0  # face thumbnails offered to the store (kept where better)
    faces_embedded: int = 0
    identity_seconds: float = 0.0  # of ``seconds``: cutting chips, embedding, assigning

    def as_json(self) -> dict[str, object]:
        return asdict(self)


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
    detect_every: int = 1,
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
    sampler: TrackSampler | None = None,
) -> Iterator[list[Faces]]:
    """Detect, classify and track the faces of frames, one batch of frames at a time.

    ``detect_every`` 1 searches every frame whole. With k > 1 only every k-th frame is searched
    whole, and every frame is also searched near the faces seen lately that it does not have yet
    (see ``detect_guided``); ``analyse_video`` takes k from ``AnalysisSettings``. A ``sampler``
    sees every frame's tracked faces (it keeps and embeds the best chips of each track).
    """
    crop_size = region_crop_size(detector)
    recent = RecentFaces(REGION_MEMORY_S)
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
        yield classify_faces(emotion_model, [f.image for f in batch], faces, preprocessing)


class RecentFaces:
    """The last box of every track seen within ``memory_s``: where to look for faces again.

    Old entries are dropped as time goes on, so this stays small however long the video.
    """

    def __init__(self, memory_s: float) -> None:
        self.memory_s = memory_s
        self._last: dict[int, tuple[float, np.ndarray]] = {}  # track id -> (time, box)

    def add(self, faces: Faces) -> None:
        """Remember the boxes of tracked ``faces`` (``track_ids`` set) as seen at their time."""
        if faces.track_ids is None:
            raise ValueError("RecentFaces needs tracked faces")
        for track_id, box in zip(faces.track_ids.tolist(), faces.boxes):
            self._last.pop(track_id, None)  # re-insert: the dict stays ordered by time seen
            self._last[track_id] = (faces.time_s, box)
        horizon = faces.time_s - self.memory_s
        for track_id in [t for t, (seen, _) in self._last.items() if seen < horizon]:
            del self._last[track_id]

    def boxes(self, now: float) -> np.ndarray:
        """Boxes (N, 4) seen within ``memory_s`` before ``now``, the latest seen first."""
        boxes = [box for seen, box in reversed(self._last.values()) if now - seen <= self.memory_s]
        return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def region_crop_size(detector: FaceDetector) -> int:
    """Side in pixels of the regions cut around known faces (see REGION_FACE_PX).

    A detector that enlarges its input (MTCNN's ``upscale``) gets smaller regions, so the faces
    it sees are the same size and the cost does not grow with its upscale.
    """
    settings = getattr(detector, "settings", None)
    upscale = float(getattr(settings, "upscale", 1.0) or 1.0)
    min_face = float(getattr(settings, "min_face_size", 20))
    face_px = max(REGION_FACE_PX, 1.5 * min_face) / upscale
    return max(12, round(face_px * REGION_CONTEXT))


def detect_guided(
    detector: FaceDetector,
    batch: Sequence[Frame],
    whole: Sequence[bool],
    recent: RecentFaces,
    crop_size: int,
) -> list[Faces]:
    """Faces of a batch where only the frames flagged in ``whole`` are searched whole.

    Every frame is also searched near the known faces it does not have yet: those of the whole
    frames before it in the batch, latest first, then those in ``recent`` (as of the batch's
    start). All the whole frames go to the detector in one call, all the regions in a second one.
    """
    found = iter(detector.detect([f for f, w in zip(batch, whole) if w]))
    searched: list[Faces] = []  # the whole frames so far, latest last
    own: list[Faces] = []
    regions: list[np.ndarray] = []
    for frame, is_whole in zip(batch, whole):
        faces = next(found) if is_whole else Faces(frame.index, frame.time_s)
        if is_whole:
            searched.append(faces)
        known = _no_boxes()
        for earlier in reversed(searched):
            if frame.time_s - earlier.time_s <= recent.memory_s:
                known = _add_new(known, earlier.boxes)
        known = _add_new(known, recent.boxes(frame.time_s))
        regions.append(_add_new(faces.boxes, known)[len(faces):])
        own.append(faces)
    nearby = detect_in_regions(detector, batch, regions, crop_size)
    return [_merge(o, n) for o, n in zip(own, nearby)]


def detect_in_regions(
    detector: FaceDetector,
    frames: Sequence[Frame],
    boxes: Sequence[np.ndarray],
    crop_size: int,
) -> list[Faces]:
    """Faces found near ``boxes[i]`` (M, 4) in ``frames[i]``, up to REGIONS_PER_CALL per call."""
    squares = [square_boxes(b, (REGION_CONTEXT - 1) / 2) for b in boxes]
    crops = [
        Frame(index=frame.index, time_s=frame.time_s, image=crop)
        for frame, s in zip(frames, squares)
        for crop in region_crops(frame.image, s, crop_size)
    ]
    in_crops = (
        faces
        for start in range(0, len(crops), REGIONS_PER_CALL)
        for faces in detector.detect(crops[start : start + REGIONS_PER_CALL])
    )
    return [
        _concat(frame, [_from_region(next(in_crops), square, crop_size) for square in s])
        for frame, s in zip(frames, squares)
    ]


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.float32)


def _add_new(boxes: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``boxes`` followed by the boxes of ``more`` that overlap none of them."""
    if not len(more):
        return boxes
    fresh = more[iou_matrix(more, boxes).max(axis=1, initial=0.0) < SAME_FACE_IOU]
    return np.concatenate([boxes, fresh]) if len(boxes) else fresh


def _from_region(faces: Faces, square: np.ndarray, crop_size: int) -> Faces:
    """Faces found in the crop of ``square``, in frame pixels, without faces off its centre."""
    centre = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    keep = (np.abs(centre - crop_size / 2) <= REGION_CENTRE_TOLERANCE * crop_size).all(axis=1)
    faces = faces.select(keep)
    scale = float(square[2] - square[0]) / crop_size
    origin = square[:2].astype(np.float32)
    return replace(
        faces,
        boxes=faces.boxes * scale + np.tile(origin, 2),
        landmarks=faces.landmarks * scale + origin,
    )


def _concat(frame: Frame, parts: Sequence[Faces]) -> Faces:
    """One frame's faces from several parts, boxes clipped to the frame."""
    if not parts:
        return Faces(frame.index, frame.time_s)
    height, width = frame.image.shape[:2]
    faces = Faces(
        frame_index=frame.index,
        time_s=frame.time_s,
        boxes=np.concatenate([p.boxes for p in parts]).astype(np.float32),
        scores=np.concatenate([p.scores for p in parts]).astype(np.float32),
        landmarks=np.concatenate([p.landmarks for p in parts]).astype(np.float32),
    )
    return faces.clipped_to(width, height)


def _merge(own: Faces, nearby: Faces) -> Faces:
    """``own`` plus the faces of ``nearby`` that are not already there, best score first."""
    if not len(nearby):
        return own
    taken = own.boxes
    keep = np.zeros(len(nearby), dtype=bool)
    for i in np.argsort(-nearby.scores, kind="stable"):
        box = nearby.boxes[i : i + 1]
        if iou_matrix(box, taken).max(initial=0.0) < SAME_FACE_IOU:
            keep[i] = True
            taken = np.concatenate([taken, box])
    added = nearby.select(keep)
    return replace(
        own,
        boxes=np.concatenate([own.boxes, added.boxes]),
        scores=np.concatenate([own.scores, added.scores]),
        landmarks=np.concatenate([own.landmarks, added.landmarks]),
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

    With ``settings.identify`` (the default) every face gets a student: tracks are embedded
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
    info = source.info
    record = VideoRecord(
        file_name=file_label(info.path),
        content_sha256=file_sha256(info.path),
        size_bytes=info.size_bytes,
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        class_group=class_group,
        recorded_on=recorded_on,
    )
    sampler = None
    if settings.identify:
        from emotion_core.analysis.models import embedding_helper, load_embedder

        if embedder is None:
            embedder = load_embedder(settings.embedding_model, store.embedding_models())
        sampler = TrackSampler(
            embedder, settings.embeddings_per_track, max_gap_s=settings.track_max_gap_s,
            keep_thumbnails=settings.store_thumbnails,
            helper=embedding_helper(embedder) if settings.embedding_helper else None,
        )
    parameters = {
        **asdict(settings), "emotion_model": emotion_model.name,
        "embedding_model": embedder.name if sampler is not None and embedder else None,
    }
    video_id = store.begin_analysis(record, parameters)
    log.debug("analysing %s as video %d with %s", record.file_name, video_id, emotion_model.name)
    tracker = IoUTracker(
        settings.track_min_iou, settings.track_max_gap_s, settings.track_split_iou
    )
    frames_total = expected_samples(info, settings.sample_fps)
    frames_done = faces_seen = 0
    try:
        stages = analyse_frames(
            source.frames(settings.sample_fps), detector, emotion_model, tracker,
            settings.batch_frames, settings.detect_every, settings.preprocessing, sampler,
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
        identities = people = everyone = None
        assign_started = time.perf_counter()
        if sampler is not None and embedder is not None:
            stored_group = (store.video(video_id) or {}).get("class_group")
            group = class_group or (stored_group if isinstance(stored_group, str) else None)
            tracks = sampler.finish()
            student_ids, centroids = store.reference_embeddings(embedder.name, group)
            roster = RosterReferences(embedder.name, student_ids, centroids)
            threshold = settings.same_person_distance or embedder.same_person_distance
            everyone = identify(tracks, sampler.co_occurring, roster, threshold)
            people = students_of(everyone, tracks, settings.identify_new_students,
                                 settings.min_new_student_frames)
            identities = TrackIdentities(
                embedder.name, track_identity_rows(tracks, people),
                track_thumbnail_rows(tracks, people) if settings.store_thumbnails else None,
            )
        assign_seconds = time.perf_counter() - assign_started
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
        file_name=file_label(info.path),
        frames_sampled=frames_done,
        faces=faces_seen,
        tracks=tracker.tracks_started,
        emotion_model=emotion_model.name,
        detector=detector.description,
        seconds=round(time.perf_counter() - started, 3),
        embedding_model=identities.model if identities is not None else None,
        students=len(people) if people is not None else None,
        new_students=sum(p.student_id is None for p in people) if people is not None else None,
        anonymous_people=len(everyone) - len(people) if people is not None else None,
        thumbnails=(
            len(identities.thumbnails)
            if identities is not None and identities.thumbnails is not None else 0
        ),
        faces_embedded=sampler.faces_embedded if sampler is not None else 0,
        identity_seconds=round(
            sampler.seconds + assign_seconds if sampler is not None else 0.0, 3
        ),
    )
    store.finish_analysis(
        video_id,
        AnalysisSummary(
            frames_sampled=result.frames_sampled, faces=result.faces, tracks=result.tracks,
            seconds=result.seconds, emotion_model=result.emotion_model, detector=result.detector,
        ),
        identities,
    )
    return result


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
