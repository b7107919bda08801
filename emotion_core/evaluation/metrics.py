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
