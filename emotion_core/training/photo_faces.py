"""Faces from labelled photos to train on beside FER2013 (in-the-wild faces such as ExpW's),
cut exactly as the app cuts a face for the classroom model, and split by the photo they come
from so that no photo has faces on both sides.

The labels are a CSV ``path,emotion,source_image`` (paths relative to the CSV; ``source_image``
names the photo a face was cut from, and falls back to the face's own path when absent).
A face goes to the held-out side when a hash of its source photo says so: the same photos are
held out by every run, the benchmarks and the tests, whatever the run's seed.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emotion_core.core.files import file_sha256
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.paths import MODELS_DIR
from emotion_core.evaluation.photos import LabelledPhoto, LabelsError
from emotion_core.training.fer2013 import FACE_SIZE, DatasetError, FaceSet

# the share of source photos held out for validation (and for measuring in the benchmarks)
HELD_OUT_PERCENT = 20
# cut faces are kept here between runs; change CROP_VERSION when the app's crop changes
CACHE_DIR = MODELS_DIR / "cache" / "photo_faces"
CROP_VERSION = 1


def is_held_out(source_image: str, percent: int = HELD_OUT_PERCENT) -> bool:
    """Whether the faces of this source photo are held out (a stable hash of its name)."""
    digest = hashlib.sha256(source_image.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def read_photo_labels(labels_csv: Path) -> list[tuple[LabelledPhoto, str]]:
    """(photo, its source photo's name) for each row of the 7 classes."""
    labels_csv = Path(labels_csv)
    if not labels_csv.is_file():
        raise DatasetError(f"labelled photos not found: {labels_csv}")
    with labels_csv.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not {"path", "emotion"} <= set(reader.fieldnames or ()):
            raise DatasetError(f"{labels_csv.name}: needs the columns path, emotion and source_image")
        rows = [
            (LabelledPhoto(labels_csv.parent / row["path"].strip(), row["emotion"].strip().lower()),
             (row.get("source_image") or row["path"]).strip())
            for row in reader
        ]
    rows = [(photo, source) for photo, source in rows if photo.emotion in EMOTIONS]
    if not rows:
        raise DatasetError(f"{labels_csv.name} lists no faces of the 7 classes")
    return rows


def split_photos(labels_csv: Path) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """(train, held_out) photos of ``labels_csv``, split by source photo."""
    rows = read_photo_labels(labels_csv)
    train = [photo for photo, source in rows if not is_held_out(source)]
    held_out = [photo for photo, source in rows if is_held_out(source)]
    return train, held_out


class _CropRecorder:
    """Stands in for the classroom model in the app's reading path and keeps the crops it is
    given, so the training faces are cut exactly as the model's faces are in analysis."""

    name = "crop-recorder"
    input_size = FACE_SIZE
    mirrors_itself = True  # no mirrored copies

    def __init__(self, crop_margin: float) -> None:
        self.crop_margin = crop_margin
        self.crops: list[np.ndarray] = []

    def predict(self, crops: np.ndarray) -> np.ndarray:
        self.crops.extend(np.asarray(crops, dtype=np.uint8))
        return np.full((len(crops), len(EMOTIONS)), 1 / len(EMOTIONS), np.float32)


def photo_faces(
    photos: list[LabelledPhoto],
    on_progress: Callable[[int, int], None] | None = None,
) -> FaceSet:
    """The main face of each photo as the app cuts it for the classroom model (MTCNN, eye
    alignment, the model's margin; a tight crop with no face found is read whole), 48×48 grey.
    Photos that cannot be read or show no face are left out."""
    from emotion_core.analysis.models import load_detector
    from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
    from emotion_core.evaluation.runner import read_photos
    from emotion_core.faces.mtcnn import MTCNNSettings

    recorder = _CropRecorder(ClassroomEmotionNet.crop_margin)
    # MTCNN, whose boxes the classroom model's crop margin was chosen on
    readings = read_photos(recorder, load_detector(MTCNNSettings()), photos,
                           on_progress=on_progress)
    labels = [EMOTIONS.index(r.photo.emotion) for r in readings
              if r.outcome in ("face", "whole_photo")]
    if len(labels) != len(recorder.crops):
        raise DatasetError(f"{len(recorder.crops)} crops for {len(labels)} faces read")
    if not labels:
        raise DatasetError("no face was found in the labelled photos")
    return FaceSet(np.stack(recorder.crops), np.asarray(labels, dtype=np.int64))


def _progress(done: int, total: int) -> None:
    if done == total or done % 512 == 0:
        print(f"cutting faces from labelled photos: {done}/{total}", file=sys.stderr, flush=True)


def load_photo_split(labels_csv: Path, show_progress: bool = True,
                     cache_dir: Path | None = CACHE_DIR) -> tuple[FaceSet, FaceSet]:
    """(train, held_out) faces of labelled photos with a source_image column; kept in
    ``cache_dir`` (under the labels file's sha256) so the next run need not cut them again."""
    cached = _cache_file(Path(labels_csv), cache_dir)
    if cached is not None and cached.is_file():
        with np.load(cached) as data:
            return (FaceSet(data["train_images"], data["train_labels"]),
                    FaceSet(data["held_images"], data["held_labels"]))
    train_set, held_set = _cut_photo_split(labels_csv, show_progress)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cached, train_images=train_set.images, train_labels=train_set.labels,
                            held_images=held_set.images, held_labels=held_set.labels)
    return train_set, held_set


def _cache_file(labels_csv: Path, cache_dir: Path | None) -> Path | None:
    if cache_dir is None or not labels_csv.is_file():
        return None
    key = f"{file_sha256(labels_csv)}-{HELD_OUT_PERCENT}-{CROP_VERSION}"
    return cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"


def _cut_photo_split(labels_csv: Path, show_progress: bool) -> tuple[FaceSet, FaceSet]:
    train, held_out = split_photos(labels_csv)
    if not train or not held_out:
        raise DatasetError(f"{Path(labels_csv).name}: too few source photos to hold some out")
    report = _progress if show_progress else None
    try:
        return photo_faces(train, report), photo_faces(held_out, report)
    except LabelsError as exc:
        raise DatasetError(str(exc)) from exc
