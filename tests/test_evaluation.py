"""Evaluation on labelled photos: the metrics by hand-checkable cases, and a real run on JAFFE."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotion_core.detection import MTCNNDetector
from emotion_core.emotion import EMOTIONS, EmotionModel
from emotion_core.evaluation import classification_metrics, evaluate, prepare_photo
from emotion_core.labelled_photos import read_labels
from tests.conftest import PROJECT_ROOT, child_env


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
