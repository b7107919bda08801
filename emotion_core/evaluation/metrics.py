"""Classification metrics over the emotion labels: accuracy, per-class P/R/F1, confusion.

Kept free of the app's heavy imports so that training (which may run on a machine with torch and
little else) and evaluation compute them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emotion_core.core.labels import EMOTIONS


def classification_metrics(
    true: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = EMOTIONS
) -> dict[str, object]:
    """Accuracy, per-class precision/recall/F1 with support, micro/macro/weighted averages and
    the confusion matrix. A class with no predictions has precision 0 (no credit is invented)."""
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(true, predicted):
        confusion[index[t], index[p]] += 1
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1).astype(float)
    predicted_count = confusion.sum(axis=0).astype(float)
    precision = np.divide(tp, predicted_count, out=np.zeros_like(tp), where=predicted_count > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(tp), where=denominator > 0)
    total = support.sum()
    present = support > 0  # macro averages over the classes that occur in the labels
    accuracy = float(tp.sum() / total) if total else 0.0
    weights = support / total if total else support
    averages = {
        "micro": {"precision": accuracy, "recall": accuracy, "f1": accuracy},
        "macro": {
            "precision": float(precision[present].mean()) if present.any() else 0.0,
            "recall": float(recall[present].mean()) if present.any() else 0.0,
            "f1": float(f1[present].mean()) if present.any() else 0.0,
        },
        "weighted": {
            "precision": float((precision * weights).sum()),
            "recall": float((recall * weights).sum()),
            "f1": float((f1 * weights).sum()),
        },
    }
    per_class = {
        label: {
            "precision": float(precision[i]), "recall": float(recall[i]),
            "f1": float(f1[i]), "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    return {
        "accuracy": accuracy, "macro_f1": averages["macro"]["f1"], "per_class": per_class,
        "averages": averages, "confusion": confusion.tolist(), "labels": list(labels),
    }


def expected_calibration_error(
    probabilities: np.ndarray, true: Sequence[int] | np.ndarray, bins: int = 15
) -> float:
    """Expected calibration error of the top class: faces binned by their top probability into
    ``bins`` equal-width bins over (0, 1], the gap between each bin's accuracy and its mean
    confidence, weighted by the share of faces in the bin. 0 for a perfectly calibrated model.

    ``probabilities`` (N, K) rows over the labels; ``true`` (N,) indices of the true labels.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    true = np.asarray(true, dtype=np.int64)
    if probabilities.ndim != 2 or len(probabilities) != len(true):
        raise ValueError(f"probabilities must be (N, K) for {len(true)} labels, got {probabilities.shape}")
    if not len(true):
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == true
    # bin i holds confidences in (i / bins, (i + 1) / bins]; a confidence of 0 joins the first
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    error = 0.0
    for b in np.unique(which):
        members = which == b
        error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)
