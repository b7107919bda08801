"""Slightly changed views of grey faces, and a model's reading averaged over them.

A network reads a face a little differently when it is zoomed by a few per cent; averaging the
readings of such views (test-time augmentation) is steadier than any one of them. Each view is
made with OpenCV about the face's centre, its border repeated, from the 48×48 crop the models
read. ``benchmarks/emotion_tta.py`` measures views on the FER2013 public test set, and
``train-emotion --distil-from`` learns from a model's readings averaged over its zooms.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emotion_core.emotion.model import EmotionModel

# the zooms averaged with the face itself (BENCHMARKS.md, "Our own emotion model": they lift the
# committed network on the validation split from 0.703 to 0.714)
DEFAULT_ZOOMS = (1.08, 0.92)


def changed(faces: np.ndarray, dx: float = 0.0, dy: float = 0.0, zoom: float = 1.0,
            turn: float = 0.0) -> np.ndarray:
    """Grey faces (N, H, W) shifted by (dx, dy) pixels, zoomed by ``zoom`` and turned by ``turn``
    degrees about their centre, the border repeated; same shape and dtype."""
    if not len(faces):
        return faces.copy()
    h, w = faces.shape[1:3]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), turn, zoom)
    m[:, 2] += (dx, dy)
    return np.stack([cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE) for f in faces])


def read_over_zooms(model: EmotionModel, faces: np.ndarray,
                    zooms: Sequence[float] = DEFAULT_ZOOMS) -> np.ndarray:
    """``model``'s probabilities (N, 7) for grey faces, averaged over each face and its zooms
    (a model that mirrors faces itself averages each view with its mirror too). The model
    bounds its own calls (``ClassroomEmotionNet`` runs onnxruntime in pieces)."""
    readings = [model.predict(faces if zoom == 1.0 else changed(faces, zoom=zoom))
                for zoom in (1.0, *zooms)]
    return np.mean(readings, axis=0).astype(np.float32)
