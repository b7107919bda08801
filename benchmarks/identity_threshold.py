"""Calibrating the same-person distance of a face embedding model on JAFFE.

The pipeline compares tracks, not single photos: a track's embedding is the mean of its best
chips (``AnalysisSettings.embeddings_per_track``, 3), and a student's reference is the mean of
their tracks. So this script measures cosine distances between such means:

1. Every JAFFE photo (10 women, about 21 photos each, 7 posed expressions) is detected with the
   pipeline's MTCNN, shrunk so the face is ``W`` px wide for each ``W`` in ``--widths`` (what a
   student at the back of a classroom looks like), aligned and embedded by the model.
2. "Tracks": for each woman and width, ``--tracks`` random sets of ``--per-track`` photos; the
   track's embedding is the unit mean of theirs, as in ``identity.TrackSampler``.
3. Distances between tracks of the same woman and of different women, within one width and
   across widths (a student who changes seats changes size), and for single photos.

Printed per comparison: the median same-person distance, its 99th percentile, the smallest
and 1st percentile different-person distance, the equal-error rate and its distance, and for a
few candidate thresholds the share of same-person pairs split (``miss``) and of different-person
pairs joined (``false_join``).

Usage::

    .venv/bin/python benchmarks/identity_threshold.py [--model Dlib] [--json]
        [--widths 20 32 48 80 0] [--tracks 20] [--per-track 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

JAFFE = PROJECT_ROOT.parent / "shared" / "data" / "faces" / "jaffe"
CANDIDATES = (0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.07)


def load_jaffe(folder: Path) -> tuple[list[np.ndarray], list[str]]:
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    images, subjects = [], []
    for row in rows:
        grey = cv2.imread(str(folder / row["path"]), cv2.IMREAD_GRAYSCALE)
        images.append(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB))
        subjects.append(row["subject"])
    return images, subjects


def embed_at_width(embedder: Any, images: list[np.ndarray], faces: list[Any], width: float
                   ) -> np.ndarray:
    """One embedding per photo with its face shrunk to ``width`` px (0: as photographed)."""
    from dataclasses import replace

    chips = []
    for image, found in zip(images, faces):
        face = found.select([int(np.argmax(found.scores))])
        scale = 1.0 if not width else min(1.0, width / float(face.widths[0]))
        if scale < 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            face = replace(face, boxes=face.boxes * scale, landmarks=face.landmarks * scale)
        chips.append(embedder.chips(image, face)[0])
    return embedder.embed(np.stack(chips))


def track_means(vectors: np.ndarray, subjects: np.ndarray, tracks: int, per_track: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from emotion_core.identity.embedders import unit_rows

    means, owners = [], []
    for subject in np.unique(subjects):
        own = np.flatnonzero(subjects == subject)
        for _ in range(tracks):
            pick = rng.choice(own, size=per_track, replace=False)
            means.append(vectors[pick].mean(axis=0))
            owners.append(subject)
    return unit_rows(np.stack(means)), np.array(owners)


def rates(same: np.ndarray, different: np.ndarray) -> dict[str, Any]:
    grid = np.linspace(0.0, 0.2, 2001)
    miss = np.array([(same >= t).mean() for t in grid])
    false_join = np.array([(different < t).mean() for t in grid])
    k = int(np.argmin(np.abs(miss - false_join)))
    return {
        "same_median": round(float(np.median(same)), 4),
        "same_p99": round(float(np.percentile(same, 99)), 4),
        "different_min": round(float(different.min()), 4),
        "different_p1": round(float(np.percentile(different, 1)), 4),
        "eer": round(float((miss[k] + false_join[k]) / 2), 4),
        "eer_distance": round(float(grid[k]), 4),
        "at": {
            f"{t:g}": {"miss": round(float((same >= t).mean()), 4),
                       "false_join": round(float((different < t).mean()), 5)}
            for t in CANDIDATES
        },
    }


def pairs(a: np.ndarray, owners_a: np.ndarray, b: np.ndarray, owners_b: np.ndarray,
          same_set: bool) -> tuple[np.ndarray, np.ndarray]:
    from emotion_core.identity.embedders import cosine_distances

    d = cosine_distances(a, b)
    same = owners_a[:, None] == owners_b[None, :]
    keep = np.triu(np.ones_like(same), 1) if same_set else np.ones_like(same)
    keep = keep.astype(bool)
    return d[keep & same], d[keep & ~same]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from emotion_core.analysis.models import configure_environment, load_detector, load_embedder

    configure_environment()
    from emotion_core.core.types import Frame

    images, subjects = load_jaffe(args.faces)
    detector = load_detector()
    embedder = load_embedder(args.model)
    faces = detector.detect([Frame(i, 0.0, im) for i, im in enumerate(images)])
    found = [i for i, f in enumerate(faces) if len(f)]
    images = [images[i] for i in found]
    faces = [faces[i] for i in found]
    owners = np.array([subjects[i] for i in found])
    rng = np.random.default_rng(args.seed)
    vectors = {w: embed_at_width(embedder, images, faces, w) for w in args.widths}
    tracks = {w: track_means(v, owners, args.tracks, args.per_track, rng) for w, v in vectors.items()}
    report: dict[str, Any] = {
        "model": embedder.name, "photos": len(owners), "people": len(set(owners)),
        "per_track": args.per_track, "tracks_per_person": args.tracks,
        "single_photos": {}, "tracks_same_width": {}, "tracks_across_widths": {},
    }
    for w in args.widths:
        name = f"{w:g}px" if w else "full"
        report["single_photos"][name] = rates(*pairs(vectors[w], owners, vectors[w], owners, True))
        t, o = tracks[w]
        report["tracks_same_width"][name] = rates(*pairs(t, o, t, o, True))
    same_all, different_all = [], []
    for i, w1 in enumerate(args.widths):
        for w2 in args.widths[i + 1:]:
            s, d = pairs(*tracks[w1], *tracks[w2], same_set=False)
            same_all.append(s)
            different_all.append(d)
            report["tracks_across_widths"][f"{w1:g}-{w2:g}"] = rates(s, d)
    if same_all:
        report["tracks_across_widths"]["all"] = rates(
            np.concatenate(same_all), np.concatenate(different_all)
        )
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=Path, default=JAFFE, help="JAFFE folder with labels.csv")
    ap.add_argument("--model", default="Dlib", help="embedding model (default Dlib)")
    ap.add_argument("--widths", type=float, nargs="+", default=[20, 32, 48, 80, 0],
                    help="face widths in px to shrink to; 0 keeps the photo (default 20 32 48 80 0)")
    ap.add_argument("--tracks", type=int, default=20, help="tracks per person and width (20)")
    ap.add_argument("--per-track", type=int, default=3, help="photos per track (3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.faces / "labels.csv").is_file():
        print(f"error: no JAFFE labels.csv in {args.faces}", file=sys.stderr)
        return 2
    report = run(args)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['model']}: {report['photos']} photos of {report['people']} people, "
          f"tracks of {report['per_track']} photos")
    for section in ("single_photos", "tracks_same_width", "tracks_across_widths"):
        for name, r in report[section].items():
            at = ", ".join(f"{t}: {v['miss']}/{v['false_join']}" for t, v in r["at"].items())
            print(f"{section:<20} {name:<8} same med {r['same_median']} p99 {r['same_p99']}  "
                  f"diff min {r['different_min']} p1 {r['different_p1']}  EER {r['eer']} at "
                  f"{r['eer_distance']}  miss/false_join {at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
