"""Every emotion backend on faces as small as a classroom camera sees them (issue 18).

Each face of the FER2013 public test (48×48) is shrunk to N px high (area) and enlarged back to
the model's input size (bilinear), both in floating point so that no rounding is added to the
loss of detail, for N = 48, 32, 24, 20, 16 and 12. The crops are read as the app reads faces:
``emotion.model.classify_crops``, averaged with their mirror images and, for an ensemble, over
its members, each member getting the face enlarged to its own input size. For every model and
height it prints accuracy, macro-F1, the share of neutral faces read as negative (angry,
disgust, fear, sad), the expected calibration error (15 equal-width bins of the top class's
probability) and the share of faces read as each class against the true share. Backends whose
weights are absent are listed as such; the model ``auto`` chooses (the default) is marked.

Usage::

    .venv/bin/python benchmarks/low_resolution.py [--data ../shared/data/fer2013] \
        [--models fer classroom ...] [--heights 48 24 ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core.analysis.models import (
    EMOTION_BACKENDS,
    EMOTION_ENSEMBLES,
    OFFLINE_DEFAULT_EMOTION_MODEL,
    configure_environment,
    load_emotion_model,
)
from emotion_core.core.labels import EMOTIONS, NEGATIVE_EMOTIONS
from emotion_core.emotion.model import EmotionModel, EmotionModelUnavailable, classify_crops
from emotion_core.evaluation.metrics import classification_metrics, expected_calibration_error
from emotion_core.training.fer2013 import FaceSet, load_public_test

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
HEIGHTS = (48, 32, 24, 20, 16, 12)
MODELS = (*EMOTION_BACKENDS, *EMOTION_ENSEMBLES)
ECE_BINS = 15
NEUTRAL = EMOTIONS.index("neutral")
NEGATIVE = [EMOTIONS.index(e) for e in NEGATIVE_EMOTIONS]


def shrunk(faces: np.ndarray, height: int) -> np.ndarray:
    """Square faces (N, S, S) shrunk to (N, height, height) float32 by area averaging, as a
    camera further away would see them."""
    faces = faces.astype(np.float32)
    if faces.shape[1] == height:
        return faces
    return np.stack([cv2.resize(f, (height, height), interpolation=cv2.INTER_AREA) for f in faces])


def enlarged(faces: np.ndarray, size: int) -> np.ndarray:
    """Square faces (N, h, h) enlarged (bilinear) to (N, size, size) float32, as the app
    enlarges a small face to a model's input size."""
    faces = faces.astype(np.float32)
    if faces.shape[1] == size:
        return faces
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR) for f in faces])


def neutral_read_as_negative(predicted: np.ndarray, true: np.ndarray) -> float:
    """The share of truly neutral faces whose top class is a negative emotion."""
    neutral = true == NEUTRAL
    return float(np.isin(predicted[neutral], NEGATIVE).mean()) if neutral.any() else 0.0


def class_shares(indices: np.ndarray) -> dict[str, float]:
    """The share of faces in each class of ``EMOTIONS``."""
    counts = np.bincount(indices, minlength=len(EMOTIONS))
    return {e: round(float(c / max(len(indices), 1)), 4) for e, c in zip(EMOTIONS, counts)}


def reading_at(model: EmotionModel, test: FaceSet, height: int) -> dict[str, Any]:
    """What ``model`` reads of the public test faces shrunk to ``height`` px."""
    small = shrunk(test.images, height)
    probabilities = classify_crops(model, lambda m: enlarged(small, m.input_size), flip=True)
    predicted = probabilities.argmax(axis=1)
    metrics = classification_metrics(
        [EMOTIONS[i] for i in test.labels], [EMOTIONS[i] for i in predicted]
    )
    return {
        "height": height,
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "neutral_as_negative": round(neutral_read_as_negative(predicted, test.labels), 4),
        "ece": round(expected_calibration_error(probabilities, test.labels, ECE_BINS), 4),
        "predicted_shares": class_shares(predicted),
    }


def measure(name: str, test: FaceSet, heights: list[int], default: str) -> dict[str, Any]:
    try:
        model = load_emotion_model(name)
    except EmotionModelUnavailable as exc:
        return {"model": name, "default": name == default, "unavailable": str(exc)}
    started = time.perf_counter()
    rows = [reading_at(model, test, h) for h in heights]
    return {
        "model": name, "default": name == default, "description": model.description,
        "seconds": round(time.perf_counter() - started, 1), "by_height": rows,
    }


def default_model() -> str:
    """The model ``auto`` reads with on this machine: DeepFace's where it loads, else ours."""
    try:
        load_emotion_model("deepface")
    except EmotionModelUnavailable:
        return OFFLINE_DEFAULT_EMOTION_MODEL
    return "deepface"


def table(result: dict[str, Any], true_shares: dict[str, float]) -> str:
    """One model's readings as a Markdown table, one column per face height."""
    rows = result["by_height"]
    lines = [
        "| face height | " + " | ".join(f"{r['height']} px" for r in rows) + " |",
        "|---" * (len(rows) + 1) + "|",
        "| accuracy | " + " | ".join(f"{r['accuracy']:.3f}" for r in rows) + " |",
        "| macro-F1 | " + " | ".join(f"{r['macro_f1']:.3f}" for r in rows) + " |",
        "| neutral faces read as negative | "
        + " | ".join(f"{r['neutral_as_negative']:.0%}" for r in rows) + " |",
        f"| ECE ({ECE_BINS} bins) | " + " | ".join(f"{r['ece']:.3f}" for r in rows) + " |",
    ]
    for emotion in EMOTIONS:
        shares = " | ".join(f"{r['predicted_shares'][emotion]:.0%}" for r in rows)
        lines.append(f"| read as {emotion} (truly {true_shares[emotion]:.0%}) | {shares} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the fer2013 folder")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--heights", nargs="+", type=int, default=list(HEIGHTS),
                    help="face heights in pixels (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if min(args.heights) < 1 or max(args.heights) > 48:
        ap.error("face heights must be 1 to 48 px (the public test faces are 48 px)")
    configure_environment()
    test = load_public_test(args.data)
    if test is None:
        print(f"error: no public_test/labels.csv under {args.data}", file=sys.stderr)
        return 2
    default = default_model()
    results = [measure(name, test, args.heights, default) for name in args.models]
    true_shares = class_shares(test.labels)
    if args.json:
        print(json.dumps({"set": "fer2013 public test", "faces": len(test), "default": default,
                          "true_shares": true_shares, "results": results}))
        return 0
    print(f"FER2013 public test, {len(test)} faces; the default (auto) is {default}")
    for r in results:
        marked = f"{r['model']} (the default)" if r["default"] else r["model"]
        if "unavailable" in r:
            print(f"\n{marked}: unavailable ({r['unavailable']})")
        else:
            print(f"\n{marked}: {r['description']}, {r['seconds']} s\n\n{table(r, true_shares)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
