"""Draw what the pipeline sees on a few frames of a video: face boxes, track ids, top emotions.

The video is sampled and analysed as ``analyse_video`` does it (same detector, emotion model,
tracker and batches, nothing stored), and ``--frames`` of the sampled frames, spread evenly, are
written as PNGs. Each box is labelled ``#track emotion probability`` and coloured by emotion;
a strip under the frame names the video and the frame and counts its faces. Frames smaller
than 960 px wide are enlarged (``--scale``) so that small faces and labels stay legible.

Only frames you may publish belong in the repository: see docs/detection.md.

Usage::

    .venv/bin/python benchmarks/annotate_frames.py VIDEO --out DIR [--frames 4]
        [--seconds S] [--emotion-model auto] [--scale X]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.emotion import EMOTIONS
from emotion_core.types import Faces, Frame

# BGR, one per emotion in EMOTIONS order: angry, disgust, fear, happy, sad, surprise, neutral
EMOTION_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 230), (40, 140, 60), (170, 60, 170), (0, 200, 255),
    (200, 120, 30), (230, 230, 40), (220, 220, 220),
)
FONT = cv2.FONT_HERSHEY_SIMPLEX
STRIP_PX = 28


def pick(count: int, wanted: int) -> list[int]:
    """``wanted`` positions spread evenly over ``range(count)``, first and last included."""
    if count <= 0 or wanted <= 0:
        return []
    return sorted({round(i) for i in np.linspace(0, count - 1, min(wanted, count))})


def analysed_frames(
    video: Path, emotion_model_name: str, seconds: float | None
) -> tuple[list[tuple[Frame, Faces]], str]:
    """Every sampled frame (up to ``seconds``) with its classified, tracked faces."""
    from emotion_core.models import configure_environment, load_detector, load_emotion_model

    configure_environment()
    from emotion_core.pipeline import AnalysisSettings, analyse_frames
    from emotion_core.tracking import IoUTracker
    from emotion_core.video import VideoSource

    settings = AnalysisSettings(emotion_model=emotion_model_name)
    detector = load_detector(settings.detector)
    model = load_emotion_model(emotion_model_name)
    frames = [
        f for f in VideoSource(video).frames(settings.sample_fps)
        if seconds is None or f.time_s <= seconds
    ]
    tracker = IoUTracker(settings.track_min_iou, settings.track_max_gap_s)
    faces = [
        f for batch in analyse_frames(
            frames, detector, model, tracker, settings.batch_frames, settings.detect_every
        )
        for f in batch
    ]
    return list(zip(frames, faces)), f"{detector.description}; emotion: {model.name}"


def draw(frame: Frame, faces: Faces, caption: str, scale: float) -> np.ndarray:
    """The frame (BGR) with each face's box and label, and ``caption`` in a strip below."""
    image = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    emotions = faces.emotions if faces.emotions is not None else np.zeros((len(faces), 7))
    track_ids = faces.track_ids if faces.track_ids is not None else np.zeros(len(faces), int)
    for box, probabilities, track in zip(faces.boxes, emotions, track_ids):
        top = int(np.argmax(probabilities))
        colour = EMOTION_COLOURS[top]
        x1, y1, x2, y2 = (round(float(v) * scale) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
        _label(image, f"#{track} {EMOTIONS[top]} {probabilities[top]:.2f}", (x1, y1), colour)
    strip = np.full((STRIP_PX, image.shape[1], 3), 32, np.uint8)
    cv2.putText(strip, caption, (6, 19), FONT, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([image, strip])


def _label(image: np.ndarray, text: str, corner: tuple[int, int], colour: tuple[int, ...]) -> None:
    """``text`` on a filled tag just above ``corner`` (below it at the top edge)."""
    (w, h), base = cv2.getTextSize(text, FONT, 0.42, 1)
    x, y = corner
    top = y - h - base - 3 if y - h - base - 3 >= 0 else y + 2
    cv2.rectangle(image, (x, top), (x + w + 4, top + h + base + 3), colour, -1)
    cv2.putText(image, text, (x + 2, top + h + 1), FONT, 0.42, (0, 0, 0), 1, cv2.LINE_AA)


def annotate(args: argparse.Namespace) -> list[Path]:
    analysed, settings_text = analysed_frames(args.video, args.emotion_model, args.seconds)
    if not analysed:
        return []
    width = analysed[0][0].image.shape[1]
    scale = args.scale if args.scale is not None else (2.0 if width < 960 else 1.0)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for position in pick(len(analysed), args.frames):
        frame, faces = analysed[position]
        caption = (
            f"{args.video.name}  frame {frame.index} ({frame.time_s:.1f} s)  {len(faces)} faces"
        )
        path = args.out / f"{args.video.stem}_frame{frame.index:05d}.png"
        cv2.imwrite(str(path), draw(frame, faces, caption, scale))
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
