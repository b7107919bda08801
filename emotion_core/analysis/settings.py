"""What an analysis is run with (AnalysisSettings), where (EngineSettings), and what it reports
(AnalysisResult)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

from emotion_core.core.crops import FacePreprocessing
from emotion_core.emotion.model import DEFAULT_PREPROCESSING
from emotion_core.faces.choice import DetectorSettings, default_detector_settings
from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.identity.thresholds import IdentityThresholds


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
    # faces seen lately (see faces/guided.py), which costs a fraction of a whole-frame search.
    # 2 about halves the analysis time (benchmarks/speed.py) and loses no faces on the composed
    # classroom (benchmarks/detection.py); 1 searches every frame whole.
    detect_every: int = 2
    emotion_model: str = "auto"
    # which face detector, with its settings (faces/choice.py: YuNet by default, or MTCNN)
    detector: DetectorSettings = field(default_factory=default_detector_settings)
    # how faces are cut for the emotion model: the same value evaluation uses by default
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING
    # which faces are read (size, head pose, sharpness); the others are counted, tracked and
    # identified but get no emotion reading (faces/readability.py)
    readability: ReadabilitySettings = field(default_factory=ReadabilitySettings)
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
    # the distances under which tracks of one lesson, and a person and a student, are one, and
    # the face size under which nobody is identified; None: the embedding model's values,
    # calibrated on real photos (identity/thresholds.py, BENCHMARKS.md)
    identity_thresholds: IdentityThresholds | None = None
    # faces under this many px high are not identified; None: the embedding model's calibrated
    # size (24 px for Dlib). Lower it only knowing that small faces are close to everyone's
    min_identity_px: float | None = None
    # embed in a second process as well, on the machine's second core (Dlib only; the vectors
    # are the same: identity/worker.py)
    embedding_helper: bool = True

    def thresholds_of(self, model_thresholds: IdentityThresholds) -> IdentityThresholds:
        """The identity thresholds this analysis runs with, given the embedding model's own."""
        thresholds = self.identity_thresholds or model_thresholds
        if self.min_identity_px is not None:
            thresholds = replace(thresholds, min_face_px=self.min_identity_px)
        return thresholds

    def __post_init__(self) -> None:
        if self.min_identity_px is not None and self.min_identity_px < 0:
            raise ValueError("min_identity_px must not be negative")
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
    """What one analysis of a video found, and what it took."""

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
    # of ``faces``, those whose expression could be read (``AnalysisSettings.readability``)
    readable_faces: int = 0
    faces_embedded: int = 0
    identity_seconds: float = 0.0  # of ``seconds``: cutting chips, embedding, assigning

    def as_json(self) -> dict[str, object]:
        return asdict(self)


ENGINES = ("local", "ray")
ENGINE_ENV_VAR = "CLASSROOM_ENGINE"  # where a server starts: local, or ray
RAY_ADDRESS_ENV_VAR = "CLASSROOM_RAY_ADDRESS"


@dataclass(frozen=True)
class EngineSettings:
    """Where analyses run: here, one after the other (``local``), or spread over a Ray cluster
    (``ray``: analysis/engine_ray.py). Not kept with a video: both store the same results."""

    name: str = "local"
    # the cluster to join (``auto``: the one ``ray start --head`` started on this machine, or
    # HOST:6379); None starts a local one on this machine
    ray_address: str | None = None
    # send videos through Ray's object store, for workers that do not see this machine's files
    ship_videos: bool = False

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ValueError(f"unknown engine {self.name!r}; choose one of {', '.join(ENGINES)}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> EngineSettings:
        """The engine ``CLASSROOM_ENGINE`` and ``CLASSROOM_RAY_ADDRESS`` name (local by
        default), so that a server can start on its cluster."""
        return cls(environ.get(ENGINE_ENV_VAR) or "local",
                   environ.get(RAY_ADDRESS_ENV_VAR) or None)
