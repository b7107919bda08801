"""Measuring an emotion model on labelled photos: accuracy, per-class P/R/F1, confusion matrix.

Faces are found and cropped exactly as in video analysis (the same detector and
``emotion.classify_faces``), so the numbers describe the model as the pipeline uses it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emotion_core.detection import FaceDetector
from emotion_core.emotion import EMOTIONS, EmotionModel, classify_faces
from emotion_core.metrics import classification_metrics
from emotion_core.types import Faces, Frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# A photo smaller than this on its shorter side is enlarged before detection: MTCNN's smallest
# window is 12 px and tight crops (FER2013 is 48×48) leave no room around the face.
_MIN_DETECTION_SIDE = 160


class LabelsError(ValueError):
    """The labelled photos cannot be read; the message is meant for the user."""


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    emotion: str
    subject: str | None = None


def read_labels(source: str | Path) -> list[LabelledPhoto]:
    """Photos and labels from a CSV (``path,emotion[,subject]``, paths relative to the CSV) or a
    folder holding one sub-folder per emotion."""
    source = Path(source)
    if source.is_dir():
        return _labels_from_folders(source)
    if not source.is_file():
        raise LabelsError(f"{source}: no such file or folder")
    with source.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "emotion"} - set(reader.fieldnames or ())
        if missing:
            raise LabelsError(f"{source.name}: needs the columns path and emotion (missing {sorted(missing)})")
        photos = [
            LabelledPhoto(
                source.parent / row["path"],
                row["emotion"].strip().lower(),
                (row.get("subject") or None),
            )
            for row in reader
        ]
    if not photos:
        raise LabelsError(f"{source.name}: lists no photos")
    return photos


def _labels_from_folders(folder: Path) -> list[LabelledPhoto]:
    photos = [
        LabelledPhoto(path, sub.name.strip().lower())
        for sub in sorted(p for p in folder.iterdir() if p.is_dir())
        for path in sorted(sub.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not photos:
        raise LabelsError(f"{folder}: holds no photos in per-emotion sub-folders")
    return photos


def load_rgb(path: Path) -> np.ndarray | None:
    """An RGB uint8 image, or None when the file cannot be read as an image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # also converts grey and palette images
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def prepare_photo(image: np.ndarray) -> np.ndarray:
    """Enlarge small photos and give tight crops a border, so the detector can find the face."""
    short_side = min(image.shape[:2])
    if short_side < _MIN_DETECTION_SIDE:
        scale = _MIN_DETECTION_SIDE / short_side
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    pad = min(image.shape[:2]) // 4
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def main_face(faces: Faces) -> Faces:
    """The largest face of a photo (labelled photos show one person)."""
    if len(faces) <= 1:
        return faces
    areas = faces.widths * (faces.boxes[:, 3] - faces.boxes[:, 1])
    return faces.select(np.arange(len(faces)) == int(np.argmax(areas)))


@dataclass
class EvaluationReport:
    model: str
    labels: list[str]
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    averages: dict[str, dict[str, float]]
    confusion: list[list[int]]  # rows: true label, columns: predicted, in ``labels`` order
    no_face: int
    unreadable: int
    other_labels: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def evaluate(
    model: EmotionModel,
    detector: FaceDetector,
    photos: Sequence[LabelledPhoto],
    on_progress: Callable[[int, int], None] | None = None,
) -> EvaluationReport:
    """Find the face in each photo, classify it, and compare with the labels."""
    true: list[str] = []
    predicted: list[str] = []
    other: dict[str, dict[str, int]] = {}
    no_face = unreadable = 0
    for i, photo in enumerate(photos):
        if on_progress:
            on_progress(i, len(photos))
        image = load_rgb(photo.path)
        if image is None:
            unreadable += 1
            continue
        image = prepare_photo(image)
        faces = main_face(detector.detect([Frame(index=i, time_s=0.0, image=image)])[0])
        if len(faces) == 0:
            no_face += 1
            continue
        (faces,) = classify_faces(model, [image], [faces])
        top = EMOTIONS[int(np.argmax(faces.emotions[0]))]
        if photo.emotion in EMOTIONS:
            true.append(photo.emotion)
            predicted.append(top)
        else:  # e.g. contempt: not an error of the 7-way task, reported on its own
            counts = other.setdefault(photo.emotion, {})
            counts[top] = counts.get(top, 0) + 1
    if on_progress:
        on_progress(len(photos), len(photos))
    metrics = classification_metrics(true, predicted)
    return EvaluationReport(
        model=model.name, n=len(true), no_face=no_face, unreadable=unreadable,
        other_labels=other, **metrics,  # type: ignore[arg-type]
    )
