"""Cutting face crops out of frames: the one preprocessing path shared by analysis and evaluation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from emotion_core.core.geometry import square_boxes
from emotion_core.core.types import Faces


def _warp_square(
    image: np.ndarray, square: np.ndarray, size: int, border: int, fill: int = 0
) -> np.ndarray:
    """The square (x1, y1, x2, y2) of ``image`` resized to size × size pixels."""
    x1, y1, x2, _ = square
    # an affine warp reads outside the frame without allocating a padded copy of it
    scale = size / max(float(x2 - x1), 1e-3)
    matrix = np.array([[scale, 0, -x1 * scale], [0, scale, -y1 * scale]], dtype=np.float32)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(
        image, matrix, (size, size), flags=interpolation, borderMode=border, borderValue=fill
    )


NORMALISATIONS = ("none", "equalise", "clahe")


@dataclass(frozen=True)
class FacePreprocessing:
    """How a detected face is turned into what an emotion model sees.

    One value of this is used by video analysis and by evaluation alike (``emotion.
    classify_faces``), so the accuracy measured on photos is the accuracy of the pipeline.
    The default is what measured best on both JAFFE and lfw_emotion_dev (BENCHMARKS.md).

    - ``align``: rotate about the face's centre so that the eyes (MTCNN's landmarks) are level,
      as the faces of FER2013 mostly are; faces without landmarks are left as they are.
    - ``margin``: room around the detector's box, a fraction of its longer side on each side;
      None takes the model's own ``crop_margin``.
    - ``normalise``: grey-level normalisation of each crop: "none", "equalise" (histogram
      equalisation) or "clahe" (contrast-limited, in 4×4 tiles).
    - ``flip``: also classify the mirror image of each face and average the two readings.
    """

    align: bool = False
    margin: float | None = None
    normalise: str = "none"
    flip: bool = False

    def __post_init__(self) -> None:
        if self.normalise not in NORMALISATIONS:
            raise ValueError(f"normalise must be one of {', '.join(NORMALISATIONS)}, got {self.normalise!r}")
        if self.margin is not None and not -0.25 <= self.margin <= 1.0:
            raise ValueError(f"margin must be between -0.25 and 1, got {self.margin}")

    def describe(self) -> str:
        return "preprocessing(" + ", ".join(f"{k}={v}" for k, v in asdict(self).items()) + ")"


def eye_angles(faces: Faces) -> np.ndarray:
    """Angle (N,) in radians of the line from the left to the right eye; 0 where unknown."""
    left, right = faces.landmarks[:, 0], faces.landmarks[:, 1]
    delta = right - left
    known = np.isfinite(delta).all(axis=1) & (np.abs(delta).sum(axis=1) > 0)
    angles = np.where(known, np.arctan2(delta[:, 1], delta[:, 0]), 0.0)
    # beyond 45° the landmarks are not a level face's eyes (a profile, a wrong landmark)
    return np.where(np.abs(angles) <= np.pi / 4, angles, 0.0).astype(np.float32)


def _warp_face(grey: np.ndarray, square: np.ndarray, angle: float, size: int) -> np.ndarray:
    """The square (x1, y1, x2, y2) of ``grey``, turned by ``angle`` about its centre, as
    size × size pixels; what lies outside the frame repeats the frame's border."""
    side = max(float(square[2] - square[0]), 1e-3)
    # warpAffine has no area filter, so a face much larger than ``size`` is warped to a whole
    # multiple of it and then area-averaged, rather than aliased into a pattern in one step
    factor = max(1, int(side // size))
    out = size * factor
    centre = (square[:2] + square[2:]) / 2
    scale = side / out
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    # output pixel (u, v) reads the frame at centre + R(angle) · scale · ((u, v) - out / 2)
    half = out / 2
    matrix = np.array(
        [[cos, -sin, centre[0] - cos * half + sin * half],
         [sin, cos, centre[1] - sin * half - cos * half]],
        dtype=np.float32,
    )
    crop = cv2.warpAffine(
        grey, matrix, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if factor > 1:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return crop


def normalised(crops: np.ndarray, how: str) -> np.ndarray:
    """Grey crops (N, S, S) uint8 after the grey-level normalisation ``how`` (NORMALISATIONS)."""
    if how == "none" or not len(crops):
        return crops
    if how == "equalise":
        return np.stack([cv2.equalizeHist(c) for c in crops])
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    return np.stack([clahe.apply(c) for c in crops])


def grey_face_crops(
    image: np.ndarray,
    faces: Faces,
    size: int,
    margin: float,
    align: bool = False,
) -> np.ndarray:
    """Square grey crops (N, size, size) uint8 of the faces of one RGB frame.

    Parts of a crop that fall outside the frame are filled by replicating the border, so a face
    at the edge keeps its position in the crop instead of being stretched. ``align`` turns each
    face so that its eyes are level (see ``FacePreprocessing``).
    """
    crops = np.empty((len(faces), size, size), dtype=np.uint8)
    if not len(faces):
        return crops
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    angles = eye_angles(faces) if align else np.zeros(len(faces), np.float32)
    for i, square in enumerate(square_boxes(faces.boxes, margin)):
        crops[i] = _warp_face(grey, square, float(angles[i]), size)
    return crops


def region_crops(image: np.ndarray, squares: np.ndarray, size: int) -> np.ndarray:
    """The square regions ``squares`` (N, 4) of an RGB frame as (N, size, size, 3) uint8.

    Used to look for a face again near where it was: what lies outside the frame is black, as a
    detector sees beyond the edge of a whole frame, so a face at the edge is found the same way.
    """
    crops = np.empty((len(squares), size, size, 3), dtype=np.uint8)
    for i, square in enumerate(np.asarray(squares, dtype=np.float32).reshape(-1, 4)):
        # warpAffine has no area filter (it treats INTER_AREA as bilinear), so a region much
        # larger than ``size`` is warped to a whole multiple of it first and then area-averaged:
        # shrunk in one step, a large face would alias into a pattern the detector misses
        factor = max(1, int(float(square[2] - square[0]) // size))
        crop = _warp_square(image, square, size * factor, cv2.BORDER_CONSTANT)
        if factor > 1:
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        crops[i] = crop
    return crops
