"""Reading faces with a torch network, and scoring probabilities against the faces' labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion_core.core.labels import EMOTIONS
from emotion_core.evaluation.metrics import classification_metrics
from emotion_core.training.augment import normalise


def logits(net: Any, images: np.ndarray, device: Any, standardise: bool,
           mirrored: bool = False, batch_size: int = 1024) -> np.ndarray:
    """The network's logits (N, 7) for grey faces (N, 48, 48) uint8, or for their mirror images."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).to(device).float().unsqueeze(1)
            x = normalise(x, standardise)
            if mirrored:
                x = torch.flip(x, dims=[3])
            out.append(net(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    """Probabilities (N, K) from logits (N, K)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def predict(net: Any, images: np.ndarray, device: Any, standardise: bool,
            flip: bool = False, batch_size: int = 1024) -> np.ndarray:
    """Probabilities (N, 7) for grey faces (N, 48, 48) uint8; ``flip`` averages with the mirror."""
    p = softmax(logits(net, images, device, standardise, batch_size=batch_size))
    if flip:
        p = (p + softmax(logits(net, images, device, standardise, True, batch_size))) / 2
    return p


def score(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class numbers of the top classes against ``labels``."""
    predicted = [EMOTIONS[i] for i in probabilities.argmax(axis=1)]
    return classification_metrics([EMOTIONS[i] for i in labels], predicted)
