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


def grey_face_crops(image: np.ndarray, faces: Faces, size: int, margin: float) -> np.ndarray:
    """Square grey crops (N, size, size) uint8 of the faces of one RGB frame.

    Parts of a crop that fall outside the frame are filled by replicating the border, so a face
    at the edge keeps its position in the crop instead of being stretched.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    crops = np.empty((len(faces), size, size), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(square_boxes(faces.boxes, margin)):
        # an affine warp reads outside the frame without allocating a padded copy of it
        scale = size / max(x2 - x1, 1e-3)
        matrix = np.array([[scale, 0, -x1 * scale], [0, scale, -y1 * scale]], dtype=np.float32)
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        crops[i] = cv2.warpAffine(
            grey, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE
        )
    return crops
