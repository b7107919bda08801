"""Face thumbnails as small JPEGs: the image side of the opt-in thumbnails (the store keeps them)."""

from __future__ import annotations

import cv2
import numpy as np

THUMBNAIL_PX = 96
JPEG_QUALITY = 85


def encode_thumbnail(chip: np.ndarray, size: int = THUMBNAIL_PX) -> bytes:
    """An RGB face chip (H, W, 3) uint8 as a ``size`` x ``size`` JPEG."""
    if chip.ndim != 3 or chip.shape[2] != 3:
        raise ValueError(f"a face chip is (H, W, 3) RGB, got shape {chip.shape}")
    small = cv2.resize(chip, (size, size), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(
        ".jpg", np.ascontiguousarray(small[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise ValueError("the face chip could not be encoded as JPEG")
    return jpeg.tobytes()


def decode_thumbnail(jpeg: bytes) -> np.ndarray:
    """The RGB pixels of a stored thumbnail."""
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a JPEG image")
    return image[:, :, ::-1]
