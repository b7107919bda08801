"""Reading faces with a torch network, and scoring probabilities against the faces' labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion_core.core.labels import EMOTIONS
from emotion_core.evaluation.metrics import classification_metrics
from emotion_core.training.augment import normalise


def predict(net: Any, images: np.ndarray, device: Any, standardise: bool,
            flip: bool = False, batch_size: int = 1024) -> np.ndarray:
    """Probabilities (N, 7) for grey faces (N, 48, 48) uint8; ``flip`` averages with the mirror."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).to(device).float().unsqueeze(1)
            x = normalise(x, standardise)
            p = torch.softmax(net(x), dim=1)
            if flip:
                p = (p + torch.softmax(net(torch.flip(x, dims=[3])), dim=1)) / 2
            out.append(p.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), np.float32)


def score(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class numbers of the top classes against ``labels``."""
    predicted = [EMOTIONS[i] for i in probabilities.argmax(axis=1)]
    return classification_metrics([EMOTIONS[i] for i in labels], predicted)
