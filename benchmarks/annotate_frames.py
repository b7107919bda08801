"""Draw what the pipeline sees on a few frames of a video: face boxes, track ids, top emotions.

The video is sampled and analysed as ``analyse_video`` does it (same detector, emotion model,
tracker and batches, nothing stored), and ``--frames`` of the sampled frames, spread evenly, are
written as PNGs. Each box is labelled ``#track emotion probability`` and coloured by emotion;
a strip under the frame names the video and the frame and counts its faces. Frames smaller
than 960 px wide are enlarged (``--scale``) so that small faces and labels stay legible.

Only frames you may publish belong in the repository: see docs/detection.md.

Usage::

    .venv/bin/python benchmarks/annotate_frames.py VIDEO --out DIR [--frames 4]
        [--seconds S] [--emotion-model auto] [--detector yunet|mtcnn] [--scale X]

It also prints how many faces each sampled frame has (median, mean, least and most).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.analysis.annotate import default_scale, draw, pick
from emotion_core.core.types import Faces, Frame


def analysed_frames(
    video: Path, emotion_model_name: str, seconds: float | None, detector_name: str | None = None
) -> tuple[list[tuple[Frame, Faces]], str]:
    """Every sampled frame (up to ``seconds``) with its classified, tracked faces."""
    from emotion_core.analysis.models import (
        configure_environment,
        load_detector,
        load_emotion_model,
    )

    configure_environment()
    from emotion_core.analysis.pipeline import analyse_frames
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.faces.choice import detector_settings
    from emotion_core.faces.tracking import IoUTracker
    from emotion_core.video.source import VideoSource

    settings = AnalysisSettings(emotion_model=emotion_model_name)
    if detector_name:
        settings = replace(settings, detector=detector_settings(detector_name))
    detector = load_detector(settings.detector)
    model = load_emotion_model(emotion_model_name)
    frames = [
        f for f in VideoSource(video).frames(settings.sample_fps)
        if seconds is None or f.time_s <= seconds
    ]
    tracker = IoUTracker(settings.track_min_iou, settings.track_max_gap_s)
    faces = [  # each frame's faces; those not readable have NaN emotions ("not read")
        read.faces for batch in analyse_frames(
            frames, detector, model, tracker, settings.batch_frames, settings.detect_every,
            readable=settings.readability,
        )
        for read in batch
    ]
    return list(zip(frames, faces)), f"{detector.description}; emotion: {model.name}"


def annotate(args: argparse.Namespace) -> list[Path]:
    analysed, settings_text = analysed_frames(
        args.video, args.emotion_model, args.seconds, args.detector
    )
    if not analysed:
        return []
    counts = np.array([len(faces) for _, faces in analysed])
    print(f"faces per sampled frame ({len(counts)} frames): median {np.median(counts):g}, "
          f"mean {counts.mean():.2f}, {counts.min()}-{counts.max()}")
    width = analysed[0][0].image.shape[1]
    scale = args.scale if args.scale is not None else default_scale(width)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for position in pick(len(analysed), args.frames):
        frame, faces = analysed[position]
        caption = (
            f"{args.video.name}  frame {frame.index} ({frame.time_s:.1f} s)  {len(faces)} faces"
        )
        path = args.out / f"{args.video.stem}_frame{frame.index:05d}.png"
        who = [f"#{t}" for t in faces.track_ids.tolist()]
        image = draw(frame.image, faces.boxes, faces.emotions, who, caption, scale)
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        written.append(path)
    print(f"detector: {settings_text}")
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    ap.add_argument("--frames", type=int, default=4, help="frames to draw (default 4)")
    ap.add_argument("--seconds", type=float, help="analyse only the first S seconds")
    ap.add_argument("--emotion-model", default="auto", help="auto | fer | deepface")
    ap.add_argument("--detector", help="yunet | mtcnn (default: the pipeline's default)")
    ap.add_argument("--scale", type=float, help="enlargement (default 2 below 960 px wide)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.video.is_file():
        print(f"error: no such video: {args.video}", file=sys.stderr)
        return 2
    for path in annotate(args):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
