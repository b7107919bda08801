"""Detection benchmark: recall and precision of the real pipeline on a composed classroom video.

What it does
------------
1. Composes a synthetic classroom (``compose_classroom``: JAFFE faces 20-120 px wide on a
   960x540 room, exact truth per frame) into a temporary folder, or takes ``--video PATH`` with
   its ``PATH.truth.csv`` beside it.
2. Runs the real pipeline on it: ``analyse_video`` into a temporary DuckDB, with
   ``load_detector(settings)`` and ``load_emotion_model(--emotion-model)``, sampling as
   ``AnalysisSettings()`` does unless told otherwise.
3. Matches the stored observations to the truth frame by frame: greedy on IoU, best pair first,
   one detection per face, pairs below ``--min-iou`` (0.4) never match.

The numbers
-----------
* ``recall`` / ``precision`` are over faces at least ``MIN_WIDTH`` (24) px wide. A detection that
  matches a smaller face is neither a true nor a false positive there; one that matches no face
  is a false positive whatever its size.
* ``recall_by_size``: recall per truth width bucket (20-24 ... 96-128 px); ``None`` where the video
  has no face of that size.
* ``emotion_accuracy``: the share of matched faces of at least 24 px whose stored
  ``top_emotion`` is the emotion the JAFFE photo was posed with.
* ``match_iou``: quantiles of the IoU of the matched pairs, and ``near_misses``: faces whose best
  detection overlaps them with 0.1 <= IoU < ``--min-iou`` (what a looser rule would add).

Why IoU >= 0.4 and not the usual 0.5: the truth boxes are YuNet's (brows to chin) and MTCNN's
boxes are squarer and reach higher up the forehead, so a correct detection never overlaps its
face perfectly, and on a 24 px face two pixels of offset cost a tenth of the IoU. 0.4 leaves room
for that while a detection on the neighbouring face or on a desk still cannot match: seats never
overlap. The benchmark prints the IoU of its matches so the choice can be checked on every run.

``--time-video`` (default: the CCTV clip in ../shared/data, when present) also times
``detector.detect`` on every sampled frame of a real video, whole frames in batches of
``--time-batch-frames`` (8), after one untimed pass that traces the networks. This is the cost of
a full search; the pipeline's ``detect_every`` > 1 does a full search on only some frames.

Usage::

    .venv/bin/python benchmarks/detection.py [--seed 0] [--duration 60] [--video PATH]
        [--detector yunet|mtcnn]
        [--min-face-size N] [--upscale X] [--min-score X] [--threshold-pnet X]
        [--threshold-rnet X] [--threshold-onet X] [--scale-factor X] [--emotion-model auto]
        [--fps X] [--detect-every K] [--min-iou 0.4] [--time-video PATH | --no-timing]
        [--time-repeat 3] [--time-batch-frames 8]
        [--compose-dir DIR] [--json]
    .venv/bin/python benchmarks/detection.py --detector mtcnn --compare min_face_size=16 ...
        (timing only: the flags' settings and each SPEC, interleaved, on --time-video)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.core.geometry import iou_matrix
from emotion_core.faces.choice import DEFAULT_DETECTOR
from emotion_core.faces.mtcnn import MTCNNSettings

SHARED_VIDEOS = PROJECT_ROOT.parent / "shared" / "data" / "videos"
DEFAULT_TIME_VIDEO = SHARED_VIDEOS / "classroom_children_cctv.mp4"
SIZE_BUCKETS: tuple[tuple[int, int], ...] = (
    (20, 24), (24, 32), (32, 48), (48, 64), (64, 96), (96, 128),
)
MIN_WIDTH = 24.0  # recall and precision count faces at least this wide
DEFAULT_MIN_IOU = 0.4
NEAR_MISS_IOU = 0.1
BOX = ["x1", "y1", "x2", "y2"]


@dataclass(frozen=True)
class FrameMatch:
    """The outcome of matching one frame's detections to its truth."""

    truth_width: np.ndarray  # (G,) truth box widths
    truth_matched: np.ndarray  # (G,) index of the matched detection, -1 where none
    truth_best_iou: np.ndarray  # (G,) best IoU of any detection with each truth box
    match_iou: np.ndarray  # (G,) IoU of the match, 0 where none
    detection_matched: np.ndarray  # (D,) index of the matched truth box, -1 where none


def match_frame(truth: np.ndarray, detections: np.ndarray, min_iou: float) -> FrameMatch:
    """Greedy one-to-one matching of ``detections`` (D, 4) to ``truth`` (G, 4), best IoU first.

    Seats never overlap, so a face's detection rarely competes with another face's: greedy gives
    the same pairs as an optimal assignment would, without needing scipy.
    """
    truth = np.asarray(truth, dtype=np.float32).reshape(-1, 4)
    detections = np.asarray(detections, dtype=np.float32).reshape(-1, 4)
    overlap = iou_matrix(truth, detections)
    truth_matched = np.full(len(truth), -1)
    detection_matched = np.full(len(detections), -1)
    match_iou = np.zeros(len(truth), dtype=np.float32)
    for flat in np.argsort(-overlap, axis=None, kind="stable"):
        t, d = divmod(int(flat), overlap.shape[1])
        if overlap[t, d] < min_iou:
            break
        if truth_matched[t] >= 0 or detection_matched[d] >= 0:
            continue
        truth_matched[t], detection_matched[d], match_iou[t] = d, t, overlap[t, d]
    return FrameMatch(
        truth_width=truth[:, 2] - truth[:, 0],
        truth_matched=truth_matched,
        truth_best_iou=overlap.max(axis=1, initial=0.0),
        match_iou=match_iou,
        detection_matched=detection_matched,
    )


def bucket_name(low: int, high: int) -> str:
    return f"{low}-{high}"


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def evaluate(
    truth: pd.DataFrame,
    observations: pd.DataFrame,
    frames: list[int],
    min_iou: float = DEFAULT_MIN_IOU,
    min_width: float = MIN_WIDTH,
) -> dict[str, Any]:
    """Recall, precision, recall by size and emotion accuracy over the sampled ``frames``.

    ``truth`` has the truth CSV's columns, ``observations`` the store's; both may hold frames
    that were not sampled, which are ignored.
    """
    truth_by_frame = {int(k): g for k, g in truth.groupby("frame_index")}
    obs_by_frame = {int(k): g for k, g in observations.groupby("frame_index")}
    empty_truth, empty_obs = truth.iloc[:0], observations.iloc[:0]
    tp = fp = fn = emotion_right = 0
    per_bucket = {b: [0, 0] for b in SIZE_BUCKETS}  # found, total
    ious: list[float] = []
    near_misses = 0
    for frame in frames:
        gt = truth_by_frame.get(frame, empty_truth)
        obs = obs_by_frame.get(frame, empty_obs)
        m = match_frame(gt[BOX].to_numpy(), obs[BOX].to_numpy(), min_iou)
        counted = m.truth_width >= min_width
        found = m.truth_matched >= 0
        tp += int((counted & found).sum())
        fn += int((counted & ~found).sum())
        fp += int((m.detection_matched < 0).sum())
        ious.extend(m.match_iou[counted & found].tolist())
        near_misses += int((counted & ~found & (m.truth_best_iou >= NEAR_MISS_IOU)).sum())
        for low, high in SIZE_BUCKETS:
            inside = (m.truth_width >= low) & (m.truth_width < high)
            per_bucket[(low, high)][0] += int((inside & found).sum())
            per_bucket[(low, high)][1] += int(inside.sum())
        matched = np.flatnonzero(counted & found)
        if len(matched):
            said = obs["top_emotion"].to_numpy()[m.truth_matched[matched]]
            emotion_right += int((said == gt["emotion"].to_numpy()[matched]).sum())
    return {
        "recall": _ratio(tp, tp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall_by_size": {bucket_name(*b): _ratio(*per_bucket[b]) for b in SIZE_BUCKETS},
        "faces_by_size": {bucket_name(*b): per_bucket[b][1] for b in SIZE_BUCKETS},
        "emotion_accuracy": _ratio(emotion_right, tp),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "match_iou": _quantiles(ious),
        "near_misses": near_misses,
    }


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    q = np.quantile(np.asarray(values), [0.0, 0.01, 0.05, 0.5])
    return {name: round(float(v), 3) for name, v in zip(("min", "p1", "p5", "median"), q)}


# -- the video and its truth ------------------------------------------------------------------


def truth_csv_of(video: Path) -> Path:
    return video.with_name(video.stem + ".truth.csv")


def load_truth(video: Path) -> pd.DataFrame:
    path = truth_csv_of(video)
    if not path.is_file():
        raise FileNotFoundError(f"no truth file beside the video: {path}")
    return pd.read_csv(path)


@contextmanager
def composed_video(seed: int, duration_s: float, compose_dir: Path | None) -> Iterator[Path]:
    """A composed classroom video: reused from ``compose_dir`` when already there, else made.

    Without ``compose_dir`` it is made in a temporary folder and removed afterwards.
    """
    from benchmarks.compose_classroom import compose_classroom

    name = f"classroom_seed{seed}_{duration_s:g}s.mp4"
    if compose_dir is not None:
        video = compose_dir / name
        if not (video.is_file() and truth_csv_of(video).is_file()):
            _note(f"composing {video} ...")
            compose_classroom(video, seed=seed, duration_s=duration_s)
        yield video
        return
    with tempfile.TemporaryDirectory(prefix="detection-bench-") as tmp:
        _note(f"composing a {duration_s:g} s classroom (seed {seed}) ...")
        yield compose_classroom(Path(tmp) / name, seed=seed, duration_s=duration_s).video_path


def sampled_frames(video: Path, sample_fps: float) -> list[int]:
    """The frame indices the pipeline samples (frames without faces included)."""
    from emotion_core.video.source import VideoSource

    return [f.index for f in VideoSource(video).frames(sample_fps)]


# -- running the pipeline ---------------------------------------------------------------------


def analyse(video: Path, settings: Any, emotion_model_name: str) -> tuple[pd.DataFrame, Any, Any]:
    """Observations of ``video`` from the real pipeline, its result, and the emotion model."""
    from emotion_core.analysis.models import load_detector, load_emotion_model
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.store.store import Store

    detector = load_detector(settings.detector)
    emotion_model = load_emotion_model(emotion_model_name)
    with (
        tempfile.TemporaryDirectory(prefix="detection-bench-db-") as tmp,
        Store(Path(tmp) / "bench.duckdb") as store,
    ):
        result = analyse_video(video, store, detector, emotion_model, settings)
        observations = store.observations(result.video_id)
    return observations, result, emotion_model


def time_detection(
    video: Path, settings: Any, detectors: list[Any], repeat: int, batch_frames: int
) -> list[dict[str, Any]]:
    """Milliseconds per sampled frame of ``detector.detect`` on whole frames of ``video``.

    One untimed pass per detector first (TensorFlow traces the networks on the first shapes it
    sees); then ``repeat`` rounds, each timing one pass over all sampled frames for every
    detector in turn, so that the load other users put on a shared machine falls on all of them
    alike. The median and the fastest pass are given, and the process CPU time per frame.
    """
    from emotion_core.analysis.models import load_detector
    from emotion_core.analysis.pipeline import batched
    from emotion_core.video.source import VideoSource

    frames = list(VideoSource(video).frames(settings.sample_fps))
    batches = list(batched(frames, batch_frames))
    loaded = [load_detector(d) for d in detectors]
    counts = [[len(f) for b in batches for f in detector.detect(b)] for detector in loaded]
    wall: list[list[float]] = [[] for _ in loaded]
    cpu: list[list[float]] = [[] for _ in loaded]
    for _ in range(repeat):
        for i, detector in enumerate(loaded):
            started, cpu_started = time.perf_counter(), time.process_time()
            for batch in batches:
                detector.detect(batch)
            wall[i].append(1000 * (time.perf_counter() - started) / len(frames))
            cpu[i].append(1000 * (time.process_time() - cpu_started) / len(frames))
    height, width = frames[0].image.shape[:2]
    return [
        {
            "detector": detector.description,
            "video": video.name,
            "size": f"{width}x{height}",
            "frames": len(frames),
            "batch_frames": batch_frames,
            "repeat": repeat,
            "ms_per_frame_median": round(statistics.median(w), 1),
            "ms_per_frame_min": round(min(w), 1),
            "cpu_ms_per_frame_median": round(statistics.median(c), 1),
            "faces_per_frame_median": float(np.median(n)),
            "faces_total": int(sum(n)),
        }
        for detector, w, c, n in zip(loaded, wall, cpu, counts)
    ]


def parse_spec(spec: str, base: MTCNNSettings) -> MTCNNSettings:
    """``base`` with the changes of a spec like ``min_face_size=16,min_score=0.8``."""
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(MTCNNSettings)}
    changes: dict[str, Any] = {}
    for item in filter(None, spec.split(",")):
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in kinds:
            raise ValueError(f"unknown MTCNN setting {name!r} in {spec!r}")
        changes[name] = kinds[name](value)
    return replace(base, **changes)


# -- command line -----------------------------------------------------------------------------


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = MTCNNSettings()
    ap = argparse.ArgumentParser(
        description="Recall/precision of the pipeline's face detection on a composed classroom."
    )
    ap.add_argument("--video", type=Path, help="a composed video with its .truth.csv beside it")
    ap.add_argument("--seed", type=int, default=0, help="seed of the composed video (default 0)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds composed (default 60)")
    ap.add_argument(
        "--compose-dir", type=Path,
        help="keep the composed video here (and reuse it next time) instead of a temporary folder",
    )
    for f in fields(MTCNNSettings):
        ap.add_argument(
            "--" + f.name.replace("_", "-"), type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
            help=f"MTCNNSettings.{f.name} (default {getattr(defaults, f.name)})",
        )
    ap.add_argument(
        "--detector", default=DEFAULT_DETECTOR,
        help=f"face detector (default {DEFAULT_DETECTOR}); the MTCNN flags apply with mtcnn",
    )
    ap.add_argument("--emotion-model", default="auto", help="auto | fer | deepface (default auto)")
    ap.add_argument("--fps", type=float, help="frames sampled per second (default: the pipeline's)")
    ap.add_argument("--detect-every", type=int, help="AnalysisSettings.detect_every (default: its)")
    ap.add_argument("--min-iou", type=float, default=DEFAULT_MIN_IOU, help="match rule (0.4)")
    ap.add_argument(
        "--time-video", type=Path, default=DEFAULT_TIME_VIDEO,
        help="real video to time detection on (default: the CCTV classroom clip)",
    )
    ap.add_argument("--time-repeat", type=int, default=3, help="timed passes (default 3)")
    ap.add_argument(
        "--time-batch-frames", type=int, default=8, help="frames per detect call timed (8)"
    )
    ap.add_argument("--no-timing", action="store_true", help="do not time on a real video")
    ap.add_argument(
        "--compare", nargs="+", metavar="SPEC",
        help="only time detection on --time-video, interleaved, for the settings given by the"
        " flags and for each SPEC (changes to them, e.g. min_face_size=16,min_score=0.8)",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args(argv)


def analysis_settings(args: argparse.Namespace) -> Any:
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.faces.choice import detector_settings

    if args.detector == "mtcnn":  # the MTCNN flags apply to MTCNN only
        detector = MTCNNSettings(**{f.name: getattr(args, f.name) for f in fields(MTCNNSettings)})
    else:
        detector = detector_settings(args.detector)
    settings = AnalysisSettings(detector=detector, emotion_model=args.emotion_model)
    overrides = {"sample_fps": args.fps, "detect_every": args.detect_every}
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def run(args: argparse.Namespace) -> dict[str, Any]:
    from emotion_core.analysis.models import configure_environment

    configure_environment()
    settings = analysis_settings(args)
    if args.video is not None:
        video_context: Any = nullcontext(args.video)
    else:
        video_context = composed_video(args.seed, args.duration, args.compose_dir)
    with video_context as video:
        truth = load_truth(video)
        _note(f"analysing {video.name} with {settings.detector.describe()} ...")
        observations, result, emotion_model = analyse(video, settings, args.emotion_model)
        frames = sampled_frames(video, settings.sample_fps)
    report: dict[str, Any] = evaluate(truth, observations, frames, args.min_iou)
    report.update({
        "video": video.name if args.video is not None else None,
        "seed": None if args.video is not None else args.seed,
        "duration_s": None if args.video is not None else args.duration,
        "frames": len(frames),
        "truth_faces": int(truth["frame_index"].isin(frames).sum()),
        "detector": result.detector,
        "emotion_model": result.emotion_model,
        "emotion_model_description": emotion_model.description,
        "analysis_seconds": result.seconds,
        "settings": {
            "detector": asdict(settings.detector),
            "sample_fps": settings.sample_fps,
            "batch_frames": settings.batch_frames,
            "detect_every": settings.detect_every,
            "min_iou": args.min_iou,
            "min_width": MIN_WIDTH,
        },
    })
    if not args.no_timing:
        if args.time_video.is_file():
            _note(f"timing detection on {args.time_video.name} ...")
            [report["timing"]] = time_detection(
                args.time_video, settings, [settings.detector], args.time_repeat,
                args.time_batch_frames,
            )
        else:
            report["timing"] = f"not timed: {args.time_video} not found"
    return report


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"detector: {report['detector']}",
        f"emotion model: {report['emotion_model']} ({report['emotion_model_description']})",
        f"frames: {report['frames']}, truth faces: {report['truth_faces']}",
        (
            f"faces >= {MIN_WIDTH:g} px: recall {report['recall']}, precision"
            f" {report['precision']} (tp {report['tp']}, fp {report['fp']}, fn {report['fn']})"
        ),
        "recall by width: " + ", ".join(
            f"{k} px {v} (n={report['faces_by_size'][k]})"
            for k, v in report["recall_by_size"].items()
        ),
        f"emotion accuracy (matched faces >= {MIN_WIDTH:g} px): {report['emotion_accuracy']}",
        f"IoU of matches: {report['match_iou']}; near misses: {report['near_misses']}",
    ]
    timing = report.get("timing")
    if isinstance(timing, dict):
        lines.append(
            f"detection on {timing['video']} ({timing['size']}): {timing['ms_per_frame_median']} "
            f"ms/frame median, {timing['ms_per_frame_min']} fastest, "
            f"{timing['faces_per_frame_median']} faces/frame median"
        )
    elif timing:
        lines.append(str(timing))
    return "\n".join(lines)


def compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    from emotion_core.analysis.models import configure_environment

    configure_environment()
    settings = analysis_settings(args)
    if args.detector != "mtcnn":
        raise ValueError("--compare changes MTCNN's settings: give it with --detector mtcnn")
    if not args.time_video.is_file():
        raise FileNotFoundError(f"no video to time on: {args.time_video}")
    detectors = [settings.detector, *(parse_spec(s, settings.detector) for s in args.compare)]
    _note(f"timing {len(detectors)} settings on {args.time_video.name} ...")
    return time_detection(
        args.time_video, settings, detectors, args.time_repeat, args.time_batch_frames
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.compare:
            timings = compare(args)
            print(json.dumps(timings) if args.json else "\n".join(
                f"{t['ms_per_frame_median']:7.1f} ms/frame (fastest {t['ms_per_frame_min']}, cpu "
                f"{t['cpu_ms_per_frame_median']}), {t['faces_total']} faces: {t['detector']}"
                for t in timings
            ))
            return 0
        report = run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
