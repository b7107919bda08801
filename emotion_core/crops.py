"""Cutting face crops out of frames: the one preprocessing path shared by analysis and evaluation."""

from __future__ import annotations

import cv2
import numpy as np

from emotion_core.types import Faces


def square_boxes(boxes: np.ndarray, margin: float) -> np.ndarray:
    """Square boxes centred on ``boxes`` (N, 4), each side enlarged by ``margin`` of the longer side."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (1 + 2 * margin)
    half = side / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)


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


def grey_face_crops(image: np.ndarray, faces: Faces, size: int, margin: float) -> np.ndarray:
    """Square grey crops (N, size, size) uint8 of the faces of one RGB frame.

    Parts of a crop that fall outside the frame are filled by replicating the border, so a face
    at the edge keeps its position in the crop instead of being stretched.
    """
    crops = np.empty((len(faces), size, size), dtype=np.uint8)
    if not len(faces):
        return crops
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    for i, square in enumerate(square_boxes(faces.boxes, margin)):
        crops[i] = _warp_square(grey, square, size, cv2.BORDER_REPLICATE)
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
