"""Speed benchmark: our pipeline against the loop people write with DeepFace, on one video.

Both sides see the same sampled frames at the same resolution (MTCNN's ``upscale`` included
when MTCNN is the detector). Ours runs the default detector (``AnalysisSettings().detector``:
YuNet since issue 19); the naive loop runs DeepFace's MTCNN, as people write it:

(a) ours: ``analyse_video`` into a temporary DuckDB at the default settings (identification
    on: ``identity_s`` of it went to cutting chips, embedding and assigning; ``no_identity_s`` is
    the same run with identification off, alternated with it), with the models
    loaded and warmed up first (load time is reported apart). Its time includes decoding, hashing
    the file and writing the rows.
(b) naive: ``DeepFace.analyze(frame, actions=['emotion'], detector_backend='mtcnn')`` on every
    sampled frame. Where DeepFace's emotion weights are present that call is timed. Where they are
    not (offline), the same work is timed piece by piece as ``analyze`` does it in deepface
    0.0.103: ``DeepFace.extract_faces(frame, 'mtcnn', align=True, enforce_detection=False)``
    (which pads the frame to twice its size and aligns each face), then per face the RGB->BGR
    flip, ``preprocessing.resize_image`` to 224x224, grey, resize to the model's input, and one
    ``predict`` call of our offline emotion model (``fer``). DeepFace itself calls its model per
    face eagerly (``model(x)``), which is slower than our ``predict``; using ours favours the
    naive side. The naive frames are decoded before the clock starts, which favours it too.
    DeepFace builds its own MTCNN (warmed up on one frame before timing) and, with
    ``enforce_detection=False``, classifies the whole frame when it finds no face, as
    ``analyze`` does; such a "face" is not counted in ``naive_faces``.

With ``--no-naive`` (a crowded room) only ours is timed: with identification, without it, and
with it but no embedding helper (``AnalysisSettings.embedding_helper``), alternated;
``helper_cpu_s`` is the helper process's CPU time, which ``our_cpu_s`` (this process) leaves out.

Prints one JSON object (``--json``) or a short summary. ``realtime_factor`` = video seconds /
our seconds (identification on, the default); ``naive_ratio`` = naive seconds / our seconds with
identification off, since the naive loop tells nobody apart (``naive_ratio_with_identity``: /
our seconds with it on); medians over ``--repeat`` runs of each side, alternated.
``naive_cpu_ratio`` is naive / ours (identification on) on process CPU time, which other work
on a shared machine disturbs less. ``peak_rss_mb`` is the process's peak after our first run,
before DeepFace is imported; ``process_peak_rss_mb`` includes the naive side.

Usage::

    .venv/bin/python benchmarks/speed.py [--video PATH] [--fps 2] [--repeat N]
        [--detect-every K] [--batch-frames N] [--detector yunet|mtcnn] [--no-naive] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.analysis.models import configure_environment

DEFAULT_VIDEO = PROJECT_ROOT.parent / "shared" / "data" / "videos" / "classroom_children_cctv.mp4"
DEEPFACE_EMOTION_WEIGHTS = "facial_expression_model_weights.h5"

NaiveFrame = Callable[[np.ndarray], int]  # analyses one BGR frame, returns the faces found


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def deepface_weights_present() -> bool:
    home = Path(os.environ["DEEPFACE_HOME"])
    return (home / ".deepface" / "weights" / DEEPFACE_EMOTION_WEIGHTS).is_file()


def naive_frames(frames: list[Any], upscale: float) -> list[np.ndarray]:
    """The sampled frames as a DeepFace user holds them: BGR, at the detector's resolution."""
    import cv2

    out = []
    for frame in frames:
        image = frame.image
        if upscale != 1.0:  # the same resize MTCNNDetector applies before detecting
            image = cv2.resize(image, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        out.append(np.ascontiguousarray(image[:, :, ::-1]))
    return out


def deepface_analyze() -> NaiveFrame:
    """The real loop body, for machines that have DeepFace's emotion weights."""
    from deepface import DeepFace

    def analyse(frame_bgr: np.ndarray) -> int:
        results = DeepFace.analyze(
            frame_bgr, actions=["emotion"], detector_backend="mtcnn",
            enforce_detection=False, silent=True,
        )
        return sum(1 for r in results if r.get("face_confidence", 0) > 0)

    return analyse


def deepface_detection_with_our_model(model: Any) -> NaiveFrame:
    """What ``DeepFace.analyze`` does per frame, with our emotion model in place of DeepFace's."""
    import cv2
    from deepface import DeepFace
    from deepface.modules import preprocessing

    def analyse(frame_bgr: np.ndarray) -> int:
        found = 0
        faces = DeepFace.extract_faces(
            frame_bgr, detector_backend="mtcnn", enforce_detection=False, align=True,
        )
        for face in faces:
            content = face["face"]
            if content.shape[0] == 0 or content.shape[1] == 0:
                continue
            found += face["confidence"] > 0  # 0 marks the whole frame, given when none is found
            bgr = preprocessing.resize_image(img=content[:, :, ::-1], target_size=(224, 224))
            grey = cv2.cvtColor(bgr[0], cv2.COLOR_BGR2GRAY)
            grey = cv2.resize(grey, (model.input_size, model.input_size))
            crop = np.clip(grey * 255.0, 0, 255).astype(np.uint8)[None]
            probabilities = model.predict(crop)[0]
            _ = {"emotion": probabilities / probabilities.sum(), "top": int(probabilities.argmax())}
        return found

    return analyse


def time_ours(
    video: Path, detector: Any, emotion_model: Any, settings: Any, embedder: Any = None
) -> dict[str, Any]:
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.store.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "speed.duckdb") as store:
        started, cpu, helper_cpu = time.perf_counter(), time.process_time(), helper_cpu_s()
        result = analyse_video(video, store, detector, emotion_model, settings, embedder=embedder)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        helper_cpu = helper_cpu_s() - helper_cpu
    return {
        "seconds": seconds, "cpu_s": cpu, "frames": result.frames_sampled, "faces": result.faces,
        "tracks": result.tracks, "faces_embedded": result.faces_embedded,
        "identity_s": result.identity_seconds, "helper_cpu_s": helper_cpu,
    }


def helper_cpu_s() -> float:
    """CPU seconds the embedding helper processes have used so far (Linux ``/proc``; 0 elsewhere):
    ``cpu_s`` counts this process only."""
    from emotion_core.analysis.models import started_helpers

    total = 0.0
    for helper in started_helpers():
        try:
            fields = Path(f"/proc/{helper.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def time_naive(frames: list[np.ndarray], analyse: NaiveFrame) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    faces = sum(analyse(frame) for frame in frames)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu_s": cpu, "frames": len(frames), "faces": faces}


def warm_up(detector: Any, emotion_model: Any, frames: list[Any], settings: Any) -> None:
    """One pass over the first batch through every stage, so no first-call cost is timed."""
    from emotion_core.analysis.pipeline import analyse_frames
    from emotion_core.faces.tracking import IoUTracker

    first = frames[: max(settings.batch_frames, settings.detect_every + 1)]
    for _ in analyse_frames(
        first, detector, emotion_model, IoUTracker(), settings.batch_frames, settings.detect_every
    ):
        pass
    size = emotion_model.input_size
    emotion_model.predict(np.zeros((1, size, size), np.uint8))


def ours_report(video_s: float, frames: int, ours: list[dict[str, Any]],
                ours_off: list[dict[str, Any]], embedder: Any,
                ours_alone: list[dict[str, Any]]) -> dict[str, Any]:
    """Ours with identification against ours without, and with it but no embedding helper
    (``--no-naive``)."""
    our_s = statistics.median(r["seconds"] for r in ours)
    off_s = statistics.median(r["seconds"] for r in ours_off)
    alone_s = statistics.median(r["seconds"] for r in ours_alone)
    return {
        "no_helper_s": round(alone_s, 3),
        "realtime_factor_no_helper": round(video_s / alone_s, 2),
        "no_helper_identity_s": statistics.median(r["identity_s"] for r in ours_alone),
        "helper_cpu_s": round(statistics.median(r["helper_cpu_s"] for r in ours), 3),
        "video_s": round(video_s, 3), "frames_sampled": frames, "our_faces": ours[0]["faces"],
        "embedding_model": embedder.name, "tracks": ours[0]["tracks"],
        "faces_embedded": ours[0]["faces_embedded"],
        "identity_s": statistics.median(r["identity_s"] for r in ours),
        "our_s": round(our_s, 3), "no_identity_s": round(off_s, 3),
        "realtime_factor": round(video_s / our_s, 2),
        "realtime_factor_no_identity": round(video_s / off_s, 2),
        "our_cpu_s": round(statistics.median(r["cpu_s"] for r in ours), 3),
        "no_identity_cpu_s": round(statistics.median(r["cpu_s"] for r in ours_off), 3),
        "runs": {"our_s": [round(r["seconds"], 3) for r in ours],
                 "no_identity_s": [round(r["seconds"], 3) for r in ours_off],
                 "no_helper_s": [round(r["seconds"], 3) for r in ours_alone]},
        "cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }


def run(
    video: Path, fps: float, repeat: int, detect_every: int | None, batch_frames: int | None,
    emotion_model_name: str = "auto",
    with_naive: bool = True,
    detector_name: str | None = None,
) -> dict[str, Any]:
    configure_environment()
    started = time.perf_counter()
    from emotion_core.analysis.models import (
        embedding_helper,
        load_detector,
        load_embedder,
        load_emotion_model,
    )
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.faces.choice import detector_settings as named_detector
    from emotion_core.faces.mtcnn import MTCNNSettings
    from emotion_core.video.source import VideoSource

    # the default detector (faces/choice.py), or the one named
    detector_settings = (
        named_detector(detector_name) if detector_name else AnalysisSettings().detector
    )
    detector = load_detector(detector_settings)
    emotion_model = load_emotion_model(emotion_model_name)
    embedder = load_embedder("auto")
    load_s = time.perf_counter() - started

    settings = AnalysisSettings(sample_fps=fps, detector=detector_settings)
    if detect_every is not None:
        settings = replace(settings, detect_every=detect_every)
    if batch_frames is not None:
        settings = replace(settings, batch_frames=batch_frames)
    source = VideoSource(video)
    frames = list(source.frames(fps))
    started = time.perf_counter()
    warm_up(detector, emotion_model, frames, settings)
    embedder.embed(embedder.chips(frames[0].image, detector.detect(frames[:1])[0]))
    helper = embedding_helper(embedder)
    if helper is not None:
        helper.wait_ready(60)
    warmup_s = time.perf_counter() - started

    # the first timed run of ours comes before DeepFace's detector is built, so the peak memory
    # then is our pipeline's alone (models, decoding, DuckDB), not DeepFace's MTCNN and graphs
    ours = [time_ours(video, detector, emotion_model, settings, embedder)]
    our_peak_rss_mb = peak_rss_mb()
    # the same without identification, alternated with the runs with it: what identity costs
    no_identity = replace(settings, identify=False)
    ours_off = [time_ours(video, detector, emotion_model, no_identity)]

    if not with_naive:  # ours with and without identification, and without the helper
        alone = replace(settings, embedding_helper=False)
        ours_alone = [time_ours(video, detector, emotion_model, alone, embedder)]
        for _ in range(repeat - 1):
            ours.append(time_ours(video, detector, emotion_model, settings, embedder))
            ours_off.append(time_ours(video, detector, emotion_model, no_identity))
            ours_alone.append(time_ours(video, detector, emotion_model, alone, embedder))
        return {"detector": detector.description,
                **ours_report(source.info.duration_s, len(frames), ours, ours_off, embedder,
                              ours_alone)}

    if deepface_weights_present():
        naive_path = "DeepFace.analyze(frame, actions=['emotion'], detector_backend='mtcnn')"
        analyse = deepface_analyze()
    else:
        naive_path = (
            "DeepFace.extract_faces(frame, detector_backend='mtcnn', align=True, "
            "enforce_detection=False) + per face resize_image(224) + grey + one predict() "
            f"of our {load_emotion_model('fer').name!r} model (DeepFace's weights are missing)"
        )
        analyse = deepface_detection_with_our_model(load_emotion_model("fer"))
    # MTCNN's upscale enlarges the whole frame, so the naive side gets it too; YuNet's enlarged
    # look is a second look of its own, and the naive side sees the frames as they are
    upscale = detector_settings.upscale if isinstance(detector_settings, MTCNNSettings) else 1.0
    bgr = naive_frames(frames, upscale)
    started = time.perf_counter()
    analyse(bgr[0])  # DeepFace builds its MTCNN on first use
    naive_warmup_s = time.perf_counter() - started

    naive = [time_naive(bgr, analyse)]
    for _ in range(repeat - 1):  # alternate, so a busy spell on a shared machine hits both sides
        ours.append(time_ours(video, detector, emotion_model, settings, embedder))
        ours_off.append(time_ours(video, detector, emotion_model, no_identity))
        naive.append(time_naive(bgr, analyse))
    if ours[0]["frames"] != len(frames):
        raise RuntimeError(f"our pipeline sampled {ours[0]['frames']} frames, not {len(frames)}")
    our_s = statistics.median(r["seconds"] for r in ours)
    our_off_s = statistics.median(r["seconds"] for r in ours_off)
    naive_s = statistics.median(r["seconds"] for r in naive)
    our_cpu_s = statistics.median(r["cpu_s"] for r in ours)
    naive_cpu_s = statistics.median(r["cpu_s"] for r in naive)
    height, width = bgr[0].shape[:2]
    return {
        "video": video.name,
        "video_s": round(source.info.duration_s, 3),
        "sample_fps": fps,
        "frames_sampled": len(frames),
        "detector_frame_size": [width, height],
        "detector": detector.description,
        "emotion_model": emotion_model.name,
        "batch_frames": settings.batch_frames,
        "detect_every": settings.detect_every,
        "load_s": round(load_s, 2),
        "warmup_s": round(warmup_s, 2),
        "naive_warmup_s": round(naive_warmup_s, 2),
        "our_s": round(our_s, 3),
        "naive_s": round(naive_s, 3),
        "our_ms_per_frame": round(1000 * our_s / len(frames), 1),
        "naive_ms_per_frame": round(1000 * naive_s / len(frames), 1),
        "our_faces": ours[0]["faces"],
        # who is who: on in "our_s"; "no_identity_s" is the same analysis with it off
        "embedding_model": embedder.name,
        "tracks": ours[0]["tracks"],
        "faces_embedded": ours[0]["faces_embedded"],
        "identity_s": statistics.median(r["identity_s"] for r in ours),
        "no_identity_s": round(our_off_s, 3),
        "realtime_factor_no_identity": round(source.info.duration_s / our_off_s, 2),
        "naive_faces": naive[0]["faces"],
        "realtime_factor": round(source.info.duration_s / our_s, 2),
        # like for like: the naive loop tells nobody apart, so it is set against our analysis
        # with identification off; "naive_ratio_with_identity" sets it against the default run
        "naive_ratio": round(naive_s / our_off_s, 2),
        "naive_ratio_with_identity": round(naive_s / our_s, 2),
        "peak_rss_mb": round(our_peak_rss_mb, 1),  # ours, before DeepFace was loaded
        "process_peak_rss_mb": round(peak_rss_mb(), 1),  # both sides in this one process
        # CPU seconds (all threads) suffer less than wall time from other work on the machine
        "our_cpu_s": round(our_cpu_s, 3),
        "naive_cpu_s": round(naive_cpu_s, 3),
        "naive_cpu_ratio": round(naive_cpu_s / our_cpu_s, 2),
        "naive_path": naive_path,
        "runs": {
            "our_s": [round(r["seconds"], 3) for r in ours],
            "no_identity_s": [round(r["seconds"], 3) for r in ours_off],
            "naive_s": [round(r["seconds"], 3) for r in naive],
        },
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--fps", type=float, default=2.0, help="frames sampled per second")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each side (median)")
    parser.add_argument(
        "--detect-every", type=int, default=None,
        help="override AnalysisSettings.detect_every (default: the pipeline's default)",
    )
    parser.add_argument(
        "--batch-frames", type=int, default=None,
        help="override AnalysisSettings.batch_frames (default: the pipeline's default)",
    )
    parser.add_argument("--emotion-model", default="auto", help="emotion backend (default auto)")
    parser.add_argument("--detector", default=None,
                        help="face detector, yunet or mtcnn (default: the pipeline's default)")
    parser.add_argument(
        "--no-naive", action="store_true",
        help="time ours only, with identification and without (a crowded room: the naive side "
             "would take many minutes)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.video.is_file():
        parser.error(f"no video at {args.video}")
    report = run(
        args.video, args.fps, max(1, args.repeat), args.detect_every, args.batch_frames,
        args.emotion_model, not args.no_naive, args.detector,
    )
    if args.json or args.no_naive:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['video']}: {report['frames_sampled']} frames of {report['video_s']} s; "
            f"ours {report['our_s']} s ({report['our_ms_per_frame']} ms/frame, "
            f"{report['our_faces']} faces), naive {report['naive_s']} s "
            f"({report['naive_ms_per_frame']} ms/frame, {report['naive_faces']} faces); "
            f"realtime x{report['realtime_factor']}, naive/ours x{report['naive_ratio']}, "
            f"peak RSS {report['peak_rss_mb']} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
