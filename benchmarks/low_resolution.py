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

The same through the app's own path: for each height a classroom is composed
(``compose_classroom.py``, JAFFE's 10 people, every face's truth box that high, H.264 as a
camera would send it) and analysed by ``analyse_video`` (detection, crop, alignment, the
stored probabilities; identification off, as it changes no reading). Stored faces are matched
to the truth as ``detection.py`` matches them; the table adds how many faces were found. The
rooms are kept in ``benchmarks/out/low_resolution`` and reused (JAFFE: do not publish them).
JAFFE has 213 photos, each shown for a 2-5 s segment, so a room's readings are not independent.

And in-the-wild faces the training never saw: the held-out fifth of ``expw_dev``'s source photos
(``training.photo_faces``: the split the training uses), each photo's face found and read by
the app's evaluation path (``evaluation.runner.read_photos``), at the photos' own size.

Usage::

    .venv/bin/python benchmarks/low_resolution.py [--sets fer2013 classroom] \
        [--models fer classroom ...] [--heights 48 24 ...] [--duration 60] [--json]
    (--sets takes fer2013, classroom and expw; all three by default)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.compose_classroom import DEFAULT_FACES, compose_classroom, load_face_photos
from benchmarks.detection import BOX, DEFAULT_MIN_IOU, load_truth, match_frame, sampled_frames
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
from emotion_core.training.photo_faces import split_photos

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
DEFAULT_PHOTOS = DEFAULT_DATA.parent / "faces" / "expw_dev" / "labels.csv"
# the composed rooms hold JAFFE faces (not to be published): kept in the git-ignored out/
ROOMS = Path(__file__).resolve().parent / "out" / "low_resolution"
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


def neutral_read_as_negative(predicted: np.ndarray, true: np.ndarray) -> float | None:
    """The share of truly neutral faces whose top class is a negative emotion; None without
    a neutral face."""
    neutral = true == NEUTRAL
    return float(np.isin(predicted[neutral], NEGATIVE).mean()) if neutral.any() else None


def class_shares(indices: np.ndarray) -> dict[str, float]:
    """The share of faces in each class of ``EMOTIONS``."""
    counts = np.bincount(indices, minlength=len(EMOTIONS))
    return {e: round(float(c / max(len(indices), 1)), 4) for e, c in zip(EMOTIONS, counts)}


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def scores(probabilities: np.ndarray, true: np.ndarray) -> dict[str, Any]:
    """How well readings (N, 7) match the true classes (N,) as indices into ``EMOTIONS``."""
    predicted = probabilities.argmax(axis=1)
    metrics = classification_metrics([EMOTIONS[i] for i in true], [EMOTIONS[i] for i in predicted])
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "neutral_as_negative": _rounded(neutral_read_as_negative(predicted, true)),
        "ece": round(expected_calibration_error(probabilities, true, ECE_BINS), 4),
        "predicted_shares": class_shares(predicted),
    }


def reading_at(model: EmotionModel, test: FaceSet, height: int) -> dict[str, Any]:
    """What ``model`` reads of the public test faces shrunk to ``height`` px."""
    small = shrunk(test.images, height)
    probabilities = classify_crops(model, lambda m: enlarged(small, m.input_size), flip=True)
    return {"height": height, **scores(probabilities, test.labels)}


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


def composed_rooms(heights: list[int], duration_s: float, folder: Path = ROOMS) -> dict[int, Path]:
    """One composed classroom per face height, every face's truth box that high (composed
    once, then reused)."""
    photos = [p for ps in load_face_photos(DEFAULT_FACES).values() for p in ps]
    # the seats are planned by the truth box's width; JAFFE's boxes are taller than wide
    height_per_width = float(np.median([(p.box[3] - p.box[1]) / p.box_width for p in photos]))
    rooms = {}
    for height in heights:
        video = folder / f"faces_{height}px_{duration_s:g}s.mp4"
        if not video.is_file():
            compose_classroom(video, duration_s=duration_s, face_width=height / height_per_width)
        rooms[height] = video
    return rooms


def matched_readings(
    truth: pd.DataFrame, observations: pd.DataFrame, frames: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The stored readings (M, 7), true classes (M,) and box heights (M,) of the truth faces
    of the sampled ``frames`` that the analysis found (matched on IoU as benchmarks/detection.py
    does), and how many truth faces those frames hold."""
    truth_by_frame = {int(k): g for k, g in truth.groupby("frame_index")}
    found_by_frame = {int(k): g for k, g in observations.groupby("frame_index")}
    readings, true, heights, faces = [], [], [], 0
    for frame in frames:
        gt = truth_by_frame.get(frame, truth.iloc[:0])
        found = found_by_frame.get(frame, observations.iloc[:0])
        match = match_frame(gt[BOX].to_numpy(), found[BOX].to_numpy(), DEFAULT_MIN_IOU)
        faces += len(gt)
        for t, d in enumerate(match.truth_matched.tolist()):
            if d >= 0:
                row = found.iloc[d]
                readings.append(row[list(EMOTIONS)].to_numpy(np.float64))
                true.append(EMOTIONS.index(gt["emotion"].iloc[t]))
                heights.append(float(row["y2"] - row["y1"]))
    return (np.reshape(readings, (-1, len(EMOTIONS))), np.asarray(true, np.int64),
            np.asarray(heights), faces)


def room_reading(video: Path, height: int, store: Any, model: EmotionModel) -> dict[str, Any]:
    """What ``analyse_video`` reads of the faces in the composed room ``video``."""
    from emotion_core.analysis.models import load_detector
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.faces.readability import ReadabilitySettings

    # who is who changes no reading: identification is left off; every face is read, however
    # small, to measure the model at each height (the app would not read the smallest)
    settings = AnalysisSettings(identify=False, emotion_model=model.name,
                                readability=ReadabilitySettings.every_face())
    result = analyse_video(video, store, load_detector(settings.detector), model, settings)
    truth = load_truth(video)
    readings, true, found_heights, faces = matched_readings(
        truth, store.observations(result.video_id), sampled_frames(video, settings.sample_fps)
    )
    row: dict[str, Any] = {
        "height": height,
        "truth_height_px": round(float((truth["y2"] - truth["y1"]).median()), 1),
        "faces": faces, "found": round(len(true) / max(faces, 1), 4),
    }
    if len(true):
        row["found_box_height_px"] = round(float(np.median(found_heights)), 1)
        row.update(scores(readings, true))
        row["true_shares"] = class_shares(true)
    return row


def measure_rooms(name: str, rooms: dict[int, Path], default: str) -> dict[str, Any]:
    from emotion_core.store.store import Store

    try:
        model = load_emotion_model(name)
    except EmotionModelUnavailable as exc:
        return {"model": name, "default": name == default, "unavailable": str(exc)}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="low-resolution-") as tmp, \
            Store(Path(tmp) / "rooms.duckdb") as store:
        rows = [room_reading(video, height, store, model) for height, video in rooms.items()]
    return {
        "model": name, "default": name == default, "description": model.description,
        "seconds": round(time.perf_counter() - started, 1), "by_height": rows,
    }


def measure_photos(name: str, photos: list[Any], default: str) -> dict[str, Any]:
    """``name``'s readings of labelled photos through the app's evaluation path."""
    from emotion_core.analysis.models import load_detector
    from emotion_core.evaluation.runner import read_photos

    try:
        model = load_emotion_model(name)
    except EmotionModelUnavailable as exc:
        return {"model": name, "default": name == default, "unavailable": str(exc)}
    started = time.perf_counter()
    read = [r for r in read_photos(model, load_detector(), photos) if r.probabilities is not None]
    true = np.array([EMOTIONS.index(r.photo.emotion) for r in read])
    row = {"height": "own size", "photos": len(photos), "photos_read": len(read),
           **scores(np.stack([r.probabilities for r in read]), true),
           "true_shares": class_shares(true)}
    return {
        "model": name, "default": name == default, "description": model.description,
        "seconds": round(time.perf_counter() - started, 1), "by_height": [row],
    }


def default_model() -> str:
    """The model ``auto`` reads with on this machine: DeepFace's where it loads, else ours."""
    try:
        load_emotion_model("deepface")
    except EmotionModelUnavailable:
        return OFFLINE_DEFAULT_EMOTION_MODEL
    return "deepface"


def _cells(rows: list[dict[str, Any]], cell: Any) -> str:
    return " | ".join(cell(r) if "accuracy" in r else "–" for r in rows)


def table(rows: list[dict[str, Any]], true_shares: dict[str, float] | None = None) -> str:
    """One model's readings as a Markdown table, one column per face height. Without
    ``true_shares`` (the same for every column) each class's cell gives read / true share."""
    lines = [
        "| face height | " + " | ".join(
            f"{r['height']} px" if isinstance(r["height"], int) else r["height"] for r in rows
        ) + " |",
        "|---" * (len(rows) + 1) + "|",
    ]
    if "faces" in rows[0]:  # a composed room: what the analysis found first
        lines += [
            "| truth box height (median) | "
            + " | ".join(f"{r['truth_height_px']:g} px" for r in rows) + " |",
            "| faces found | " + " | ".join(f"{r['found']:.0%} of {r['faces']}" for r in rows) + " |",
            "| found box height | "
            + _cells(rows, lambda r: f"{r['found_box_height_px']:g} px") + " |",
        ]
    lines += [
        "| accuracy | " + _cells(rows, lambda r: f"{r['accuracy']:.3f}") + " |",
        "| macro-F1 | " + _cells(rows, lambda r: f"{r['macro_f1']:.3f}") + " |",
        "| neutral faces read as negative | "
        + _cells(rows, lambda r: "no neutral face" if r["neutral_as_negative"] is None
                 else f"{r['neutral_as_negative']:.0%}") + " |",
        f"| ECE ({ECE_BINS} bins) | " + _cells(rows, lambda r: f"{r['ece']:.3f}") + " |",
    ]
    for e in EMOTIONS:
        if true_shares is not None:
            shares = _cells(rows, lambda r, e=e: f"{r['predicted_shares'][e]:.0%}")
            lines.append(f"| read as {e} (truly {true_shares[e]:.0%}) | {shares} |")
        else:
            shares = _cells(rows, lambda r, e=e: f"{r['predicted_shares'][e]:.0%} / {r['true_shares'][e]:.0%}")
            lines.append(f"| read as {e} / truly | {shares} |")
    return "\n".join(lines)


def printed(title: str, results: list[dict[str, Any]], true_shares: dict[str, float] | None) -> None:
    print(f"\n## {title}")
    for r in results:
        marked = f"{r['model']} (the default)" if r["default"] else r["model"]
        if "unavailable" in r:
            print(f"\n{marked}: unavailable ({r['unavailable']})")
        else:
            print(f"\n{marked}: {r['description']}, {r['seconds']} s\n")
            print(table(r["by_height"], true_shares))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the fer2013 folder")
    ap.add_argument("--sets", nargs="+", choices=("fer2013", "classroom", "expw"),
                    default=["fer2013", "classroom", "expw"],
                    help="the public test faces shrunk, composed rooms read by the app, and/or "
                    "the held-out ExpW photos read by the app")
    ap.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS,
                    help="the expw_dev labels.csv (path,emotion,source_image)")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--heights", nargs="+", type=int, default=list(HEIGHTS),
                    help="face heights in pixels (default: %(default)s)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of each composed room")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if min(args.heights) < 1 or max(args.heights) > 48:
        ap.error("face heights must be 1 to 48 px (the public test faces are 48 px)")
    configure_environment()
    report: dict[str, Any] = {"default": default_model(), "heights": args.heights}
    if "fer2013" in args.sets:
        test = load_public_test(args.data)
        if test is None:
            print(f"error: no public_test/labels.csv under {args.data}", file=sys.stderr)
            return 2
        report["fer2013"] = {
            "faces": len(test), "true_shares": class_shares(test.labels),
            "results": [measure(n, test, args.heights, report["default"]) for n in args.models],
        }
    if "classroom" in args.sets:
        rooms = composed_rooms(args.heights, args.duration)
        report["classroom"] = {
            "duration_s": args.duration,
            "results": [measure_rooms(n, rooms, report["default"]) for n in args.models],
        }
    if "expw" in args.sets:
        _, held_out = split_photos(args.photos)
        report["expw"] = {
            "photos": len(held_out),
            "results": [measure_photos(n, held_out, report["default"]) for n in args.models],
        }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"The default (auto) is {report['default']}.")
    if "fer2013" in report:
        fer = report["fer2013"]
        printed(f"FER2013 public test, {fer['faces']} faces shrunk and enlarged back",
                fer["results"], fer["true_shares"])
    if "classroom" in report:
        printed(f"Composed classrooms read by analyse_video ({args.duration:g} s each)",
                report["classroom"]["results"], None)
    if "expw" in report:
        printed(f"Held-out ExpW photos ({report['expw']['photos']}) read by the app",
                report["expw"]["results"], None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
