"""How many faces the readability thresholds let be read: real lessons and frontal photos.

Lessons: each video is analysed by ``analyse_video`` into a temporary DuckDB with the default
settings (identification off: it changes no reading), and the stored observations give the
faces seen and read, why the others were not (``faces.readability.judged`` on the stored
measures: the first threshold each failed), how many each smallest face height would read,
the quantiles of face height, yaw, pitch and sharpness, and the top expressions of the faces
read.

Photos: every photo of a labelled set (JAFFE and ``lfw_emotion_dev``, frontal portraits) is
searched by the app's detector, and its largest face measured: the share readable, by label,
and why the others were not. A frontal set should be nearly all readable.

Usage::

    .venv/bin/python benchmarks/readable_faces.py [--videos A.mp4 B.mp4 ...] \
        [--photos ../shared/data/faces/jaffe ...] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core.analysis.models import configure_environment
from emotion_core.faces.readability import ReadabilitySettings, frontal_face, judged, readability

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEOS = [SHARED / "videos" / "classroom_children_cctv.mp4",
          SHARED / "videos" / "intel_classroom_preview.mp4"]
PHOTOS = [SHARED / "faces" / "jaffe", SHARED / "faces" / "lfw_emotion_dev"]
MEASURES = ("face_height_px", "yaw_deg", "pitch_deg", "sharpness")
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
HEIGHTS = (12, 14, 16, 18, 20, 24)


def quantiles(values: pd.Series) -> dict[str, float]:
    found = values.dropna()
    if found.empty:
        return {}
    return {f"q{round(q * 100)}": round(float(found.quantile(q)), 3) for q in QUANTILES}


def lesson_report(video: Path, settings: ReadabilitySettings) -> dict[str, Any]:
    """What the default analysis reads of ``video``."""
    from emotion_core.analysis.models import load_detector, load_emotion_model
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.store.store import Store

    chosen = AnalysisSettings(identify=False, readability=settings)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "readable.duckdb") as store:
        model = load_emotion_model(chosen.emotion_model)
        result = analyse_video(video, store, load_detector(chosen.detector), model, chosen)
        rows = store.observations(result.video_id)
    measured = [rows[c].to_numpy() for c in (
        "face_height_px", "detection_score", "yaw_deg", "pitch_deg", "sharpness")]
    _, reasons = judged(*measured, settings)
    read = rows[rows["readable"]]
    # how many each smallest height would read, the other thresholds as they are
    at_height = {px: int(judged(*measured, replace(settings, min_face_px=px))[0].sum())
                 for px in HEIGHTS}
    return {
        "video": video.name, "detector": result.detector,
        "emotion_model": result.emotion_model, "faces": len(rows),
        "readable": len(read), "not_read_because": dict(Counter(r for r in reasons if r)),
        "at_least_min_height": int((rows["face_height_px"] >= settings.min_face_px).sum()),
        "readable_if_smallest_px": at_height,
        **{m: quantiles(rows[m]) for m in MEASURES},
        "top_of_readable": read["top_emotion"].value_counts().to_dict(),
    }


def photo_report(folder: Path, settings: ReadabilitySettings) -> dict[str, Any]:
    """The largest face of every photo of ``folder`` (labels.csv: path, emotion), measured."""
    from emotion_core.analysis.models import load_detector
    from emotion_core.core.types import Frame

    detector = load_detector()
    with (folder / "labels.csv").open(newline="") as fh:
        labels = list(csv.DictReader(fh))
    rows = []
    for start in range(0, len(labels), 16):
        part = labels[start:start + 16]
        frames = [Frame(i, 0.0, np.asarray(Image.open(folder / r["path"]).convert("RGB")))
                  for i, r in enumerate(part)]
        for label, frame, faces in zip(part, frames, detector.detect(frames)):
            if not len(faces):
                continue
            face = faces.select([int(np.argmax(faces.widths))])
            measured = readability(frame.image, face, settings, frontal_face(detector.name))
            rows.append({"emotion": label["emotion"], "readable": bool(measured.readable[0]),
                         "reason": measured.reasons[0], "yaw_deg": float(measured.yaw_deg[0]),
                         "pitch_deg": float(measured.pitch_deg[0]),
                         "sharpness": float(measured.sharpness[0])})
    found = pd.DataFrame(rows)
    return {
        "set": folder.name, "detector": detector.description, "photos": len(labels),
        "faces_found": len(found),
        "readable": int(found["readable"].sum()),
        "not_read_because": found["reason"].dropna().value_counts().to_dict(),
        "readable_by_label": found.groupby("emotion")["readable"].mean().round(3).to_dict(),
        **{m: quantiles(found[m]) for m in ("yaw_deg", "pitch_deg", "sharpness")},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", nargs="*", type=Path, default=VIDEOS)
    ap.add_argument("--photos", nargs="*", type=Path, default=PHOTOS,
                    help="folders holding labels.csv (path, emotion)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    missing = [p for p in [*args.videos, *args.photos] if not p.exists()]
    if missing:
        print(f"error: not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    configure_environment()
    settings = ReadabilitySettings()
    report = {
        "settings": settings.as_json(),
        "lessons": [lesson_report(v, settings) for v in args.videos],
        "photos": [photo_report(p, settings) for p in args.photos],
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"thresholds: {settings.describe_unread()}")
    for lesson in report["lessons"]:
        print(f"\n{lesson['video']}: {lesson['readable']} of {lesson['faces']} faces readable;"
              f" not read: {lesson['not_read_because']} ({lesson['detector']})")
        for measure in MEASURES:
            print(f"  {measure:15s} {lesson[measure]}")
        print(f"  top expression of the faces read: {lesson['top_of_readable']}")
        print(f"  readable if the smallest face read were (px): "
              f"{lesson['readable_if_smallest_px']}")
    for photos in report["photos"]:
        print(f"\n{photos['set']}: {photos['readable']} of {photos['faces_found']} faces readable"
              f" ({photos['photos']} photos); not read: {photos['not_read_because']}"
              f" ({photos['detector']})")
        print(f"  readable by label: {photos['readable_by_label']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
