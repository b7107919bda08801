"""Drawing what the analysis saw onto video frames: face boxes, who, top emotion (or "not read").

Frames are decoded again from the video when they are wanted; no picture is ever stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Frame
from emotion_core.store.queries import frame_faces, frames_to_show
from emotion_core.store.store import Store
from emotion_core.video.source import VideoSource

# RGB, one per emotion in EMOTIONS order: angry, disgust, fear, happy, sad, surprise, neutral
EMOTION_COLOURS: tuple[tuple[int, int, int], ...] = (
    (230, 40, 40), (60, 140, 40), (170, 60, 170), (255, 200, 0),
    (30, 120, 200), (40, 230, 230), (220, 220, 220),
)
# a face whose expression could not be read (faces/readability.py)
UNREAD_COLOUR = (150, 150, 150)
FONT = cv2.FONT_HERSHEY_SIMPLEX
STRIP_PX = 28


def pick(count: int, wanted: int) -> list[int]:
    """``wanted`` positions spread evenly over ``range(count)``, first and last included."""
    if count <= 0 or wanted <= 0:
        return []
    return sorted({round(i) for i in np.linspace(0, count - 1, min(wanted, count))})


def draw(
    image: np.ndarray,
    boxes: np.ndarray,
    probabilities: np.ndarray,
    who: Sequence[str],
    caption: str,
    scale: float = 1.0,
) -> np.ndarray:
    """An RGB frame with each face's box and ``who top-emotion probability`` (``who not read``
    in grey for a face with NaN probabilities: it could not be read), and ``caption`` in a
    strip below. ``boxes`` (N, 4) in frame pixels, ``probabilities`` (N, 7)."""
    image = np.ascontiguousarray(image)
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    for box, p, name in zip(np.asarray(boxes, float), np.asarray(probabilities, float), who):
        if np.isfinite(p).all():
            top = int(np.argmax(p))
            colour, text = EMOTION_COLOURS[top], f"{name} {EMOTIONS[top]} {p[top]:.2f}"
        else:
            colour, text = UNREAD_COLOUR, f"{name} not read"
        x1, y1, x2, y2 = (round(v * scale) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
        _label(image, text, (x1, y1), colour)
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


def default_scale(width: int) -> float:
    """Small frames are enlarged so small faces and their labels stay legible."""
    return 2.0 if width < 960 else 1.0


def frames_at(path: str | Path, sample_fps: float, indices: Iterable[int]) -> list[Frame]:
    """The frames with these decode ``indices``, as the analysis sampled them at ``sample_fps``.

    Decoding stops after the last one wanted.
    """
    wanted = set(indices)
    found: list[Frame] = []
    if not wanted:
        return found
    last = max(wanted)
    for frame in VideoSource(path).frames(sample_fps):
        if frame.index in wanted:
            found.append(frame)
        if frame.index >= last:
            break
    return found


def annotated_lesson_frames(
    store: Store, video_id: int, video_path: str | Path, count: int = 3
) -> list[tuple[np.ndarray, str]]:
    """A few frames of an analysed lesson with its stored faces drawn on them, and captions.

    The frames are decoded from ``video_path`` as the analysis sampled them; the boxes and
    emotions are the stored observations, so this shows exactly what was recorded.
    """
    lesson = store.video(video_id)
    if lesson is None:
        raise ValueError(f"no lesson with id {video_id}")
    sample_fps = float(json.loads(lesson["parameters"])["sample_fps"])
    indices = frames_to_show(store, video_id, count)
    faces = frame_faces(store, video_id, indices)
    drawn = []
    for frame in frames_at(video_path, sample_fps, indices):
        shown = faces[faces["frame_index"] == frame.index]
        caption = (f"{lesson['file_name']}  {frame.time_s:.1f} s  {len(shown)} faces, "
                   f"{int(shown['readable'].sum())} read")
        drawn.append((
            draw(
                frame.image, shown[["x1", "y1", "x2", "y2"]].to_numpy(),
                shown[list(EMOTIONS)].to_numpy(dtype=float, na_value=np.nan),
                shown["who"].tolist(), caption,
                default_scale(frame.image.shape[1]),
            ),
            caption,
        ))
    return drawn
