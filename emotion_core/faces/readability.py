"""Whether a face's expression can be read: its size, head pose, sharpness and detection score.

A face too small, blurred or turned too far (looking down at a desk, away from the camera)
carries no readable expression, and an emotion model asked anyway guesses (mostly *sad* or
*angry*, BENCHMARKS.md). Such faces are still counted, tracked and identified, but get no
emotion reading. The measures are pure functions of one frame's faces, measured on the
full-resolution frame the faces were detected in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

from emotion_core.core.crops import grey_face_crops
from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Faces

# The smallest face (box height in pixels of the source video) whose expression is read. On the
# FER2013 public test shrunk to N px the offline default (``classroom``, trained for small faces)
# reads 0.600 at 20 px, 0.550 at 16 px and 0.472 at 12 px, where chance is 0.14
# (benchmarks/low_resolution.py; BENCHMARKS.md, "Low-resolution faces"): 16 px is the smallest
# height measured at which it still reads more than half of the faces right.
MIN_FACE_PX = 16.0

# A generic adult face, in units of the distance between the eye centres, eyes at the origin,
# y down the face, z towards the camera (a standard head-pose face model: nose tip about 0.43
# eye distances in front of the eyes, mouth corners about level with them). Only the depths
# come from the model: where the nose and the mouth sit on a frontal face depends on where a
# detector puts its landmarks, and is measured on real photos (``FRONTAL_FACES``).
NOSE_DEPTH = 0.43
MOUTH_DEPTH = 0.03

# The least sharpness (``sharpness``) read. Shrinking a 48-px face to 20 px loses about what a
# Gaussian blur of 1 px does at 48 px; on the FER2013 public test such blurred faces measure
# 0.008 (median; 95 % under 0.017), sharp ones 0.093 (99 % over 0.027): 0.015 stops a face as
# blurred as a 20-px face is small, and next to no sharp one.
MIN_SHARPNESS = 0.015
# Sharpness is measured on the tight face box at its own size, area-reduced to at most this (the
# emotion models read faces at 48 px or less).
SHARPNESS_PX = 48


class ReadabilityError(ClassroomMoodError, ValueError):
    """A readability threshold out of its range."""


@dataclass(frozen=True)
class FrontalFace:
    """Where a detector's landmarks put the nose tip and the middle of the mouth corners on a
    frontal face, in eye distances below the eye line."""

    nose_drop: float
    mouth_drop: float


# Medians over the faces found in JAFFE and lfw_emotion_dev (benchmarks/readable_faces.py's
# photos): MTCNN 0.57 / 1.11 and 0.55 / 1.09; YuNet 0.59 / 1.06 and 0.58 / 1.02. Taken with the
# other detector's, a frontal face would read about 7° off.
FRONTAL_FACES: dict[str, FrontalFace] = {
    "mtcnn": FrontalFace(nose_drop=0.56, mouth_drop=1.10),
    "yunet": FrontalFace(nose_drop=0.59, mouth_drop=1.04),
}


@dataclass(frozen=True)
class ReadabilitySettings:
    """The thresholds that decide which faces are read; kept with each analysis.

    - ``min_face_px``: the smallest face height (pixels of the source video) read.
    - ``max_yaw_deg``: a face turned further to either side than this is not read.
    - ``max_pitch_deg``: a face looking down further than this (at a desk, a book) is not read.
    - ``max_pitch_up_deg``: a face looking up further than this is not read.
    - ``min_sharpness``: a face blurrier than this (``sharpness``) is not read; 0 reads all.
    - ``min_detection_score``: a face the detector is less sure of is not read; the detector's
      own ``min_score`` already drops weak faces, so 0 adds nothing by default.

    The pose limits are set from principle, not from any clip: FER2013, on which the models
    learnt, holds near-frontal faces; beyond about 40° of turn one eye and half the mouth
    leave the view, and a face looking down more than about 30° shows its forehead more than
    its eyes and mouth. Pitch is read from the nose's place between the eyes and the mouth,
    which a smile shifts too (its corners rise): with MTCNN's landmarks, at 25° 8 % of the
    happy faces of lfw_emotion_dev read as looking down against 2 % of the neutral ones, at
    30° 4 % and 0.3 % (with YuNet's, 0.3 % and 0 % at 25°).
    """

    min_face_px: float = MIN_FACE_PX
    max_yaw_deg: float = 40.0
    max_pitch_deg: float = 30.0
    max_pitch_up_deg: float = 40.0
    min_sharpness: float = MIN_SHARPNESS
    min_detection_score: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_face_px <= 4096:
            raise ReadabilityError(
                f"the smallest face read must be between 0 and 4096 px, got {self.min_face_px}")
        for name in ("max_yaw_deg", "max_pitch_deg", "max_pitch_up_deg"):
            value = getattr(self, name)
            if not 0 < value <= 90:
                raise ReadabilityError(f"{name} must be between 0 and 90 degrees, got {value}")
        if not 0 <= self.min_sharpness <= 1:
            raise ReadabilityError(f"min_sharpness must be between 0 and 1, got {self.min_sharpness}")
        if not 0 <= self.min_detection_score <= 1:
            raise ReadabilityError(
                f"min_detection_score must be between 0 and 1, got {self.min_detection_score}")

    @classmethod
    def every_face(cls) -> ReadabilitySettings:
        """Thresholds that stop no face: for measuring a model on faces of every size and pose
        (benchmarks), never the app's choice."""
        return cls(min_face_px=0.0, max_yaw_deg=90.0, max_pitch_deg=90.0, max_pitch_up_deg=90.0,
                   min_sharpness=0.0, min_detection_score=0.0)

    @classmethod
    def from_json(cls, stored: object) -> ReadabilitySettings:
        """The settings as stored with an analysis (``asdict``); the defaults where none are
        (an analysis from before faces were told apart by readability)."""
        if not isinstance(stored, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in stored.items() if k in known and v is not None})

    def as_json(self) -> dict[str, float]:
        return asdict(self)

    def describe_unread(self) -> str:
        """Which faces are not read, in words: "faces under 20 px, turned more than 40°,
        looking down more than 30° or blurred are not read"."""
        parts = [f"faces under {self.min_face_px:g} px",
                 f"turned more than {self.max_yaw_deg:g}°",
                 f"looking down more than {self.max_pitch_deg:g}°"]
        if self.min_sharpness > 0:
            parts.append("blurred")
        if self.min_detection_score > 0:
            parts.append(f"found with a score under {self.min_detection_score:g}")
        return f"{', '.join(parts[:-1])} or {parts[-1]} are not read"


# Why a face was not read, in the order they are checked; one reason per face.
REASONS: tuple[str, ...] = (
    "too small", "weak detection", "turned away", "looking down", "looking up", "blurred",
)


@dataclass(frozen=True)
class Readability:
    """What decides whether each face of one frame can be read, aligned with its ``Faces``.

    ``yaw_deg`` is positive where the face turns towards the image's right, ``pitch_deg``
    positive where it looks down; both NaN where the landmarks are unknown (the pose then
    stops no face). ``reasons`` holds one of ``REASONS`` for each face not read, else None.
    """

    face_height_px: np.ndarray  # (N,) float32
    yaw_deg: np.ndarray  # (N,) float32
    pitch_deg: np.ndarray  # (N,) float32
    sharpness: np.ndarray  # (N,) float32
    readable: np.ndarray  # (N,) bool
    reasons: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.readable)


def frontal_face(detector: str) -> FrontalFace:
    """The frontal face of the detector called ``detector`` (MTCNN's for one not measured)."""
    return FRONTAL_FACES.get(detector, FRONTAL_FACES["mtcnn"])


def head_pose(
    landmarks: np.ndarray, frontal: FrontalFace = FRONTAL_FACES["mtcnn"]
) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch in degrees (N,) from a detector's five landmarks (N, 5, 2): the image's
    left eye, right eye, nose tip, mouth left, mouth right; NaN where the eyes are unknown.
    ``frontal``: where that detector puts them on a frontal face.

    The landmarks are first turned so that the eyes are level (roll), and measured in eye
    distances. Pitch: the drops of the nose and of the mouth below the eye line are
    a·cos φ + h·sin φ for each (a its drop on a frontal face, h its depth), so their ratio
    gives φ whatever the face's size and turn. Yaw: the nose tip sits in front of the eyes by
    h·cos φ - a·sin φ once the head is tilted by φ, so turning by θ moves it sideways from the
    eyes' midpoint by that times tan θ eye distances. Looking down, the nose tip comes level
    with the eyes and shows no turn (at about 37°): that depth is taken as at least half of
    NOSE_DEPTH, so a face looking down reads as turned less than it is, never more (and the
    pitch stops such a face anyway).
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    left, right, nose = points[:, 0], points[:, 1], points[:, 2]
    eyes = (left + right) / 2
    mouth = (points[:, 3] + points[:, 4]) / 2
    across = right - left
    distance = np.hypot(across[:, 0], across[:, 1])
    known = np.isfinite(points).all(axis=(1, 2)) & (distance > 1e-6)
    distance = np.where(known, distance, 1.0)
    u = across / distance[:, None]  # along the eyes
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)  # down the face
    nose_x = ((nose - eyes) * u).sum(axis=1) / distance
    nose_y = ((nose - eyes) * v).sum(axis=1) / distance
    mouth_y = ((mouth - eyes) * v).sum(axis=1) / distance
    # the eyes given the other way round (a detector's order, a face upside down): the mouth is
    # still below them, so the axes turn round with them
    flip = np.where(mouth_y < 0, -1.0, 1.0)
    nose_x, nose_y, mouth_y = nose_x * flip, nose_y * flip, mouth_y * flip
    # nose_y·(b cos φ + c sin φ) = mouth_y·(a cos φ + h sin φ), solved for φ
    tilt = np.arctan2(nose_y * frontal.mouth_drop - mouth_y * frontal.nose_drop,
                      mouth_y * NOSE_DEPTH - nose_y * MOUTH_DEPTH)
    # a mouth level with the eyes (landmarks of no face) reads as far as it goes
    tilt = np.clip(tilt, -np.pi / 2, np.pi / 2)
    depth = NOSE_DEPTH * np.cos(tilt) - frontal.nose_drop * np.sin(tilt)
    # (steeper down, the nose tip is behind the eyes and shifts the other way)
    yaw = np.degrees(np.arctan2(nose_x * np.where(depth < 0, -1.0, 1.0),
                                np.maximum(np.abs(depth), NOSE_DEPTH / 2)))
    pitch = np.degrees(tilt)
    nan = np.float32(np.nan)
    return (np.where(known, yaw, nan).astype(np.float32),
            np.where(known, pitch, nan).astype(np.float32))


def sharpness(image: np.ndarray, faces: Faces) -> np.ndarray:
    """How sharp each face is at its own scale (N,) float32: 0 (flat) to about 1.

    The variance of the Laplacian of the grey face box, divided by the variance of its grey
    levels plus one grey level squared, so that contrast does not count. The box is cut at its
    own size, or area-reduced to SHARPNESS_PX when larger, and never enlarged: a small face is
    judged by ``min_face_px``, and its sharpness says only whether it is blurred (focus,
    motion, compression) at the resolution it has.
    """
    if not len(faces):
        return np.zeros(0, np.float32)
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    sides = np.maximum(faces.boxes[:, 2] - faces.boxes[:, 0], faces.boxes[:, 3] - faces.boxes[:, 1])
    values = np.empty(len(faces), np.float32)
    for i, side in enumerate(sides):
        size = int(np.clip(round(float(side)), 3, SHARPNESS_PX))
        crop = grey_face_crops(grey, faces.select([i]), size, margin=0.0)[0].astype(np.float32)
        detail = cv2.Laplacian(crop, cv2.CV_32F, ksize=1).var()
        # the Laplacian of a pixel-to-pixel checkerboard has 8 times its variance: /8 keeps 0..1
        values[i] = detail / 8 / (crop.var() + 1.0)
    return values


def readability(
    image: np.ndarray, faces: Faces, settings: ReadabilitySettings,
    frontal: FrontalFace = FRONTAL_FACES["mtcnn"],
) -> Readability:
    """The readability of the faces of one full-resolution RGB frame ``image``, found by a
    detector whose landmarks sit as ``frontal`` says on a frontal face."""
    height = (faces.boxes[:, 3] - faces.boxes[:, 1]).astype(np.float32)
    yaw, pitch = head_pose(faces.landmarks, frontal)
    sharp = sharpness(image, faces)
    readable, reasons = judged(height, faces.scores, yaw, pitch, sharp, settings)
    return Readability(height, yaw, pitch, sharp, readable, reasons)


def judged(
    height: np.ndarray, score: np.ndarray, yaw: np.ndarray, pitch: np.ndarray,
    sharp: np.ndarray, settings: ReadabilitySettings,
) -> tuple[np.ndarray, tuple[str | None, ...]]:
    """Whether faces with these measures (N,) are read, and the first of ``REASONS`` for each
    that is not (None for those that are). NaN measures (unknown) stop no face."""
    with np.errstate(invalid="ignore"):
        failing = (
            np.asarray(height) < settings.min_face_px,
            np.asarray(score) < settings.min_detection_score,
            np.abs(yaw) > settings.max_yaw_deg,
            np.asarray(pitch) > settings.max_pitch_deg,
            np.asarray(pitch) < -settings.max_pitch_up_deg,
            np.asarray(sharp) < settings.min_sharpness,
        )
    checks = np.stack(failing, axis=1) if len(height) else np.zeros((0, len(REASONS)), bool)
    readable = ~checks.any(axis=1)
    reasons = tuple(
        None if ok else REASONS[int(np.argmax(row))] for ok, row in zip(readable, checks)
    )
    return readable, reasons
