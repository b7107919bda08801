"""Reading the FER2013 set: the training faces (one .npz) and the public test set (a folder).

The layout is the one under ``../shared/data/fer2013`` (see its PROVENANCE.md):
``fer2013_train.npz`` with ``images`` (N, 48, 48) uint8, ``labels`` (N,) uint8 and
``label_names``; ``public_test/labels.csv`` with ``path,subject,emotion`` and the photos in one
folder per emotion. The images are never copied into this project.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.labels import EMOTIONS

TRAIN_FILE = "fer2013_train.npz"
PUBLIC_TEST_DIR = "public_test"
FACE_SIZE = 48


class DatasetError(ClassroomMoodError, ValueError):
    """The data folder does not hold FER2013 as expected; the message is meant for the user."""


@dataclass(frozen=True)
class FaceSet:
    """Grey faces (N, 48, 48) uint8 and their labels (N,) as indices into ``EMOTIONS``."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise DatasetError(f"faces must be (N, 48, 48), got {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DatasetError(f"{len(self.images)} faces but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> FaceSet:
        return FaceSet(self.images[index], self.labels[index])

    def joined(self, *others: FaceSet) -> FaceSet:
        """These faces, then the others'."""
        sets = (self, *others)
        return FaceSet(np.concatenate([s.images for s in sets]),
                       np.concatenate([s.labels for s in sets]))

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(EMOTIONS))


def load_training_set(data_dir: Path) -> FaceSet:
    path = Path(data_dir) / TRAIN_FILE
    if not path.is_file():
        raise DatasetError(f"FER2013 training file not found: {path}")
    try:
        with np.load(path) as data:
            images, labels, names = data["images"], data["labels"], data["label_names"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path} is not a FER2013 .npz with images, labels, label_names: {exc}")
    names = [str(n) for n in names]
    if sorted(names) != sorted(EMOTIONS):
        raise DatasetError(f"{path} has labels {names}, expected the 7 FER2013 classes")
    # re-index into our order (the file's order happens to be the same today)
    remap = np.array([EMOTIONS.index(n) for n in names], dtype=np.int64)
    return FaceSet(np.ascontiguousarray(images, dtype=np.uint8), remap[labels.astype(np.int64)])


def load_public_test(data_dir: Path) -> FaceSet | None:
    """The public test set, or None when the folder is absent."""
    folder = Path(data_dir) / PUBLIC_TEST_DIR
    labels_csv = folder / "labels.csv"
    if not labels_csv.is_file():
        return None
    images, labels = [], []
    with labels_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["emotion"] not in EMOTIONS:
                continue
            image = cv2.imread(str(folder / row["path"]), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise DatasetError(f"cannot read {folder / row['path']}")
            if image.shape != (FACE_SIZE, FACE_SIZE):
                image = cv2.resize(image, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
            images.append(image)
            labels.append(EMOTIONS.index(row["emotion"]))
    if not images:
        raise DatasetError(f"{labels_csv} lists no faces of the 7 classes")
    return FaceSet(np.stack(images), np.asarray(labels, dtype=np.int64))


def stratified_split(
    faces: FaceSet, fraction: float, seed: int
) -> tuple[FaceSet, FaceSet]:
    """(rest, held_out): ``fraction`` of each class held out, chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    held = []
    for label in range(len(EMOTIONS)):
        members = np.flatnonzero(faces.labels == label)
        rng.shuffle(members)
        held.append(members[: round(len(members) * fraction)])
    held_out = np.sort(np.concatenate(held))
    rest = np.setdiff1d(np.arange(len(faces)), held_out)
    return faces.subset(rest), faces.subset(held_out)


def stratified_sample(faces: FaceSet, size: int, seed: int) -> FaceSet:
    """About ``size`` faces with the class proportions of ``faces`` (every class kept)."""
    if size >= len(faces):
        return faces
    _, sample = stratified_split(faces, size / len(faces), seed)
    return sample


def training_split(
    data_dir: Path, val_fraction: float, seed: int, limit: int | None = None
) -> tuple[FaceSet, FaceSet]:
    """(train, validation) of the FER2013 training file as a training run splits it: about
    ``limit`` faces of it when given, then ``val_fraction`` of each class held out, both chosen
    with ``seed``. Runs with the same three settings hold out the same faces."""
    everything = load_training_set(data_dir)
    if limit:
        everything = stratified_sample(everything, limit, seed)
    return stratified_split(everything, val_fraction, seed)
