"""Emotion accuracy of preprocessing variants and ensembles on labelled photo sets.

What it does
------------
For every photo set (default: JAFFE and lfw_emotion_dev in ../shared/data/faces) it runs the
library's own ``evaluation.read_photos`` — the detector, ``emotion.classify_faces`` and the crop
code that video analysis uses — once per model and per preprocessing variant, and prints
accuracy and macro-F1 for each, and for the average of the models' readings (an ensemble, which
is what ``emotion.EmotionEnsemble`` computes).

Detection does not depend on the emotion model or the preprocessing, so the detector's answers
are kept in ``benchmarks/out/detections.pkl`` (keyed by the bytes of the prepared photo): the
first run pays for detection, later runs with other variants take seconds. Nothing is trained or
fitted on the photos; the variants are fixed in ``VARIANTS`` below.

Usage::

    .venv/bin/python benchmarks/emotion_accuracy.py [--sets jaffe lfw_emotion_dev]
        [--models fer ...] [--variants before m0.05 ...] [--every K] [--paired] [--json]

``--paired`` counts, for each row against the first model's first variant (by default fer with
"before", the crops as main cut them), the faces it newly gets right and newly gets wrong, with a
sign test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.analysis.models import configure_environment

configure_environment()

from emotion_core.analysis.models import load_detector, load_emotion_model
from emotion_core.core import crops
from emotion_core.core.crops import FacePreprocessing
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces, Frame
from emotion_core.emotion.model import DEFAULT_PREPROCESSING
from emotion_core.evaluation.photos import read_labels
from emotion_core.evaluation.runner import PhotoReading, read_photos, report_of

FACES = PROJECT_ROOT.parent / "shared" / "data" / "faces"
CACHE = PROJECT_ROOT / "benchmarks" / "out" / "detections.pkl"

P = FacePreprocessing
ONE_LOOK = {"second_look": False, "whole_tight_crops": False}
# name -> (preprocessing, keyword arguments of read_photos). Margins are given explicitly, so a
# row means the same whatever a model's own crop_margin is; "default" is what the library uses.
# Nothing here is fitted to the photos: each row is a fixed choice, measured on both sets.
VARIANTS: dict[str, tuple[FacePreprocessing, dict[str, bool]]] = {
    # as main cut crops before this work: one bilinear warp (see legacy_crops), margin 0.1
    "before": (P(margin=0.1), ONE_LOOK),
    "m0.1": (P(margin=0.1), ONE_LOOK),  # the same, with crops area-averaged when shrinking
    **{f"m{m}": (P(margin=m), ONE_LOOK) for m in (-0.1, -0.05, 0.0, 0.05, 0.15, 0.2, 0.3)},
    "m0.0+align": (P(margin=0.0, align=True), ONE_LOOK),
    "m0.05+equalise": (P(margin=0.05, normalise="equalise"), ONE_LOOK),
    "m0.05+clahe": (P(margin=0.05, normalise="clahe"), ONE_LOOK),
    "m0.05+align": (P(margin=0.05, align=True), ONE_LOOK),
    "m0.05+flip": (P(margin=0.05, flip=True), ONE_LOOK),
    "m0.05+align+flip": (P(margin=0.05, align=True, flip=True), ONE_LOOK),
    "own": (P(), ONE_LOOK),  # each model's own crop_margin
    "own+align": (P(align=True), ONE_LOOK),
    "own+flip": (P(flip=True), ONE_LOOK),
    "own+align+flip": (DEFAULT_PREPROCESSING, ONE_LOOK),
    "own+align+flip+second_look": (
        DEFAULT_PREPROCESSING, {"second_look": True, "whole_tight_crops": False}
    ),
    "default": (DEFAULT_PREPROCESSING, {}),  # second look and whole tight crops, as evaluate()
}


class CachedDetector:
    """A detector whose answers are remembered by the bytes of the image, across runs."""

    def __init__(self, inner, path: Path) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.path = inner, path
        self.name, self.description = inner.name, inner.description
        self.settings = getattr(inner, "settings", None)
        self.cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if path.is_file():
            self.cache = pickle.loads(path.read_bytes())
        self.dirty = False

    def detect(self, frames: Sequence[Frame]) -> list[Faces]:
        keys = [hashlib.sha1(f.image.tobytes()).hexdigest() + str(f.image.shape) for f in frames]
        missing = [i for i, k in enumerate(keys) if k not in self.cache]
        if missing:
            for i, faces in zip(missing, self.inner.detect([frames[i] for i in missing])):
                self.cache[keys[i]] = (faces.boxes, faces.scores, faces.landmarks)
            self.dirty = True
        return [
            Faces(f.index, f.time_s, *self.cache[k]) for f, k in zip(frames, keys)
        ]

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(pickle.dumps(self.cache))
            self.dirty = False


@contextmanager
def legacy_crops(active: bool) -> Iterator[None]:
    """Crops cut as before area averaging: the face square warped to the model's size in one
    bilinear step (what ``crops._warp_square`` still does for other callers)."""
    if not active:
        yield
        return
    new = crops._warp_face
    crops._warp_face = lambda grey, square, angle, size: crops._warp_square(
        grey, square, size, cv2.BORDER_REPLICATE
    )
    try:
        yield
    finally:
        crops._warp_face = new


def averaged(readings: Sequence[Sequence[PhotoReading]]) -> list[PhotoReading]:
    """The readings of several models on the same photos, probabilities averaged."""
    out = []
    for same_photo in zip(*readings):
        first = same_photo[0]
        if first.probabilities is None:
            out.append(first)
            continue
        mean = np.mean([r.probabilities for r in same_photo], axis=0)
        out.append(replace(first, probabilities=mean))
    return out


def sign_test(gained: int, lost: int) -> float:
    """Two-sided exact sign test: how likely so uneven a split of the changed photos is when
    the change makes no difference."""
    n, k = gained + lost, min(gained, lost)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=["jaffe", "lfw_emotion_dev"])
    parser.add_argument("--models", nargs="+", default=["fer"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--every", type=int, default=1, help="take every k-th photo only")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--paired", action="store_true",
                        help="also count, against the first model's first variant, the photos "
                             "each row gets newly right and newly wrong (both read a face)")
    args = parser.parse_args(argv)

    detector = CachedDetector(load_detector(), CACHE)
    models = [load_emotion_model(name) for name in args.models]
    rows = []
    correct: dict[tuple[str, str, str], dict[Path, bool]] = {}
    for set_name in args.sets:
        labels = FACES / set_name / "labels.csv"
        photos = read_labels(labels)[:: args.every]
        for variant in args.variants:
            preprocessing, options = VARIANTS[variant]
            started = time.perf_counter()
            per_model = []
            for model in models:
                with legacy_crops(variant == "before"):
                    readings = read_photos(model, detector, photos, preprocessing, **options)
                detector.save()
                per_model.append((model.name, readings))
            if len(models) > 1:
                per_model.append(("+".join(m.name for m in models), averaged([r for _, r in per_model])))
            for name, readings in per_model:
                report = report_of(name, readings, preprocessing.describe())
                correct[(set_name, variant, name)] = {
                    r.photo.path: r.predicted == r.photo.emotion
                    for r in readings if r.predicted is not None and r.photo.emotion in EMOTIONS
                }
                row = {
                    "set": set_name, "variant": variant, "model": name, "n": report.n,
                    "accuracy": round(report.accuracy, 4), "macro_f1": round(report.macro_f1, 4),
                    "no_face": report.no_face, "whole_photo": report.whole_photo,
                    "seconds": round(time.perf_counter() - started, 1),
                }
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{set_name:<16} {variant:<18} {name:<14} n={row['n']:<5} "
                          f"acc={row['accuracy']:.3f} macroF1={row['macro_f1']:.3f} "
                          f"no_face={row['no_face']} whole={row['whole_photo']}", flush=True)
    if args.paired:
        for (set_name, variant, name), now in correct.items():
            before = correct[(set_name, args.variants[0], models[0].name)]
            both = before.keys() & now.keys()
            gained = sum(now[p] and not before[p] for p in both)
            lost = sum(before[p] and not now[p] for p in both)
            print(f"paired {set_name:<16} {variant:<30} {name:<14} vs {models[0].name} "
                  f"{args.variants[0]}: "
                  f"newly right {gained}, newly wrong {lost} of {len(both)}, "
                  f"sign test p={sign_test(gained, lost):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
