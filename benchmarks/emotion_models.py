"""Every emotion backend on the FER2013 public test set, as the FER2013 papers measure it.

The public test faces are already tight 48×48 crops, so no face is detected: each crop is
resized to the backend's input size and classified in batches of 256. Prints accuracy and
macro-F1 per backend, and the milliseconds per face of ``predict`` in batches of 32 (the size of
one analysis batch on a crowded frame). Backends whose weights are absent are listed as such.

JAFFE and the in-the-wild dev set are photos, not crops: measure those with the app's own path,
``python -m emotion_core evaluate …/labels.csv --model NAME`` (see BENCHMARKS.md).

Usage::

    .venv/bin/python benchmarks/emotion_models.py [--data ../shared/data/fer2013] [--json]
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

from emotion_core.analysis.models import EMOTION_BACKENDS, configure_environment, load_emotion_model
from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.model import EmotionModelUnavailable
from emotion_core.evaluation.metrics import classification_metrics
from emotion_core.training.fer2013 import load_public_test

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"


def resized(faces: np.ndarray, size: int) -> np.ndarray:
    if faces.shape[1] == size:
        return faces
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR) for f in faces])


def measure(name: str, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    try:
        model = load_emotion_model(name)
    except EmotionModelUnavailable as exc:
        return {"model": name, "unavailable": str(exc)}
    crops = resized(images, model.input_size)
    probabilities = np.concatenate(
        [model.predict(crops[i:i + 256]) for i in range(0, len(crops), 256)]
    )
    metrics = classification_metrics(
        [EMOTIONS[i] for i in labels], [EMOTIONS[i] for i in probabilities.argmax(axis=1)]
    )
    batch = crops[:32]
    model.predict(batch)
    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        model.predict(batch)
    ms_per_face = (time.perf_counter() - started) / rounds / len(batch) * 1000
    return {
        "model": name, "description": model.description, "n": len(labels),
        "accuracy": round(metrics["accuracy"], 4), "macro_f1": round(metrics["macro_f1"], 4),
        "ms_per_face_batch32": round(ms_per_face, 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the fer2013 folder")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    configure_environment()
    test = load_public_test(args.data)
    if test is None:
        print(f"error: no public_test/labels.csv under {args.data}", file=sys.stderr)
        return 2
    results = [measure(name, test.images, test.labels) for name in EMOTION_BACKENDS]
    if args.json:
        print(json.dumps({"set": "fer2013 public test", "results": results}))
    else:
        for r in results:
            if "unavailable" in r:
                print(f"{r['model']}: unavailable ({r['unavailable']})")
            else:
                print(f"{r['model']}: accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}, "
                      f"{r['ms_per_face_batch32']:.2f} ms/face (n={r['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
