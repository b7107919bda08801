"""Judging a run on faces of several heights, and calibrating its probabilities (a temperature).

A classroom camera sees faces of 15-40 px: a run is judged on its validation faces shrunk to
each of ``val_heights`` and enlarged back to 48 px (area down, bilinear up, as
``benchmarks/low_resolution.py`` measures), all together. The temperature that divides the
network's logits is the one under which those faces' readings (each averaged with its mirror,
as the exported graph reads) have the least negative log-likelihood (Guo et al. 2017).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from emotion_core.training.fer2013 import FACE_SIZE, FaceSet
from emotion_core.training.measure import logits, softmax

# temperatures tried, from sharpening (0.5) to strong softening (4)
TEMPERATURES = np.round(np.exp(np.linspace(np.log(0.5), np.log(4.0), 85)), 4)


def at_height(images: np.ndarray, height: int) -> np.ndarray:
    """Grey faces (N, 48, 48) shrunk to ``height`` px (area) and enlarged back (bilinear)."""
    if height >= FACE_SIZE:
        return images
    return np.stack([
        cv2.resize(cv2.resize(face, (height, height), interpolation=cv2.INTER_AREA),
                   (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_LINEAR)
        for face in images
    ]) if len(images) else images


def at_heights(faces: FaceSet, heights: tuple[int, ...]) -> FaceSet:
    """``faces`` at each of ``heights``, one after the other."""
    return FaceSet(np.concatenate([at_height(faces.images, h) for h in heights]),
                   np.concatenate([faces.labels for _ in heights]))


def mirrored_logits(net: Any, images: np.ndarray, device: Any, standardise: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The network's logits for grey faces (N, 48, 48) uint8 and for their mirror images."""
    return (logits(net, images, device, standardise),
            logits(net, images, device, standardise, mirrored=True))


def read_with_temperature(plain: np.ndarray, mirrored: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities as the exported graph gives them: the softmax of logits / temperature,
    averaged over the face and its mirror."""
    return (softmax(plain / temperature) + softmax(mirrored / temperature)) / 2


def fit_temperature(plain: np.ndarray, mirrored: np.ndarray, labels: np.ndarray) -> float:
    """The temperature (of ``TEMPERATURES``) with the least negative log-likelihood of labels."""
    def nll(t: float) -> float:
        p = read_with_temperature(plain, mirrored, t)[np.arange(len(labels)), labels]
        return float(-np.log(np.maximum(p, 1e-12)).mean())

    return float(min(TEMPERATURES, key=nll))

