"""Detection on real photos: recall by face size and occlusion, and detections that match no face.

What it does
------------
Reads a folder laid out like ``../shared/data/faces/wider_dev``: ``images/`` and ``gt.csv``, one
row per boxed face with at least image (path under images/), x, y, w, h (pixels, top-left corner
and size) and invalid, and WIDER FACE's flags (occlusion 0 none, 1 partial, 2 heavy; blur,
expression, illumination, pose). Every photo goes to the detector one at a time through
``FaceDetector.detect``, the interface the pipeline uses, built by ``load_detector`` as the app
builds it. Detections are matched to the boxes of their photo one to one, greedy, best IoU first
(``benchmarks/detection.py``'s ``match_frame``), at IoU >= ``--min-iou`` (0.5, WIDER's own rule).

The numbers
-----------
* ``recall_by_height``: the share of boxed faces found, by box height: under 20, 20-40, 40-80 and
  80 px and more; ``recall_min_height``: over all faces of at least ``MIN_HEIGHT`` (20) px.
* ``recall_by_occlusion``: the same over faces of 20 px and more, by WIDER's occlusion flag.
* ``unmatched_share``: detections that match no box, over all detections. WIDER leaves many
  faces under about 10 px unboxed, so such a detection is not always a false one.
* Faces marked invalid count neither as found nor as missed; a detection matching one is
  not counted as unmatched either.
* ``seconds_per_photo``: the mean time of ``detect`` on one photo (the photo read beforehand).

Tuning and confirming
---------------------
``--part tune`` or ``--part confirm`` takes one half of the photos: within each event the photos,
in path order, are shuffled with a fixed seed (``SPLIT_SEED``) and the first half is the tuning
part. Settings are swept on the tuning part (``--set NAME=VALUE`` overrides one of the
detector's settings) and the chosen ones confirmed on the other part; ``--part all`` (default)
reports all photos.

Usage::

    .venv/bin/python benchmarks/detection_real.py [--data DIR] [--detector yunet|mtcnn]
        [--set NAME=VALUE ...] [--part all|tune|confirm] [--min-iou 0.5] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.detection import match_frame
from emotion_core.faces.choice import DEFAULT_DETECTOR, DETECTORS, detector_settings

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "faces" / "wider_dev"
HEIGHT_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<20", 0.0, 20.0), ("20-40", 20.0, 40.0), ("40-80", 40.0, 80.0), (">=80", 80.0, float("inf")),
)
OCCLUSION = {0: "none", 1: "partial", 2: "heavy"}
MIN_HEIGHT = 20.0
DEFAULT_MIN_IOU = 0.5
SPLIT_SEED = 19
PARTS = ("all", "tune", "confirm")


@dataclass(frozen=True)
class PhotoTruth:
    """The boxed faces of one photo."""

    image: str  # path under images/
    event: str
    boxes: np.ndarray  # (G, 4) x1, y1, x2, y2
    invalid: np.ndarray  # (G,) bool: counted neither as found nor as missed
    occlusion: np.ndarray  # (G,) int, WIDER's flag


@dataclass
class Tally:
    """Faces found and boxed, by bucket, and detections with and without a face."""

    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    boxed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    detections: int = 0
    unmatched: int = 0

    def add(self, key: str, found: np.ndarray, counted: np.ndarray) -> None:
        self.found[key] += int((found & counted).sum())
        self.boxed[key] += int(counted.sum())

    def recall(self, key: str) -> float | None:
        return round(self.found[key] / self.boxed[key], 4) if self.boxed[key] else None


def read_truth(folder: Path) -> list[PhotoTruth]:
    """The photos of ``folder/gt.csv`` in path order, with their boxes."""
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (folder / "gt.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            rows[row["image"]].append(row)
    photos = []
    for image in sorted(rows):
        faces = rows[image]
        xywh = np.array([[float(r[k]) for k in ("x", "y", "w", "h")] for r in faces], np.float32)
        photos.append(PhotoTruth(
            image=image,
            event=faces[0].get("event") or image.split("/")[0],
            boxes=np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1),
            invalid=np.array([r.get("invalid", "0") == "1" for r in faces]),
            occlusion=np.array([int(r.get("occlusion") or 0) for r in faces]),
        ))
    return photos


def split(photos: list[PhotoTruth], part: str, seed: int = SPLIT_SEED) -> list[PhotoTruth]:
    """``part`` of ``photos``: all, or the tuning or confirming half of each event's photos."""
    if part == "all":
        return photos
    rng = np.random.default_rng(seed)
    tune: set[str] = set()
    for event in sorted({p.event for p in photos}):
        names = sorted(p.image for p in photos if p.event == event)
        tune |= {names[i] for i in rng.permutation(len(names))[: len(names) // 2]}
    return [p for p in photos if (p.image in tune) == (part == "tune")]


def tally_photo(tally: Tally, truth: PhotoTruth, detections: np.ndarray, min_iou: float) -> None:
    """Add one photo's matches of ``detections`` (D, 4) to ``tally``."""
    match = match_frame(truth.boxes, detections, min_iou)
    found = match.truth_matched >= 0
    valid = ~truth.invalid
    height = truth.boxes[:, 3] - truth.boxes[:, 1]
    for name, low, high in HEIGHT_BUCKETS:
        tally.add(name, found, valid & (height >= low) & (height < high))
    large = valid & (height >= MIN_HEIGHT)
    tally.add("min_height", found, large)
    for flag, name in OCCLUSION.items():
        tally.add("occlusion_" + name, found, large & (truth.occlusion == flag))
    tally.detections += len(detections)
    # a detection of a face too small to count, or of one marked invalid, is matched all the same
    tally.unmatched += int((match.detection_matched < 0).sum())


def summary(tally: Tally) -> dict[str, Any]:
    """The numbers of the docstring, from a tally."""
    return {
        "recall_by_height": {name: tally.recall(name) for name, _, _ in HEIGHT_BUCKETS},
        "faces_by_height": {name: tally.boxed[name] for name, _, _ in HEIGHT_BUCKETS},
        "recall_min_height": tally.recall("min_height"),
        "faces_min_height": tally.boxed["min_height"],
        "recall_by_occlusion": {n: tally.recall("occlusion_" + n) for n in OCCLUSION.values()},
        "faces_by_occlusion": {n: tally.boxed["occlusion_" + n] for n in OCCLUSION.values()},
        "detections": tally.detections,
        "unmatched": tally.unmatched,
        "unmatched_share": round(tally.unmatched / tally.detections, 4) if tally.detections else None,
    }


def run(data: Path, settings: Any, part: str, min_iou: float) -> dict[str, Any]:
    """Detect every photo of ``part`` with the detector ``settings`` describe; the numbers."""
    from emotion_core.analysis.models import configure_environment, load_detector
    from emotion_core.core.types import Frame
    from emotion_core.evaluation.photos import load_rgb

    configure_environment()
    detector = load_detector(settings)
    photos = split(read_truth(data), part)
    tally, seconds = Tally(), 0.0
    for index, truth in enumerate(photos):
        image = load_rgb(data / "images" / truth.image)
        if image is None:
            raise SystemExit(f"error: cannot read {data / 'images' / truth.image}")
        if index == 0:  # untimed: the first call builds what the detector builds lazily
            detector.detect([Frame(0, 0.0, image)])
        started = time.perf_counter()
        [faces] = detector.detect([Frame(index, 0.0, image)])
        seconds += time.perf_counter() - started
        tally_photo(tally, truth, faces.boxes, min_iou)
    return {
        "data": data.name, "part": part, "photos": len(photos), "min_iou": min_iou,
        "detector": detector.name, "settings": asdict(settings),
        **summary(tally),
        "seconds_per_photo": round(seconds / max(1, len(photos)), 4),
    }


def with_overrides(settings: Any, assignments: list[str]) -> Any:
    """``settings`` with each ``NAME=VALUE`` of ``assignments`` set (typed as the field)."""
    kinds = {f.name: type(getattr(settings, f.name)) for f in fields(settings)}
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if name not in kinds:
            raise SystemExit(f"error: {type(settings).__name__} has no setting {name!r}; "
                             f"it has {', '.join(kinds)}")
        kind = kinds[name]
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return replace(settings, **changes)


def describe(report: dict[str, Any]) -> str:
    by_height = ", ".join(f"{k} px {v}" for k, v in report["recall_by_height"].items())
    by_occlusion = ", ".join(f"{k} {v}" for k, v in report["recall_by_occlusion"].items())
    return (f"{report['detector']} on {report['photos']} photos ({report['part']}): recall "
            f">= {MIN_HEIGHT:g} px {report['recall_min_height']} ({by_height}); by occlusion "
            f"{by_occlusion}; {report['unmatched_share']} of {report['detections']} detections "
            f"match no box; {report['seconds_per_photo']} s per photo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with images/ and gt.csv (default: ../shared's wider_dev)")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR,
                        help=f"one of {', '.join(DETECTORS)} (default {DEFAULT_DETECTOR})")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one of the detector's settings (repeatable)")
    parser.add_argument("--part", choices=PARTS, default="all",
                        help="all photos, or the tuning or confirming half (see the docstring)")
    parser.add_argument("--min-iou", type=float, default=DEFAULT_MIN_IOU)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not (args.data / "gt.csv").is_file():
        parser.error(f"no gt.csv in {args.data}")
    try:
        settings = with_overrides(detector_settings(args.detector), args.set)
    except ValueError as exc:
        parser.error(str(exc))
    report = run(args.data, settings, args.part, args.min_iou)
    print(json.dumps(report, indent=2) if args.json else describe(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
