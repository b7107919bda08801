"""Evaluation on labelled photos: the metrics by hand-checkable cases, and a real run on JAFFE."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.env import PROJECT_ROOT, child_env

from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces
from emotion_core.emotion.model import EmotionModel
from emotion_core.evaluation.photos import LabelledPhoto, read_labels
from emotion_core.evaluation.runner import (
    PhotoReading,
    classification_metrics,
    evaluate,
    prepare_photo,
    read_photos,
    report_of,
    whole_photo_face,
)
from emotion_core.faces.mtcnn import MTCNNDetector


def test_metrics_of_a_small_case_worked_by_hand() -> None:
    true = ["happy", "happy", "sad", "sad", "angry"]
    pred = ["happy", "sad", "sad", "sad", "happy"]
    m = classification_metrics(true, pred)
    assert m["accuracy"] == pytest.approx(3 / 5)
    happy, sad, angry = (m["per_class"][k] for k in ("happy", "sad", "angry"))
    assert (happy["precision"], happy["recall"], happy["support"]) == (0.5, 0.5, 2)
    assert sad["precision"] == pytest.approx(2 / 3) and sad["recall"] == 1.0
    assert angry["precision"] == 0.0 and angry["recall"] == 0.0
    assert sad["f1"] == pytest.approx(0.8)
    # macro over the three classes present; weighted by support
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert m["averages"]["weighted"]["f1"] == pytest.approx((2 * 0.5 + 2 * 0.8) / 5)
    confusion = np.array(m["confusion"])
    assert confusion.sum() == 5 and confusion.trace() == 3
    assert confusion[EMOTIONS.index("angry"), EMOTIONS.index("happy")] == 1


def test_tight_crops_get_room_for_the_detector() -> None:
    prepared = prepare_photo(np.zeros((48, 48, 3), np.uint8))
    assert min(prepared.shape[:2]) >= 160


def _jaffe_subset(jaffe_dir: Path, folder: Path, every: int = 10) -> Path:
    with (jaffe_dir / "labels.csv").open() as fh:
        rows = list(csv.DictReader(fh))[::every]
    out = folder / "labels.csv"
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "subject", "emotion"])
        writer.writerows([[str(jaffe_dir / r["path"]), r["subject"], r["emotion"]] for r in rows])
        writer.writerow([str(folder / "not_an_image.txt"), "X", "contempt"])
        writer.writerow([str(jaffe_dir / rows[0]["path"]), "X", "contempt"])
    (folder / "not_an_image.txt").write_text("hello")
    return out


def test_real_photos_are_found_classified_and_counted(
    jaffe_dir: Path, tmp_path: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    photos = read_labels(_jaffe_subset(jaffe_dir, tmp_path))
    report = evaluate(fer_model, detector, photos)
    assert report.n == len(photos) - 2  # the two contempt rows are not part of the 7-way task
    assert report.no_face == 0 and report.unreadable == 1
    assert sum(report.other_labels["contempt"].values()) == 1
    assert np.array(report.confusion).sum() == report.n
    assert report.accuracy > 1 / 7  # better than chance on posed expressions


def test_cli_prints_json(jaffe_dir: Path, tmp_path: Path) -> None:
    labels = _jaffe_subset(jaffe_dir, tmp_path, every=30)
    done = subprocess.run(
        [sys.executable, "-m", "emotion_core", "evaluate", str(labels), "--model", "fer", "--json"],
        capture_output=True, text=True, env=child_env(), cwd=PROJECT_ROOT, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    report = json.loads(line)
    for key in ("model", "n", "accuracy", "macro_f1", "per_class", "confusion", "labels", "no_face"):
        assert key in report
    assert report["model"] == "fer" and report["labels"] == list(EMOTIONS)


class FindsOnlyWithRoom:
    """A detector that finds a face only in images at least ``min_side`` px on their shorter
    side (as MTCNN finds a face that fills its photo only once there is room around it), and
    records the sizes it was asked about."""

    name = "finds-with-room"
    description = "finds a centred face only in large images (tests)"

    def __init__(self, min_side: int) -> None:
        self.min_side = min_side
        self.calls: list[list[tuple[int, ...]]] = []

    def detect(self, frames):  # type: ignore[no-untyped-def]
        self.calls.append([f.image.shape for f in frames])
        found = []
        for frame in frames:
            height, width = frame.image.shape[:2]
            if min(height, width) < self.min_side:
                found.append(Faces.empty(frame))
                continue
            box = np.array([[width * 0.4, height * 0.4, width * 0.6, height * 0.6]], np.float32)
            found.append(Faces(frame.index, frame.time_s, box, np.ones(1, np.float32),
                               np.zeros((1, 5, 2), np.float32)))
        return found


class Constant:
    """An emotion model that reads every face as ``emotion``."""

    name = "constant"
    description = "constant (tests)"
    input_size = 8
    crop_margin = 0.0

    def __init__(self, emotion: str) -> None:
        self.row = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]

    def predict(self, crops: np.ndarray) -> np.ndarray:
        return np.tile(self.row, (len(crops), 1))


def photo_set(folder: Path, sizes: list[tuple[int, int]]) -> list[LabelledPhoto]:
    photos = []
    for i, (height, width) in enumerate(sizes):
        path = folder / f"photo{i}.png"
        cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))
        photos.append(LabelledPhoto(path, "happy"))
    return photos


def test_photos_of_one_size_are_detected_together(tmp_path: Path) -> None:
    detector = FindsOnlyWithRoom(min_side=0)
    photos = photo_set(tmp_path, [(200, 200), (200, 200), (300, 200), (200, 200)])
    readings = read_photos(Constant("happy"), detector, photos, batch_photos=16)
    assert [r.outcome for r in readings] == ["face"] * 4
    assert sorted(len(call) for call in detector.calls) == [1, 3], "one call per size"


def test_a_second_look_with_room_around_the_photo(tmp_path: Path) -> None:
    # prepared photos are 240 px (160 + a border); only the zoomed-out look is large enough
    detector = FindsOnlyWithRoom(min_side=300)
    photos = photo_set(tmp_path, [(160, 160)])
    (reading,) = read_photos(Constant("happy"), detector, photos)
    assert reading.outcome == "face" and reading.predicted == "happy"
    (missed,) = read_photos(Constant("happy"), detector, photos, second_look=False,
                            whole_tight_crops=False)
    assert missed.outcome == "no_face" and missed.predicted is None


def test_tight_crops_without_a_face_are_read_whole_and_counted_apart(tmp_path: Path) -> None:
    detector = FindsOnlyWithRoom(min_side=10_000)  # never finds a face
    photos = photo_set(tmp_path, [(160, 160), (160, 320)])  # a tight crop; a wide photo
    report = evaluate(Constant("happy"), detector, photos)
    assert (report.n, report.whole_photo, report.no_face) == (1, 1, 1)
    assert report.accuracy == 1.0
    strict = evaluate(Constant("happy"), detector, photos, whole_tight_crops=False)
    assert (strict.n, strict.whole_photo, strict.no_face) == (0, 0, 2)


def test_whole_photo_box_is_the_photo_inside_its_border() -> None:
    photo = np.zeros((100, 120, 3), np.uint8)
    prepared = prepare_photo(photo)
    (box,) = whole_photo_face(prepared, photo.shape, 0).boxes
    height, width = prepared.shape[:2]
    pad = (height - 160) // 2
    np.testing.assert_allclose(box, [pad, pad, width - pad, height - pad], atol=1)


def test_report_tables_for_the_page() -> None:
    photos = [LabelledPhoto(Path(f"{i}.png"), e) for i, e in enumerate(["happy", "sad", "sad"])]
    probabilities = np.eye(7, dtype=np.float32)[[EMOTIONS.index("happy")] * 3]
    readings = [PhotoReading(p, "face", row) for p, row in zip(photos, probabilities)]
    report = report_of("constant", readings)
    table = report.per_class_table()
    assert list(table["class"][:7]) == list(EMOTIONS)
    assert list(table["class"][7:]) == ["micro average", "macro average", "weighted average"]
    confusion = report.confusion_table()
    assert len(confusion) == 49
    sad_as_happy = confusion[(confusion["true"] == "sad") & (confusion["predicted"] == "happy")]
    assert sad_as_happy["count"].item() == 2 and sad_as_happy["share_of_true"].item() == 1.0
    assert confusion["share_of_true"][confusion["true"] == "angry"].sum() == 0  # no angry photos


def test_cli_refuses_an_unsafe_zip_with_one_line(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.jpg", b"x")
    done = subprocess.run(
        [sys.executable, "-m", "emotion_core", "evaluate", str(archive)],
        capture_output=True, text=True, env=child_env(), cwd=PROJECT_ROOT, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: the zip holds an unsafe path")
    assert not (tmp_path.parent / "escape.jpg").exists()
