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
        [--models fer ...] [--variants baseline align ...] [--every K] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.models import configure_environment

configure_environment()

from emotion_core.crops import FacePreprocessing
from emotion_core.evaluation import PhotoReading, read_photos, report_of
from emotion_core.labelled_photos import read_labels
from emotion_core.models import load_detector, load_emotion_model
from emotion_core.types import Faces, Frame

FACES = PROJECT_ROOT.parent / "shared" / "data" / "faces"
CACHE = PROJECT_ROOT / "benchmarks" / "out" / "detections.pkl"

P = FacePreprocessing
# name -> (preprocessing, keyword arguments of read_photos); nothing here is fitted to the photos
VARIANTS: dict[str, tuple[FacePreprocessing, dict[str, bool]]] = {
    "baseline": (P(), {"second_look": False, "whole_tight_crops": False}),
    "align": (P(align=True), {"second_look": False, "whole_tight_crops": False}),
    "flip": (P(flip=True), {"second_look": False, "whole_tight_crops": False}),
    "equalise": (P(normalise="equalise"), {"second_look": False, "whole_tight_crops": False}),
    "clahe": (P(normalise="clahe"), {"second_look": False, "whole_tight_crops": False}),
    **{
        f"margin{m}": (P(margin=m), {"second_look": False, "whole_tight_crops": False})
        for m in (0.0, 0.05, 0.1, 0.2, 0.3)
    },
    "m0.05+flip": (P(margin=0.05, flip=True), {"second_look": False, "whole_tight_crops": False}),
    "m0.05+align": (P(margin=0.05, align=True), {"second_look": False, "whole_tight_crops": False}),
    "m0.05+align+flip": (
        P(margin=0.05, align=True, flip=True), {"second_look": False, "whole_tight_crops": False}
    ),
    "m0.05+align+flip+second_look": (
        P(margin=0.05, align=True, flip=True), {"second_look": True, "whole_tight_crops": False}
    ),
    "m0.05+align+flip+second_look+whole": (
        P(margin=0.05, align=True, flip=True), {"second_look": True, "whole_tight_crops": True}
    ),
    "m0.05+flip+second_look+whole": (
        P(margin=0.05, flip=True), {"second_look": True, "whole_tight_crops": True}
    ),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=["jaffe", "lfw_emotion_dev"])
    parser.add_argument("--models", nargs="+", default=["fer"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--every", type=int, default=1, help="take every k-th photo only")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--legacy-crops", action="store_true",
                        help="cut crops as before this benchmark existed (one bilinear warp, "
                             "no area averaging): the 'before' row of BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.legacy_crops:
        import cv2

        from emotion_core import crops

        crops._warp_face = lambda grey, square, angle, size: crops._warp_square(  # type: ignore[attr-defined]
            grey, square, size, cv2.BORDER_REPLICATE
        )

    detector = CachedDetector(load_detector(), CACHE)
    models = [load_emotion_model(name) for name in args.models]
    rows = []
    for set_name in args.sets:
        labels = FACES / set_name / "labels.csv"
        photos = read_labels(labels)[:: args.every]
        for variant in args.variants:
            preprocessing, options = VARIANTS[variant]
            started = time.perf_counter()
            per_model = []
            for model in models:
                readings = read_photos(model, detector, photos, preprocessing, **options)
                detector.save()
                per_model.append((model.name, readings))
            if len(models) > 1:
                per_model.append(("+".join(m.name for m in models), averaged([r for _, r in per_model])))
            for name, readings in per_model:
                report = report_of(name, readings, preprocessing.describe())
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
