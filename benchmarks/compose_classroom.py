"""Compose synthetic "classroom" videos with exact ground truth.

The videos are used to measure a face detector's recall and precision per
face size, an emotion model's accuracy, and (later) identity tracking.

How a video is built
--------------------
* Source faces: the JAFFE photos (10 women x 7 posed expressions, 256x256
  greyscale TIFFs) with ``labels.csv`` (``path,subject,emotion``). The 23
  palette-mode TIFFs are read as greyscale by ``cv2.imread(...,
  cv2.IMREAD_GRAYSCALE)``.
* Ground-truth face box in each source photo: OpenCV's YuNet detector
  (``cv2.FaceDetectorYN``, model ``face_detection_yunet_2026may.onnx`` from
  the shared weights folder) run once per full-resolution photo, keeping the
  highest-scoring face. YuNet is independent of MTCNN (the detector under
  test). Its box spans roughly the brows/forehead to the chin and cheek to
  cheek. Nothing is cached on disk.
* Background: a classroom drawn in code (wall gradient, window, clock,
  blackboard with chalk, rows of desks, papers and books, mild noise),
  deterministic from the seed.
* People: one per JAFFE subject by default; ``people`` up to twice the subjects seats every
  subject a second time (ids ``jaffe_<subject>_2``), for timing a crowded room (identity
  measurements need each person once).
* Seats: one per person, each with a face width spread evenly from 20 px to
  120 px (so all size buckets 20-24, 24-32, 32-48, 48-64, 64-96 and 96-120
  are present with 10 people). Smaller faces sit further back (higher in
  the frame). Seats never overlap: no pasted region (with its sway margin)
  reaches another person's face box; the soft hair/shoulder margins of
  neighbours may touch, the nearer person drawn on top.
* Each face is pasted with its context (the photo region around the GT box
  expanded ``CONTEXT_SCALE`` times, clipped to the photo) so hair and neck
  show, scaled so that the GT box has the seat's face width, blended with a
  feathered mask. Faces stay grey; the video is colour.
* Expressions follow a schedule: segments of 2-5 s (seeded), each showing one
  photo of the person; the next segment shows another photo with a different
  emotion (the person's least-shown emotion so far, so emotions are
  balanced).
* Every person leaves once for 1-4 s (shorter in short videos); absences are
  staggered so the room is never empty.
* Students sway: a smooth sub-pixel offset of a few pixels.
* Identity options: ``seat_permutation_seed`` assigns the same people to
  different seats (the seat layout itself depends only on ``seed``);
  ``crossing`` makes the two people in the two front-most seats walk past
  each other and swap seats (the one passing in front grows up to 10 %
  wider, so briefly above 120 px). While faces drawn on top cover more than
  half of a GT box, that face has no truth row.

Outputs next to the video: ``<stem>.truth.csv`` with one row per visible
face per frame (``frame_index,time_s,person,emotion,x1,y1,x2,y2``, boxes in
video pixels, ``time_s = frame_index / fps``) and ``<stem>.truth.json`` with
metadata. Person ids are ``jaffe_<subject>`` (e.g. ``jaffe_NA``: a bare ``NA``
would be read as NaN by pandas). The faces come from JAFFE (non-commercial research use only): the
composed videos must not be published or committed.

CLI::

    python benchmarks/compose_classroom.py --out /tmp/x/classroom.mp4 \\
        [--faces DIR] [--seed N] [--duration S] [--fps N] [--seats-seed N] \\
        [--crossing]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

_SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DEFAULT_FACES = _SHARED / "faces" / "jaffe"
DEFAULT_YUNET = _SHARED / "weights" / "opencv_zoo" / "face_detection_yunet_2026may.onnx"

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SIZE_BUCKETS: tuple[tuple[int, int], ...] = (
    (20, 24),
    (24, 32),
    (32, 48),
    (48, 64),
    (64, 96),
    (96, 120),
)
MIN_FACE_WIDTH = 20.0
MAX_FACE_WIDTH = 120.0
CONTEXT_SCALE = 1.7  # context region = GT box expanded this much about its centre
SEGMENT_RANGE_S = (2.0, 5.0)  # duration of one expression segment
ABSENCE_RANGE_S = (1.0, 4.0)  # duration of one absence
CROSSING_MAX_S = 4.0
OCCLUDED_FRACTION = 0.5  # a face more covered than this has no truth row
YUNET_SCORE = 0.6
PERSON_PREFIX = "jaffe_"
TRUTH_COLUMNS = ("frame_index", "time_s", "person", "emotion", "x1", "y1", "x2", "y2")
PUBLICATION_NOTE = (
    "Faces are JAFFE photos (Lyons, Kamachi & Gyoba 1998), licensed for "
    "non-commercial research only and not redistributable. This video and "
    "its truth files are for local benchmarking only: do not publish or commit them."
)

Box = tuple[float, float, float, float]  # x1, y1, x2, y2


class FacesNotFoundError(FileNotFoundError):
    """The labelled faces folder (or its labels.csv) is missing."""


# --------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FacePhoto:
    """One labelled source photo and its YuNet ground-truth face box."""

    path: str  # file name relative to the faces folder
    subject: str
    emotion: str
    image: np.ndarray = field(repr=False)  # uint8 greyscale
    box: Box  # GT face box in photo pixels

    @property
    def box_width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def box_center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0


@dataclass(frozen=True)
class Seat:
    """Where a face sits (centre of its GT box) and how wide it is."""

    index: int
    cx: float
    cy: float
    face_width: float


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` show photo ``photo`` (an index into the person's photos)."""

    start: int
    end: int
    photo: int
    emotion: str


@dataclass(frozen=True)
class Sway:
    """Smooth deterministic sway: two sinusoids per axis (pixels, Hz, radians)."""

    amp: tuple[float, float, float, float]  # x1, x2, y1, y2 amplitudes
    freq: tuple[float, float, float, float]
    phase: tuple[float, float, float, float]

    def offset(self, t: float) -> tuple[float, float]:
        a, f, p = self.amp, self.freq, self.phase
        dx = a[0] * math.sin(2 * math.pi * f[0] * t + p[0]) + a[1] * math.sin(
            2 * math.pi * f[1] * t + p[1]
        )
        dy = a[2] * math.sin(2 * math.pi * f[2] * t + p[2]) + a[3] * math.sin(
            2 * math.pi * f[3] * t + p[3]
        )
        return dx, dy

    @property
    def max_offset(self) -> float:
        return max(self.amp[0] + self.amp[1], self.amp[2] + self.amp[3])


@dataclass(frozen=True)
class PersonPlan:
    """Everything needed to render one person in every frame."""

    person: str
    seat: Seat
    photos: tuple[FacePhoto, ...] = field(repr=False)
    segments: tuple[Segment, ...]
    absences: tuple[tuple[int, int], ...]  # frame ranges [start, end)
    sway: Sway

    def is_absent(self, frame: int) -> bool:
        return any(start <= frame < end for start, end in self.absences)

    def segment_at(self, frame: int) -> Segment:
        for seg in self.segments:
            if seg.start <= frame < seg.end:
                return seg
        return self.segments[-1]


@dataclass(frozen=True)
class Crossing:
    """Person ``front`` and person ``back`` swap seats during frames ``[start, end)``.

    ``front`` passes in front of ``back`` (drawn on top, slightly larger and lower).
    """

    front: int  # index into ClassroomPlan.people
    back: int
    start: int
    end: int


@dataclass(frozen=True)
class ClassroomPlan:
    """The full deterministic script of a video (no pixels)."""

    width: int
    height: int
    fps: int
    n_frames: int
    seed: int
    seat_permutation_seed: int | None
    faces_dir: Path
    people: tuple[PersonPlan, ...]
    crossing: Crossing | None


@dataclass(frozen=True)
class FaceState:
    """Where one person's face is in one frame (before occlusion checks)."""

    person: int
    photo: FacePhoto
    emotion: str
    cx: float
    cy: float
    face_width: float


@dataclass(frozen=True)
class ComposedVideo:
    """What ``compose_classroom`` wrote."""

    video_path: Path
    truth_csv: Path
    truth_json: Path
    metadata: dict[str, Any]

    @property
    def fps(self) -> int:
        return int(self.metadata["fps"])

    @property
    def n_frames(self) -> int:
        return int(self.metadata["n_frames"])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.metadata["width"]), int(self.metadata["height"])


# --------------------------------------------------------------------------
# Source photos and their ground-truth boxes
# --------------------------------------------------------------------------


def read_labels(faces_dir: Path) -> list[dict[str, str]]:
    """Rows of ``labels.csv`` (``path,subject,emotion``)."""
    labels = faces_dir / "labels.csv"
    if not faces_dir.is_dir() or not labels.is_file():
        raise FacesNotFoundError(f"faces folder with labels.csv not found: {faces_dir}")
    with labels.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"path", "subject", "emotion"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{labels} lacks columns {sorted(missing)}")
    return rows


def load_grey(path: Path) -> np.ndarray:
    """Read a photo as 8-bit greyscale (handles the palette-mode JAFFE TIFFs)."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise OSError(f"cannot read image {path}")
    return image


def make_yunet(model_path: Path, size: tuple[int, int]) -> cv2.FaceDetectorYN:
    if not model_path.is_file():
        raise FileNotFoundError(f"YuNet model not found: {model_path}")
    return cv2.FaceDetectorYN.create(str(model_path), "", size, score_threshold=YUNET_SCORE)


def detect_gt_box(detector: cv2.FaceDetectorYN, grey: np.ndarray) -> Box | None:
    """Highest-scoring YuNet face box ``(x1, y1, x2, y2)`` of a greyscale photo."""
    h, w = grey.shape
    detector.setInputSize((w, h))
    _, faces = detector.detect(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    if faces is None or len(faces) == 0:
        return None
    x, y, bw, bh = (float(v) for v in faces[int(np.argmax(faces[:, -1]))][:4])
    return x, y, x + bw, y + bh


def load_face_photos(
    faces_dir: Path, subjects: list[str] | None = None, model_path: Path = DEFAULT_YUNET
) -> dict[str, list[FacePhoto]]:
    """Photos per subject (sorted by file name), each with its YuNet GT box.

    Photos in which YuNet finds no face are skipped with a warning.
    """
    rows = read_labels(faces_dir)
    wanted = set(subjects) if subjects is not None else None
    detector = make_yunet(model_path, (256, 256))
    out: dict[str, list[FacePhoto]] = {}
    for row in sorted(rows, key=lambda r: r["path"]):
        if wanted is not None and row["subject"] not in wanted:
            continue
        grey = load_grey(faces_dir / row["path"])
        box = detect_gt_box(detector, grey)
        if box is None:
            print(f"warning: YuNet found no face in {row['path']}; skipped", file=sys.stderr)
            continue
        photo = FacePhoto(row["path"], row["subject"], row["emotion"], grey, box)
        out.setdefault(row["subject"], []).append(photo)
    return out


def context_rect(photo: FacePhoto) -> tuple[int, int, int, int]:
    """Integer context crop ``(x0, y0, x1, y1)``: GT box expanded, clipped to the photo."""
    x1, y1, x2, y2 = photo.box
    cx, cy = photo.box_center
    hw, hh = (x2 - x1) * CONTEXT_SCALE / 2, (y2 - y1) * CONTEXT_SCALE / 2
    h, w = photo.image.shape
    return (
        max(0, math.floor(cx - hw)),
        max(0, math.floor(cy - hh)),
        min(w, math.ceil(cx + hw)),
        min(h, math.ceil(cy + hh)),
    )


def box_extents(photos: list[FacePhoto], context: bool) -> tuple[float, float, float, float]:
    """Largest extent left, right, up, down of the box centre, in face widths.

    ``context=True`` measures the pasted context region, otherwise the GT box itself.
    """
    ext = np.zeros(4)
    for photo in photos:
        x0, y0, x1, y1 = context_rect(photo) if context else photo.box
        cx, cy = photo.box_center
        w = photo.box_width
        ext = np.maximum(ext, [(cx - x0) / w, (x1 - cx) / w, (cy - y0) / w, (y1 - cy) / w])
    return float(ext[0]), float(ext[1]), float(ext[2]), float(ext[3])


# --------------------------------------------------------------------------
# Planning: seats, schedules, sway, crossing
# --------------------------------------------------------------------------


def face_widths(n: int) -> list[float]:
    """Face widths spread evenly from 20 to 120 px (ascending)."""
    if n == 1:
        return [(MIN_FACE_WIDTH + MAX_FACE_WIDTH) / 2]
    return [float(w) for w in np.linspace(MIN_FACE_WIDTH, MAX_FACE_WIDTH, n)]


def sway_margin(face_width: float) -> float:
    """Upper bound of the sway offset for a face of this width (pixels)."""
    return 1.5 + 0.03 * face_width


def make_sway(face_width: float, rng: np.random.Generator) -> Sway:
    margin = sway_margin(face_width)
    ax = margin * rng.uniform(0.5, 1.0)
    ay = 0.5 * margin * rng.uniform(0.5, 1.0)
    slow = rng.uniform(0.05, 0.12, 2)  # slow drift (Hz), x and y
    fast = rng.uniform(0.2, 0.45, 2)  # faster sway (Hz), x and y
    ph = rng.uniform(0, 2 * math.pi, 4)
    return Sway(
        amp=(0.7 * ax, 0.3 * ax, 0.7 * ay, 0.3 * ay),
        freq=(float(slow[0]), float(fast[0]), float(slow[1]), float(fast[1])),
        phase=(float(ph[0]), float(ph[1]), float(ph[2]), float(ph[3])),
    )


Extents = tuple[float, float, float, float]  # left, right, up, down in face widths


def _footprint(cx: float, cy: float, w: float, ext: Extents, gap: float = 0.0) -> np.ndarray:
    m = sway_margin(w) + gap
    return np.array(
        [cx - ext[0] * w - m, cy - ext[2] * w - m, cx + ext[1] * w + m, cy + ext[3] * w + m]
    )


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


@dataclass(frozen=True)
class _SeatArea:
    face: np.ndarray  # face box reach (with sway and a gap), x0 y0 x1 y1
    context: np.ndarray  # pasted context reach (with sway)

    def conflicts(self, other: _SeatArea) -> bool:
        """A seat's paste may not touch another seat's face box (contexts may overlap)."""
        return _overlaps(self.face, other.context) or _overlaps(self.context, other.face)


def layout_seats(
    n: int, size: tuple[int, int], face_ext: Extents, ctx_ext: Extents, rng: np.random.Generator,
    face_width: float | None = None,
) -> list[Seat]:
    """Seats whose faces never overlap another paste; smaller faces sit further back.

    Seat ``i`` has the i-th smallest face width (all ``face_width`` wide where given). Faces
    stay inside the frame.
    """
    width, height = size
    widths = face_widths(n) if face_width is None else [float(face_width)] * n
    w_lo, w_hi = min(widths), max(widths)
    y_front = height - ctx_ext[3] * w_hi - sway_margin(w_hi)
    y_back = max(0.34 * height, ctx_ext[2] * w_lo + sway_margin(w_lo) + 3)
    order = sorted(range(n), key=lambda i: -widths[i])
    for _attempt in range(200):
        placed: dict[int, Seat] = {}
        areas: list[_SeatArea] = []
        for i in order:
            w = widths[i]
            frac = 0.0 if w_hi == w_lo else (w - w_lo) / (w_hi - w_lo)
            cy0 = y_back + frac * (y_front - y_back)
            seat = _place_one(i, w, cy0, size, face_ext, ctx_ext, areas, rng)
            if seat is None:
                break
            placed[i] = seat
            areas.append(_seat_area(seat, face_ext, ctx_ext))
        if len(placed) == n:
            return [placed[i] for i in range(n)]
    raise ValueError(f"cannot fit {n} non-overlapping seats into a {width}x{height} frame")


def _seat_area(seat: Seat, face_ext: Extents, ctx_ext: Extents) -> _SeatArea:
    w = seat.face_width
    return _SeatArea(
        _footprint(seat.cx, seat.cy, w, face_ext, gap=3.0), _footprint(seat.cx, seat.cy, w, ctx_ext)
    )


def _place_one(
    index: int,
    w: float,
    cy0: float,
    size: tuple[int, int],
    face_ext: Extents,
    ctx_ext: Extents,
    areas: list[_SeatArea],
    rng: np.random.Generator,
) -> Seat | None:
    width, height = size
    for _ in range(400):
        seat = Seat(
            index, float(rng.uniform(0, width)), float(cy0 + rng.uniform(-0.03, 0.03) * height), w
        )
        area = _seat_area(seat, face_ext, ctx_ext)
        fp = area.face
        if fp[0] < 0 or fp[1] < 0 or fp[2] > width or fp[3] > height:
            continue
        if not any(area.conflicts(a) for a in areas):
            return seat
    return None


def build_expression_schedule(
    photos: list[FacePhoto], n_frames: int, fps: int, rng: np.random.Generator
) -> list[Segment]:
    """Segments of 2-5 s covering all frames; consecutive segments differ in emotion."""
    by_emotion: dict[str, list[int]] = {}
    for i, photo in enumerate(photos):
        by_emotion.setdefault(photo.emotion, []).append(i)
    shown = {e: 0 for e in by_emotion}
    photo_uses = [0] * len(photos)
    segments: list[Segment] = []
    start, current = 0, None
    while start < n_frames:
        length = max(1, round(rng.uniform(*SEGMENT_RANGE_S) * fps))
        choices = [e for e in by_emotion if e != current] or list(by_emotion)
        least = min(shown[e] for e in choices)
        emotion = str(rng.choice(sorted(e for e in choices if shown[e] == least)))
        candidates = by_emotion[emotion]
        fewest = min(photo_uses[i] for i in candidates)
        photo = int(rng.choice([i for i in candidates if photo_uses[i] == fewest]))
        end = min(n_frames, start + length)
        segments.append(Segment(start, end, photo, emotion))
        shown[emotion] += 1
        photo_uses[photo] += 1
        start, current = end, emotion
    return segments


def build_absence_schedule(
    n_people: int,
    n_frames: int,
    fps: int,
    rng: np.random.Generator,
    keep_present: dict[int, tuple[int, int]] | None = None,
) -> list[tuple[int, int]]:
    """One absence ``[start, end)`` per person, staggered so the room is never empty.

    Lengths are 1-4 s, capped at a quarter of the video (at least one frame).
    ``keep_present`` maps a person to a frame range in which they must be present.
    """
    keep_present = keep_present or {}
    cap = max(1, n_frames // 4)
    strata = rng.permutation(n_people)
    absent_count = np.zeros(n_frames, dtype=int)
    absences: list[tuple[int, int]] = []
    for person in range(n_people):
        span = _draw_absence(
            person,
            int(strata[person]),
            n_people,
            n_frames,
            fps,
            cap,
            rng,
            absent_count,
            keep_present.get(person),
        )
        absent_count[span[0] : span[1]] += 1
        absences.append(span)
    return absences


def _draw_absence(
    person: int,
    stratum: int,
    n_people: int,
    n_frames: int,
    fps: int,
    cap: int,
    rng: np.random.Generator,
    absent_count: np.ndarray,
    keep: tuple[int, int] | None,
) -> tuple[int, int]:
    for attempt in range(500):
        length = int(min(cap, max(1, round(rng.uniform(*ABSENCE_RANGE_S) * fps))))
        room = max(0, n_frames - length)
        lo, hi = (stratum / n_people, (stratum + 1) / n_people) if attempt < 100 else (0.0, 1.0)
        start = int(rng.uniform(lo, hi) * room) if room else 0
        end = start + length
        if keep is not None and start < keep[1] and keep[0] < end:
            continue
        if n_people > 1 and np.any(absent_count[start:end] >= n_people - 1):
            continue
        return start, end
    raise ValueError(f"cannot schedule an absence for person {person}; video too short")


def plan_crossing(seats: list[Seat], n_frames: int, fps: int, rng: np.random.Generator) -> Crossing:
    """The people in the two largest seats swap seats, passing each other mid-video."""
    if len(seats) < 2:
        raise ValueError("crossing needs at least two people")
    by_width = sorted(range(len(seats)), key=lambda i: seats[i].face_width)
    front, back = by_width[-1], by_width[-2]
    length = int(min(CROSSING_MAX_S * fps, max(2, round(0.2 * n_frames))))
    start = int(rng.uniform(0.35, 0.55) * max(0, n_frames - length))
    return Crossing(front=front, back=back, start=start, end=min(n_frames, start + length))


def person_id(subject: str) -> str:
    """Person id used in the truth files (``jaffe_NA``, not ``NA``, which pandas reads as NaN)."""
    return f"{PERSON_PREFIX}{subject}"


def _pick_subjects(photos_by_subject: dict[str, list[FacePhoto]], people: int | None) -> list[str]:
    """The subjects of ``people`` seats, in order. More seats than subjects (a crowded room for
    timing) seat each subject again, as far as twice; such a person's id ends ``_2``."""
    subjects = sorted(photos_by_subject)
    if people is None:
        return subjects
    if not 1 <= people <= 2 * len(subjects):
        raise ValueError(f"people must be in 1..{2 * len(subjects)}, got {people}")
    return [subjects[k % len(subjects)] for k in range(people)]


def plan_classroom(
    faces_dir: Path = DEFAULT_FACES,
    *,
    seed: int = 0,
    duration_s: float = 30.0,
    fps: int = 10,
    size: tuple[int, int] = (960, 540),
    people: int | None = None,
    seat_permutation_seed: int | None = None,
    crossing: bool = False,
    model_path: Path = DEFAULT_YUNET,
    face_width: float | None = None,
) -> ClassroomPlan:
    """Decide seats, expression segments, absences, sway and crossing (no rendering).

    ``face_width`` seats every face at that width (of its truth box) instead of spreading the
    widths from 20 to 120 px.
    """
    width, height = size
    if width % 2 or height % 2:
        raise ValueError("frame width and height must be even (yuv420p)")
    n_frames = max(1, round(duration_s * fps))
    all_photos = load_face_photos(faces_dir, model_path=model_path)
    subjects = _pick_subjects(all_photos, people)
    used = [p for s in subjects for p in all_photos[s]]
    seats = layout_seats(
        len(subjects),
        size,
        box_extents(used, context=False),
        box_extents(used, context=True),
        np.random.default_rng([seed, 1]),
        face_width,
    )
    perm = (
        np.arange(len(subjects))
        if seat_permutation_seed is None
        else np.random.default_rng([seat_permutation_seed, 2]).permutation(len(subjects))
    )
    cross = (
        plan_crossing(
            [seats[int(k)] for k in perm], n_frames, fps, np.random.default_rng([seed, 3])
        )
        if crossing
        else None
    )
    keep = (
        {}
        if cross is None
        else {cross.front: (cross.start, cross.end), cross.back: (cross.start, cross.end)}
    )
    absences = build_absence_schedule(
        len(subjects), n_frames, fps, np.random.default_rng([seed, 4]), keep
    )
    plans = []
    for k, subject in enumerate(subjects):
        photos = all_photos[subject]
        pid = person_id(subject) if k < len(all_photos) else f"{person_id(subject)}_2"
        seat = seats[int(perm[k])]
        segs = build_expression_schedule(photos, n_frames, fps, np.random.default_rng([seed, 5, k]))
        sway = make_sway(seat.face_width, np.random.default_rng([seed, 6, k]))
        plans.append(
            PersonPlan(pid, seat, tuple(photos), tuple(segs), (absences[k],), sway)
        )
    return ClassroomPlan(
        width, height, fps, n_frames, seed, seat_permutation_seed, faces_dir, tuple(plans), cross
    )


# --------------------------------------------------------------------------
# Per-frame state
# --------------------------------------------------------------------------


def _smoothstep(p: float) -> float:
    return p * p * (3 - 2 * p)


def _position(plan: ClassroomPlan, k: int, frame: int) -> tuple[float, float, float]:
    """Centre x, y and face width of person ``k`` before sway."""
    me = plan.people[k]
    cr = plan.crossing
    if cr is None or k not in (cr.front, cr.back) or frame < cr.start:
        seat = me.seat
        return seat.cx, seat.cy, seat.face_width
    other = plan.people[cr.back if k == cr.front else cr.front].seat
    if frame >= cr.end:
        return other.cx, other.cy, other.face_width
    p = _smoothstep((frame - cr.start) / max(1, cr.end - cr.start))
    bump = math.sin(math.pi * p)
    sign = 1.0 if k == cr.front else -1.0  # front walker: lower and larger (closer)
    w = (me.seat.face_width * (1 - p) + other.face_width * p) * (1 + 0.1 * sign * bump)
    cx = me.seat.cx * (1 - p) + other.cx * p
    cy = me.seat.cy * (1 - p) + other.cy * p + sign * 0.12 * w * bump
    return cx, cy, w


def frame_states(plan: ClassroomPlan, frame: int) -> list[FaceState]:
    """Faces present in ``frame``, in drawing order (far/small first)."""
    t = frame / plan.fps
    states = []
    for k, person in enumerate(plan.people):
        if person.is_absent(frame):
            continue
        cx, cy, w = _position(plan, k, frame)
        dx, dy = person.sway.offset(t)
        seg = person.segment_at(frame)
        states.append(FaceState(k, person.photos[seg.photo], seg.emotion, cx + dx, cy + dy, w))
    return sorted(states, key=lambda s: (s.face_width, s.cy, s.person))


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def render_background(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A synthetic classroom (BGR uint8), deterministic from ``seed``."""
    width, height = size
    rng = np.random.default_rng([seed, 0])
    img = _wall_and_floor(width, height, rng)
    _draw_window(img, rng)
    _draw_board(img, rng)
    _draw_clock(img, rng)
    _draw_desks(img, rng)
    noise = rng.normal(0.0, 3.0, img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(img, (3, 3), 0.6)


def _wall_and_floor(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    top = np.array([200, 222, 232], np.float32) + rng.uniform(-10, 10, 3)
    bottom = np.array([150, 178, 196], np.float32) + rng.uniform(-10, 10, 3)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    img = (top * (1 - ramp) + bottom * ramp) * np.ones((1, width, 1), np.float32)
    floor_y = int(0.62 * height)
    floor = np.array([70, 95, 120], np.float32) + rng.uniform(-8, 8, 3)
    shade = np.linspace(0.8, 1.1, height - floor_y, dtype=np.float32)[:, None, None]
    img[floor_y:] = floor * shade
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_window(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    x0 = int(rng.uniform(0.02, 0.05) * w)
    x1, y0, y1 = x0 + int(0.13 * w), int(0.08 * h), int(0.42 * h)
    cv2.rectangle(img, (x0, y0), (x1, y1), (235, 215, 190), -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (225, 230, 235), 6)
    cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), (225, 230, 235), 4)
    cv2.line(img, (x0, (y0 + y1) // 2), (x1, (y0 + y1) // 2), (225, 230, 235), 4)


def _draw_board(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    x0, x1, y0, y1 = int(0.22 * w), int(0.78 * w), int(0.06 * h), int(0.30 * h)
    cv2.rectangle(img, (x0 - 6, y0 - 6), (x1 + 6, y1 + 10), (40, 80, 120), -1)  # wooden frame
    cv2.rectangle(img, (x0, y0), (x1, y1), (55, 85, 45), -1)
    for _ in range(int(rng.integers(6, 11))):  # chalk scribbles
        n = int(rng.integers(3, 7))
        px = np.sort(rng.uniform(x0 + 10, x1 - 10, n))
        py = rng.uniform(y0 + 8, y1 - 8) + rng.normal(0, 4, n)
        pts = np.stack([px, py], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, (200, 210, 205), 1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y1 + 2), (x1, y1 + 8), (60, 70, 80), -1)  # chalk tray


def _draw_clock(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    c = (int(rng.uniform(0.84, 0.92) * w), int(0.12 * h))
    r = max(6, int(0.035 * h))
    cv2.circle(img, c, r, (245, 245, 245), -1, cv2.LINE_AA)
    cv2.circle(img, c, r, (40, 40, 40), 2, cv2.LINE_AA)
    for ang in rng.uniform(0, 2 * math.pi, 2):
        tip = (int(c[0] + 0.7 * r * math.cos(ang)), int(c[1] + 0.7 * r * math.sin(ang)))
        cv2.line(img, c, tip, (30, 30, 30), 2, cv2.LINE_AA)


def _draw_desks(img: np.ndarray, rng: np.random.Generator) -> None:
    """Rows of desks in perspective, back (small) to front (large), with clutter."""
    h, w = img.shape[:2]
    for row, (y_top, depth) in enumerate(((0.48, 0.035), (0.64, 0.05), (0.84, 0.07))):
        n_desks = 6 - row
        desk_w = w / n_desks * 0.8
        for d in range(n_desks):
            x = (d + 0.1) * w / n_desks + rng.uniform(-0.02, 0.02) * w
            _draw_desk(img, x, y_top * h, desk_w, depth * h, rng)


def _draw_desk(
    img: np.ndarray, x: float, y: float, dw: float, depth: float, rng: np.random.Generator
) -> None:
    slant = 0.08 * dw
    top = np.array(
        [[x + slant, y], [x + dw - slant, y], [x + dw, y + depth], [x, y + depth]], np.int32
    )
    tone = rng.uniform(0.9, 1.1)
    cv2.fillPoly(img, [top], tuple(float(v * tone) for v in (90, 140, 185)), cv2.LINE_AA)
    front = np.array(
        [[x, y + depth], [x + dw, y + depth], [x + dw, y + 2.2 * depth], [x, y + 2.2 * depth]],
        np.int32,
    )
    cv2.fillPoly(img, [front], tuple(float(v * tone) for v in (55, 95, 130)), cv2.LINE_AA)
    for leg_x in (x + 0.05 * dw, x + 0.92 * dw):
        cv2.rectangle(
            img,
            (int(leg_x), int(y + 2.2 * depth)),
            (int(leg_x + 0.03 * dw), int(y + 3.5 * depth)),
            (40, 50, 60),
            -1,
        )
    for _ in range(int(rng.integers(0, 3))):
        _draw_clutter(img, x + rng.uniform(0.15, 0.85) * dw, y + 0.5 * depth, depth, rng)


def _draw_clutter(
    img: np.ndarray, cx: float, cy: float, depth: float, rng: np.random.Generator
) -> None:
    size = (depth * rng.uniform(1.2, 2.2), depth * rng.uniform(0.5, 0.8))
    angle = float(rng.uniform(-25, 25))
    pts = cv2.boxPoints(((cx, cy), size, angle)).astype(np.int32)
    if rng.random() < 0.5:  # paper
        colour = (235, 238, 240)
    else:  # book
        colour = tuple(float(v) for v in rng.integers(30, 200, 3))
    cv2.fillPoly(img, [pts], colour, cv2.LINE_AA)
    cv2.polylines(img, [pts], True, (60, 60, 60), 1, cv2.LINE_AA)


@dataclass(frozen=True)
class Sprite:
    """A context crop resized to whole pixels, its feathered alpha and GT box in sprite pixels.

    ``residual`` is the remaining (x, y) scale, close to 1, that makes the GT box
    exactly the requested width; ``paste_sprite`` applies it with sub-pixel accuracy.
    """

    grey: np.ndarray  # float32 0..255
    alpha: np.ndarray  # float32 0..1
    box: Box
    residual: tuple[float, float]

    @property
    def final_box(self) -> Box:
        """GT box in sprite coordinates after the residual scale."""
        rx, ry = self.residual
        return self.box[0] * rx, self.box[1] * ry, self.box[2] * rx, self.box[3] * ry


def _feather_mask(
    shape: tuple[int, int], box: Box, clipped: tuple[bool, bool, bool, bool]
) -> np.ndarray:
    """Rounded (superellipse) mask around the box centre, fading out at the crop edges."""
    h, w = shape
    bx1, by1, bx2, by2 = box
    cx, cy = (bx1 + bx2) / 2, (by1 + by2) / 2
    rx, ry = (bx2 - bx1) * CONTEXT_SCALE / 2, (by2 - by1) * CONTEXT_SCALE / 2
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    d = ((np.abs(xs - cx) / rx) ** 4 + (np.abs(ys - cy) / ry) ** 4) ** 0.25
    mask = np.clip((1.0 - d) / 0.25, 0.0, 1.0)
    ramp = max(2.0, 0.06 * (bx2 - bx1))
    edges = (xs, ys, w - xs, h - ys)  # distance to the left, top, right, bottom crop edge
    for dist, cut in zip(edges, clipped, strict=True):
        if cut:
            mask *= np.clip(dist / ramp, 0.0, 1.0)
    return mask.astype(np.float32)


def make_sprite(photo: FacePhoto, face_width: float) -> Sprite:
    """Crop the context around the GT box and scale it so the box is ``face_width`` wide."""
    x0, y0, x1, y1 = context_rect(photo)
    crop = photo.image[y0:y1, x0:x1]
    scale = face_width / photo.box_width
    new_w, new_h = max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    grey = cv2.resize(crop, (new_w, new_h), interpolation=interp).astype(np.float32)
    sx, sy = new_w / crop.shape[1], new_h / crop.shape[0]
    bx1, by1, bx2, by2 = photo.box
    box = ((bx1 - x0) * sx, (by1 - y0) * sy, (bx2 - x0) * sx, (by2 - y0) * sy)
    h_img, w_img = photo.image.shape
    bcx, bcy = photo.box_center
    hw, hh = photo.box_width * CONTEXT_SCALE / 2, (photo.box[3] - photo.box[1]) * CONTEXT_SCALE / 2
    clipped = (bcx - hw < 0, bcy - hh < 0, bcx + hw > w_img, bcy + hh > h_img)
    return Sprite(grey, _feather_mask((new_h, new_w), box, clipped), box, (scale / sx, scale / sy))


def paste_sprite(
    canvas: np.ndarray, sprite: Sprite, cx: float, cy: float
) -> tuple[tuple[int, int, int, int], np.ndarray, Box] | None:
    """Blend ``sprite`` into float32 BGR ``canvas`` with its GT box centred at (cx, cy).

    Returns the canvas rectangle touched, the alpha used there, and the GT box in
    canvas pixels; None when the sprite is entirely outside the canvas.
    """
    fb = sprite.final_box
    tx, ty = cx - (fb[0] + fb[2]) / 2, cy - (fb[1] + fb[3]) / 2  # sprite edge coord u -> r * u + t
    rx, ry = sprite.residual
    # warpAffine works on pixel centres: canvas index j = r * i + (0.5 * r - 0.5 + t)
    ox, oy = 0.5 * rx - 0.5 + tx, 0.5 * ry - 0.5 + ty
    ix, iy = math.floor(ox), math.floor(oy)
    sh, sw = sprite.grey.shape
    sw, sh = math.ceil(sw * rx) + 1, math.ceil(sh * ry) + 1
    warp = np.float32([[rx, 0, ox - ix], [0, ry, oy - iy]])
    grey = cv2.warpAffine(
        sprite.grey,
        warp,
        (sw, sh),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    alpha = cv2.warpAffine(
        sprite.alpha,
        warp,
        (sw, sh),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    height, width = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, ix), max(0, iy), min(width, ix + sw), min(height, iy + sh)
    if x0 >= x1 or y0 >= y1:
        return None
    a = alpha[y0 - iy : y1 - iy, x0 - ix : x1 - ix, None]
    g = grey[y0 - iy : y1 - iy, x0 - ix : x1 - ix, None]
    roi = canvas[y0:y1, x0:x1]
    roi *= 1.0 - a
    roi += a * g
    box = (fb[0] + tx, fb[1] + ty, fb[2] + tx, fb[3] + ty)
    return (x0, y0, x1, y1), a[:, :, 0], box


def _covered_fraction(box: Box, later: list[tuple[tuple[int, int, int, int], np.ndarray]]) -> float:
    """Fraction of ``box`` pixels under alpha > 0.5 of faces drawn after it."""
    bx0, by0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    bx1, by1 = math.ceil(box[2]), math.ceil(box[3])
    if bx1 <= bx0 or by1 <= by0:
        return 1.0
    covered = np.zeros((by1 - by0, bx1 - bx0), bool)
    for (x0, y0, x1, y1), alpha in later:
        ix0, iy0, ix1, iy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
        if ix0 < ix1 and iy0 < iy1:
            covered[iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0] |= (
                alpha[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] > 0.5
            )
    return float(covered.mean())


def _clip_box(box: Box, width: int, height: int) -> Box | None:
    """Box clipped to the frame, or None when less than half of it is inside."""
    x1, y1 = max(0.0, box[0]), max(0.0, box[1])
    x2, y2 = min(float(width), box[2]), min(float(height), box[3])
    area = (box[2] - box[0]) * (box[3] - box[1])
    if x2 <= x1 or y2 <= y1 or (x2 - x1) * (y2 - y1) < 0.5 * area:
        return None
    return x1, y1, x2, y2


class FrameRenderer:
    """Renders frames of a plan one at a time, caching scaled sprites per seat size."""

    def __init__(self, plan: ClassroomPlan, background: np.ndarray | None = None) -> None:
        self.plan = plan
        self.background = (
            render_background((plan.width, plan.height), plan.seed)
            if background is None
            else background
        )
        self._cache: dict[tuple[str, float], Sprite] = {}
        self._seat_widths = {p.seat.face_width for p in plan.people}

    def sprite(self, photo: FacePhoto, face_width: float) -> Sprite:
        key = (photo.path, face_width)
        if key in self._cache:
            return self._cache[key]
        sprite = make_sprite(photo, face_width)
        if face_width in self._seat_widths:  # cache the seat sizes only, not crossing frames
            self._cache[key] = sprite
        return sprite

    def render(self, frame: int) -> tuple[np.ndarray, list[tuple[FaceState, Box]]]:
        """BGR uint8 frame and the visible faces with their GT boxes."""
        canvas = self.background.astype(np.float32)
        drawn: list[tuple[FaceState, tuple[int, int, int, int], np.ndarray, Box]] = []
        for state in frame_states(self.plan, frame):
            pasted = paste_sprite(
                canvas, self.sprite(state.photo, state.face_width), state.cx, state.cy
            )
            if pasted is not None:
                drawn.append((state, pasted[0], pasted[1], pasted[2]))
        visible = []
        for i, (state, _rect, _alpha, box) in enumerate(drawn):
            later = [(r, a) for _s, r, a, _b in drawn[i + 1 :]]
            clipped = _clip_box(box, self.plan.width, self.plan.height)
            if clipped is not None and _covered_fraction(clipped, later) <= OCCLUDED_FRACTION:
                visible.append((state, clipped))
        visible.sort(key=lambda v: v[0].person)
        return np.clip(canvas + 0.5, 0, 255).astype(np.uint8), visible


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def open_h264(path: Path, width: int, height: int, fps: int, crf: int = 20) -> tuple[Any, Any]:
    """An H.264 (yuv420p) mp4 container and stream for writing with PyAV."""
    container = av.open(str(path), "w")
    stream = container.add_stream(
        "libx264", rate=fps, options={"crf": str(crf), "preset": "fast", "g": str(2 * fps)}
    )
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = Fraction(1, fps)
    return container, stream


def probe_video(path: Path) -> tuple[int, int, int]:
    """Decode the whole video; returns (frames decoded, width, height)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        n = sum(1 for _ in container.decode(stream))
        return n, stream.codec_context.width, stream.codec_context.height


def size_bucket(width: float) -> str:
    for lo, hi in SIZE_BUCKETS:
        if lo <= width < hi or (hi == SIZE_BUCKETS[-1][1] and width == hi):
            return f"{lo}-{hi}"
    return "other"


def build_metadata(
    plan: ClassroomPlan,
    video: Path,
    emotion_people: dict[str, set[str]],
    rows: int,
    elapsed_s: float,
) -> dict[str, Any]:
    fps = plan.fps
    people = []
    for k, p in enumerate(plan.people):
        people.append(
            {
                "person": p.person,
                "subject": p.photos[0].subject,
                "index": k,
                "seat": {
                    "index": p.seat.index,
                    "cx": round(p.seat.cx, 2),
                    "cy": round(p.seat.cy, 2),
                },
                "face_width": round(p.seat.face_width, 2),
                "size_bucket": size_bucket(p.seat.face_width),
                "absences_s": [[a / fps, b / fps] for a, b in p.absences],
                "segments": [
                    {
                        "start_s": s.start / fps,
                        "end_s": s.end / fps,
                        "emotion": s.emotion,
                        "photo": p.photos[s.photo].path,
                    }
                    for s in p.segments
                ],
            }
        )
    cr = plan.crossing
    return {
        "video": video.name,
        "fps": fps,
        "width": plan.width,
        "height": plan.height,
        "n_frames": plan.n_frames,
        "duration_s": plan.n_frames / fps,
        "seed": plan.seed,
        "seat_permutation_seed": plan.seat_permutation_seed,
        "faces_dir": str(plan.faces_dir.resolve()),
        "gt_box_source": (
            f"OpenCV YuNet ({DEFAULT_YUNET.name}, score >= {YUNET_SCORE}) on each source photo"
        ),
        "context_scale": CONTEXT_SCALE,
        "occluded_fraction": OCCLUDED_FRACTION,
        "truth_columns": list(TRUTH_COLUMNS),
        "truth_rows": rows,
        "people": people,
        "crossing": None
        if cr is None
        else {
            "front": plan.people[cr.front].person,
            "back": plan.people[cr.back].person,
            "start_s": cr.start / fps,
            "end_s": cr.end / fps,
            "note": "the two people swap seats; front passes in front of back",
        },
        "visible_emotions": {e: sorted(v) for e, v in sorted(emotion_people.items())},
        "compose_seconds": round(elapsed_s, 2),
        "note": PUBLICATION_NOTE,
    }


def _truth_row(frame: int, fps: int, state: FaceState, box: Box, person: str) -> list[Any]:
    return [frame, round(frame / fps, 6), person, state.emotion, *(round(v, 2) for v in box)]


def compose_classroom(
    out_path: Path,
    faces_dir: Path = DEFAULT_FACES,
    *,
    seed: int = 0,
    duration_s: float = 30.0,
    fps: int = 10,
    size: tuple[int, int] = (960, 540),
    people: int | None = None,
    seat_permutation_seed: int | None = None,
    crossing: bool = False,
    face_width: float | None = None,
) -> ComposedVideo:
    """Compose a classroom video at ``out_path`` (``face_width``: see ``plan_classroom``).

    Writes ``<stem>.truth.csv`` and ``<stem>.truth.json`` next to it, rendering
    and encoding one frame at a time. Raises ``FacesNotFoundError`` when the
    faces folder is missing and ``ValueError`` when the people do not fit.
    """
    started = time.perf_counter()
    out_path = Path(out_path)
    plan = plan_classroom(
        Path(faces_dir),
        seed=seed,
        duration_s=duration_s,
        fps=fps,
        size=size,
        people=people,
        seat_permutation_seed=seat_permutation_seed,
        crossing=crossing,
        face_width=face_width,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    truth_csv = out_path.with_name(out_path.stem + ".truth.csv")
    truth_json = out_path.with_name(out_path.stem + ".truth.json")
    renderer = FrameRenderer(plan)
    emotion_people: dict[str, set[str]] = {}
    rows = 0
    container, stream = open_h264(out_path, plan.width, plan.height, fps)
    try:
        with truth_csv.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(TRUTH_COLUMNS)
            for frame in range(plan.n_frames):
                image, visible = renderer.render(frame)
                for state, box in visible:
                    person = plan.people[state.person].person
                    writer.writerow(_truth_row(frame, fps, state, box, person))
                    emotion_people.setdefault(state.emotion, set()).add(person)
                    rows += 1
                vf = av.VideoFrame.from_ndarray(image, format="bgr24")
                vf.pts = frame
                for packet in stream.encode(vf):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    n_decoded, w, h = probe_video(out_path)
    if (n_decoded, w, h) != (plan.n_frames, plan.width, plan.height):
        raise RuntimeError(
            f"{out_path} decodes to {n_decoded} frames of {w}x{h}, "
            f"expected {plan.n_frames} of {plan.width}x{plan.height}"
        )
    metadata = build_metadata(plan, out_path, emotion_people, rows, time.perf_counter() - started)
    truth_json.write_text(json.dumps(metadata, indent=2) + "\n")
    return ComposedVideo(out_path, truth_csv, truth_json, metadata)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Compose a synthetic classroom video with exact face truth."
    )
    ap.add_argument("--out", type=Path, required=True, help="output .mp4 path")
    ap.add_argument(
        "--faces", type=Path, default=DEFAULT_FACES, help="JAFFE folder with labels.csv"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds")
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument(
        "--people", type=int, default=None, help="number of people (default: all subjects)"
    )
    ap.add_argument(
        "--seats-seed", type=int, default=None, help="permute which person sits in which seat"
    )
    ap.add_argument(
        "--crossing", action="store_true", help="two people walk past each other and swap seats"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.faces / "labels.csv").is_file():
        print(f"error: faces folder not found or lacks labels.csv: {args.faces}", file=sys.stderr)
        return 2
    try:
        result = compose_classroom(
            args.out,
            args.faces,
            seed=args.seed,
            duration_s=args.duration,
            fps=args.fps,
            size=(args.width, args.height),
            people=args.people,
            seat_permutation_seed=args.seats_seed,
            crossing=args.crossing,
        )
    except (FacesNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta = result.metadata
    print(
        f"video: {result.video_path} ({meta['n_frames']} frames, {meta['width']}x{meta['height']}, "
        f"{meta['fps']} fps)"
    )
    print(f"truth csv: {result.truth_csv} ({meta['truth_rows']} rows)")
    print(f"truth json: {result.truth_json}")
    print(f"composed in {meta['compose_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
