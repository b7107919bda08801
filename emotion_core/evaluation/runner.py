"""Measuring an emotion model on labelled photos: accuracy, per-class P/R/F1, confusion matrix.

Faces are found and cropped exactly as in video analysis (the same detector and
``emotion.classify_faces``), so the numbers describe the model as the pipeline uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from emotion_core.core.crops import FacePreprocessing
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces, Frame
from emotion_core.emotion.model import DEFAULT_PREPROCESSING, EmotionModel, classify_faces
from emotion_core.evaluation.metrics import classification_metrics
from emotion_core.evaluation.photos import LabelledPhoto, load_rgb
from emotion_core.faces.detector import FaceDetector

# A photo smaller than this on its shorter side is enlarged before detection: MTCNN's smallest
# window is 12 px and tight crops (FER2013 is 48×48) leave no room around the face.
_MIN_DETECTION_SIDE = 160


def prepare_photo(image: np.ndarray) -> np.ndarray:
    """Enlarge small photos and give tight crops a border, so the detector can find the face."""
    short_side = min(image.shape[:2])
    if short_side < _MIN_DETECTION_SIDE:
        scale = _MIN_DETECTION_SIDE / short_side
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    pad = min(image.shape[:2]) // 4
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def zoomed_out(image: np.ndarray) -> np.ndarray:
    """A photo enlarged as ``prepare_photo`` does, with a wide mid-grey border instead: the
    second look for a face that fills its photo, which MTCNN misses next to a copied border."""
    short_side = min(image.shape[:2])
    if short_side < _MIN_DETECTION_SIDE:
        scale = _MIN_DETECTION_SIDE / short_side
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    pad = min(image.shape[:2]) // 2
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))


def main_face(faces: Faces) -> Faces:
    """The largest face of a photo (labelled photos show one person)."""
    if len(faces) <= 1:
        return faces
    areas = faces.widths * (faces.boxes[:, 3] - faces.boxes[:, 1])
    return faces.select([int(np.argmax(areas))])


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
    # photos where the detector found no face but that are tight face crops: read whole
    whole_photo: int = 0
    preprocessing: str = ""

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)

    def per_class_table(self) -> pd.DataFrame:
        """One row per class (precision, recall, F1, support), then the micro, macro and
        weighted averages."""
        rows = [{"class": label, **values} for label, values in self.per_class.items()]
        rows += [
            {"class": f"{name} average", **values, "support": self.n}
            for name, values in self.averages.items()
        ]
        return pd.DataFrame(rows, columns=["class", "precision", "recall", "f1", "support"])

    def confusion_table(self) -> pd.DataFrame:
        """The confusion matrix in long form: true, predicted, count and the count's share of
        the photos of that true class."""
        confusion = np.asarray(self.confusion, dtype=np.int64).reshape(len(self.labels), len(self.labels))
        totals = confusion.sum(axis=1, keepdims=True)
        shares = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
        return pd.DataFrame(
            [
                {"true": t, "predicted": p, "count": int(confusion[i, j]), "share_of_true": float(shares[i, j])}
                for i, t in enumerate(self.labels)
                for j, p in enumerate(self.labels)
            ]
        )


@dataclass(frozen=True)
class PhotoReading:
    """What became of one labelled photo: its probabilities (7,) when a face was read."""

    photo: LabelledPhoto
    outcome: str  # "face", "whole_photo", "no_face" or "unreadable"
    probabilities: np.ndarray | None = None

    @property
    def predicted(self) -> str | None:
        return None if self.probabilities is None else EMOTIONS[int(np.argmax(self.probabilities))]


def is_tight_crop(image: np.ndarray) -> bool:
    """Whether a photo looks like a face crop: square within 25 % (FER2013, lfw crops, JAFFE)."""
    height, width = image.shape[:2]
    return max(height, width) <= 1.25 * min(height, width)


def whole_photo_face(prepared: np.ndarray, original_shape: tuple[int, ...], index: int) -> Faces:
    """The photo inside ``prepare_photo``'s border as one face box, without landmarks."""
    pad = (prepared.shape[0] - _prepared_side(original_shape)[0]) // 2
    height, width = _prepared_side(original_shape)
    return Faces(
        frame_index=index, time_s=0.0,
        boxes=np.array([[pad, pad, pad + width, pad + height]], np.float32),
        scores=np.zeros(1, np.float32),
        landmarks=np.zeros((1, 5, 2), np.float32),  # unknown: the crop is not turned
    )


def _prepared_side(shape: tuple[int, ...]) -> tuple[int, int]:
    """Height and width of a photo of ``shape`` after ``prepare_photo``'s enlargement."""
    height, width = shape[:2]
    scale = max(1.0, _MIN_DETECTION_SIDE / min(height, width))
    return round(height * scale), round(width * scale)


def read_photos(
    model: EmotionModel,
    detector: FaceDetector,
    photos: Sequence[LabelledPhoto],
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
    *,
    whole_tight_crops: bool = True,
    second_look: bool = True,
    batch_photos: int = 16,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[PhotoReading]:
    """Find the main face of each photo and read it, exactly as video analysis reads faces.

    Photos of the same size go to the detector together. ``second_look``: where no face is found,
    look again with a wide border around the photo (a face that fills its photo is often missed).
    ``whole_tight_crops``: a tight face
    crop (see ``is_tight_crop``) in which the detector finds no face is read whole, without
    alignment, and counted apart as ``whole_photo``; otherwise it counts as ``no_face``.
    """
    readings: list[PhotoReading] = []
    for start in range(0, len(photos), batch_photos):
        if on_progress:
            on_progress(start, len(photos))
        batch = photos[start : start + batch_photos]
        originals = [load_rgb(photo.path) for photo in batch]
        prepared = [None if image is None else prepare_photo(image) for image in originals]
        found = _detect_by_size(detector, prepared, first_index=start)
        # a face that fills its photo, or more, is often found once there is room around it
        missed = [i for i, f in enumerate(found) if second_look and f is not None and not len(f)]
        wider = [zoomed_out(originals[i]) for i in missed]  # type: ignore[arg-type]
        for i, image, faces in zip(missed, wider, _detect_by_size(detector, wider, start)):
            if faces is not None and len(faces):
                prepared[i], found[i] = image, faces
        images, faces, outcomes = [], [], []
        for i, (original, image, face) in enumerate(zip(originals, prepared, found)):
            if original is None or image is None:
                outcomes.append("unreadable")
                continue
            if face is not None and len(face):
                outcome = "face"
            elif whole_tight_crops and is_tight_crop(original):
                face, outcome = whole_photo_face(image, original.shape, start + i), "whole_photo"
            else:
                outcomes.append("no_face")
                continue
            images.append(image)
            faces.append(face)
            outcomes.append(outcome)
        read = iter(classify_faces(model, images, faces, preprocessing))
        for photo, outcome in zip(batch, outcomes):
            if outcome in ("face", "whole_photo"):
                readings.append(PhotoReading(photo, outcome, next(read).emotions[0]))
            else:
                readings.append(PhotoReading(photo, outcome))
    if on_progress:
        on_progress(len(photos), len(photos))
    return readings


def _detect_by_size(
    detector: FaceDetector, images: Sequence[np.ndarray | None], first_index: int
) -> list[Faces | None]:
    """The main face of each image (None for None), detecting images of one size together."""
    found: list[Faces | None] = [None] * len(images)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        if image is not None:
            by_shape.setdefault(image.shape, []).append(i)
    for indices in by_shape.values():
        frames = [Frame(index=first_index + i, time_s=0.0, image=images[i]) for i in indices]
        for i, faces in zip(indices, detector.detect(frames)):
            found[i] = main_face(faces)
    return found


def report_of(model_name: str, readings: Sequence[PhotoReading], preprocessing: str = "") -> EvaluationReport:
    """Accuracy, per-class P/R/F1 and confusion of ``readings`` against their labels."""
    true: list[str] = []
    predicted: list[str] = []
    other: dict[str, dict[str, int]] = {}
    for reading in readings:
        top = reading.predicted
        if top is None:
            continue
        if reading.photo.emotion in EMOTIONS:
            true.append(reading.photo.emotion)
            predicted.append(top)
        else:  # e.g. contempt: not an error of the 7-way task, reported on its own
            counts = other.setdefault(reading.photo.emotion, {})
            counts[top] = counts.get(top, 0) + 1
    outcomes = [r.outcome for r in readings]
    metrics = classification_metrics(true, predicted)
    return EvaluationReport(
        model=model_name, n=len(true), no_face=outcomes.count("no_face"),
        unreadable=outcomes.count("unreadable"), other_labels=other,
        whole_photo=outcomes.count("whole_photo"), preprocessing=preprocessing,
        **metrics,  # type: ignore[arg-type]
    )


def evaluate(
    model: EmotionModel,
    detector: FaceDetector,
    photos: Sequence[LabelledPhoto],
    on_progress: Callable[[int, int], None] | None = None,
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
    *,
    whole_tight_crops: bool = True,
) -> EvaluationReport:
    """Find the face in each photo, classify it, and compare with the labels."""
    readings = read_photos(
        model, detector, photos, preprocessing,
        whole_tight_crops=whole_tight_crops, on_progress=on_progress,
    )
    return report_of(model.name, readings, preprocessing.describe())
