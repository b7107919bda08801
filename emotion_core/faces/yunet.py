"""YuNet (OpenCV's ``cv2.FaceDetectorYN``, weights committed under ``models/yunet``), looking
at each image as it is and at an enlarged copy for small faces, the looks merged by vote.

YuNet finds faces of about 10 to 300 px. One look at the image as it is misses small faces and
boxes some hands and patterns; a second look at a copy enlarged 2x finds the small faces, and
the vote (``faces/voting.py``) keeps a face both looks find while one that a single look finds
weakly loses half its score. Looking at the mirror image as well (``mirror``) finds a few more
faces for twice the time. The settings were swept on one half of WIDER FACE's group photos and
confirmed on the other (BENCHMARKS.md, "Detection on real photos (issue 19)";
``benchmarks/detection_real.py``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.paths import MODELS_DIR
from emotion_core.core.types import Faces, Frame
from emotion_core.faces.voting import ROW_WIDTH, vote

YUNET_WEIGHTS = MODELS_DIR / "yunet" / "face_detection_yunet_2026may.onnx"
# YuNet's own non-maximum suppression within one look, and the most faces it keeps per look.
_NMS_IOU = 0.3
_TOP_K = 5000
# x of the five landmarks (left eye, right eye, nose, mouth left, mouth right) in a row, and the
# order a mirrored look's landmarks come back in: its left eye is the image's right eye
_LANDMARK_X = [5, 7, 9, 11, 13]
_MIRRORED = [0, 1, 2, 3, 4, 7, 8, 5, 6, 9, 10, 13, 14, 11, 12]


class DetectorUnavailable(ClassroomMoodError, RuntimeError):
    """A detector's weights are missing or cannot be read."""


class DetectorSettingsError(ClassroomMoodError, ValueError):
    """A detector setting out of its range."""


@dataclass(frozen=True)
class YuNetSettings:
    """YuNet's knobs (defaults from ``benchmarks/detection_real.py`` and ``benchmarks/speed.py``,
    see docs/detection.md).

    - ``min_score``: the least voted score of a face (``faces/voting.py``).
    - ``min_score_small``: the same for faces under ``small_face_px`` high, where most of what
      matches no face is (patterns, hands, the backs of heads far away).
    - ``small_face_upscale``: the second look's enlargement (1 turns it off); it is smaller
      where the enlarged frame would pass ``max_upscaled_pixels``, which bounds its cost on
      large frames (their faces are larger too).
    - ``mirror``: also look at each image mirrored (twice the time; off by default).
    - ``candidate_score``: YuNet's own threshold for a candidate of one look.
    - ``same_face_iou``: candidates of different looks that overlap this much are one face.
    """

    min_score: float = 0.45
    min_score_small: float = 0.6
    small_face_px: float = 20.0
    small_face_upscale: float = 2.0
    max_upscaled_pixels: int = 2_000_000
    mirror: bool = False
    candidate_score: float = 0.2
    same_face_iou: float = 0.3

    def __post_init__(self) -> None:
        if not 0 <= self.candidate_score <= min(self.min_score, self.min_score_small) <= 1:
            raise DetectorSettingsError(
                "YuNet's scores must satisfy 0 <= candidate_score <= min_score <= 1"
            )
        if self.small_face_upscale < 1:
            raise DetectorSettingsError("small_face_upscale must be at least 1")

    def describe(self) -> str:
        return "yunet(" + ", ".join(f"{k}={v}" for k, v in asdict(self).items()) + ")"

    def scales(self, width: int, height: int) -> list[float]:
        """The enlargements looked at for a ``width`` × ``height`` image."""
        cap = math.sqrt(self.max_upscaled_pixels / max(1, width * height))
        upscale = min(self.small_face_upscale, cap)
        return [1.0, upscale] if upscale > 1.05 else [1.0]


class YuNetDetector:
    """YuNet on every image of a batch, one at a time (OpenCV's detector takes one image)."""

    def __init__(self, settings: YuNetSettings | None = None, weights: Path = YUNET_WEIGHTS) -> None:
        if not weights.is_file():
            raise DetectorUnavailable(
                f"YuNet's weights are missing: {weights} (they ship with the project in models/yunet)"
            )
        self.settings = settings or YuNetSettings()
        try:
            self._yunet = cv2.FaceDetectorYN.create(
                str(weights), "", (320, 320), self.settings.candidate_score, _NMS_IOU, _TOP_K
            )
        except cv2.error as exc:
            raise DetectorUnavailable(f"YuNet's weights could not be read from {weights}: {exc}") from exc
        # one OpenCV detector holds its input size: a live session and an analysis may share it
        self._lock = threading.Lock()
        self.name = "yunet"
        self.description = self.settings.describe()

    def detect(self, frames: Sequence[Frame]) -> list[Faces]:
        images = [np.ascontiguousarray(frame.image[:, :, ::-1]) for frame in frames]  # BGR
        plans = [self._looks(image) for image in images]
        found: list[list[np.ndarray]] = [[] for _ in frames]
        # look by look across the batch, so that OpenCV's input size changes once a look, not
        # once an image (each change costs about as much as a look at a small region)
        for step in range(max((len(plan) for plan in plans), default=0)):
            for image, plan, rows in zip(images, plans, found):
                if step < len(plan):
                    rows.append(self._look(image, *plan[step]))
        return [self._voted(frame, rows) for frame, rows in zip(frames, found)]

    def _looks(self, image: np.ndarray) -> list[tuple[float, bool]]:
        """(enlargement, mirrored) of each look at ``image``."""
        scales = self.settings.scales(image.shape[1], image.shape[0])
        mirrored = (False, True) if self.settings.mirror else (False,)
        return [(scale, mirror) for scale in scales for mirror in mirrored]

    def _voted(self, frame: Frame, looks: list[np.ndarray]) -> Faces:
        s = self.settings
        rows = vote(looks, s.same_face_iou, s.min_score, s.min_score_small, s.small_face_px)
        faces = Faces(
            frame_index=frame.index,
            time_s=frame.time_s,
            boxes=rows[:, :4].copy(),
            scores=rows[:, 4].copy(),
            landmarks=rows[:, 5:].reshape(-1, 5, 2).copy(),
        )
        height, width = frame.image.shape[:2]
        return faces.clipped_to(width, height)

    def _look(self, bgr: np.ndarray, scale: float, mirror: bool) -> np.ndarray:
        """YuNet's candidates in ``bgr`` enlarged by ``scale`` and mirrored if ``mirror``, as
        rows x1, y1, x2, y2, score, 5 × (x, y) in ``bgr``'s pixels."""
        if scale != 1.0:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        if mirror:
            bgr = bgr[:, ::-1]
        bgr = np.ascontiguousarray(bgr)
        with self._lock:
            self._yunet.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, found = self._yunet.detect(bgr)
        if found is None:
            return np.zeros((0, ROW_WIDTH), dtype=np.float32)
        # OpenCV gives x, y, w, h, the five landmarks (as ours: image-left eye first), score
        rows = np.empty((len(found), ROW_WIDTH), dtype=np.float32)
        rows[:, :2] = found[:, :2]
        rows[:, 2:4] = found[:, :2] + found[:, 2:4]
        rows[:, 4] = found[:, 14]
        rows[:, 5:] = found[:, 4:14]
        if mirror:
            rows = _mirrored_back(rows, bgr.shape[1])
        return rows / _row_scale(scale)


def _row_scale(scale: float) -> np.ndarray:
    """Divides a row's coordinates by ``scale`` and leaves its score alone."""
    divisor = np.full(ROW_WIDTH, scale, dtype=np.float32)
    divisor[4] = 1.0
    return divisor


def _mirrored_back(rows: np.ndarray, width: int) -> np.ndarray:
    """Rows found in an image mirrored left to right, in the unmirrored image's pixels."""
    rows = rows.copy()
    rows[:, [0, 2]] = width - rows[:, [2, 0]]
    rows[:, _LANDMARK_X] = width - rows[:, _LANDMARK_X]
    return rows[:, _MIRRORED]
