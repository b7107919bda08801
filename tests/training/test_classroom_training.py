"""Training for classroom faces (issue 18): the camera's degradations, labelled photos split by
source photo, calibration by a temperature, and a run with all of them end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.env import SHARED_DATA
from support.training_runs import run_training, training_file_only

from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.training.calibration import at_height, fit_temperature, read_with_temperature
from emotion_core.training.config import CLASSROOM_AUGMENTATION, Augmentation
from emotion_core.training.fer2013 import load_public_test
from emotion_core.training.photo_faces import HELD_OUT_PERCENT, is_held_out, read_photo_labels

EXPW = SHARED_DATA / "faces" / "expw_dev" / "labels.csv"


@pytest.fixture(scope="module")
def expw_labels() -> Path:
    if not EXPW.is_file():
        pytest.skip(f"expw_dev not found at {EXPW} (the shared test data is not on this machine)")
    return EXPW


@pytest.fixture(scope="module")
def real_faces(fer2013_dir: Path) -> np.ndarray:
    test = load_public_test(fer2013_dir)
    assert test is not None
    return test.images[:32]


def detail(faces: np.ndarray) -> float:
    """Mean variance of the Laplacian: how much fine detail grey faces hold."""
    return float(np.mean([cv2.Laplacian(f.astype(np.float32), cv2.CV_32F).var() for f in faces]))


def test_a_face_seen_at_ten_pixels_loses_its_detail_and_keeps_its_size(real_faces: np.ndarray) -> None:
    import torch

    from emotion_core.training.augment import degrade

    x = torch.from_numpy(real_faces).float().unsqueeze(1)
    tiny = Augmentation(low_resolution=1.0, low_resolution_px=(10, 10))
    seen = degrade(x, tiny, torch.Generator().manual_seed(0))
    assert seen.shape == x.shape and float(seen.min()) >= 0 and float(seen.max()) <= 255
    assert detail(seen[:, 0].numpy()) < 0.2 * detail(real_faces)
    # the same seed, the same faces; a face left alone is unchanged
    again = degrade(x, tiny, torch.Generator().manual_seed(0))
    assert torch.equal(seen, again)
    untouched = degrade(x, Augmentation(low_resolution=0.0001), torch.Generator().manual_seed(0))
    assert torch.equal(untouched, x)


def test_the_classroom_augmentation_degrades_some_faces_and_spares_others(real_faces: np.ndarray) -> None:
    import torch

    from emotion_core.training.augment import augment

    x = torch.from_numpy(real_faces).float().unsqueeze(1)
    a = augment(x, CLASSROOM_AUGMENTATION, torch.Generator().manual_seed(1))
    b = augment(x, CLASSROOM_AUGMENTATION, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape
    assert float(a.min()) >= 0 and float(a.max()) <= 255
    kept = [detail(f) for f in a[:, 0].numpy()]
    # some faces come out far blurrier than any FER2013 face, others keep most of their detail
    assert min(kept) < 0.1 * detail(real_faces) < max(kept)


def test_a_turn_out_of_the_picture_narrows_the_face() -> None:
    import torch
    import torch.nn.functional as F

    from emotion_core.training.augment import _turned

    grid = F.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 1, 48, 48], align_corners=False)
    same = _turned(grid, torch.zeros(1), torch.zeros(1))
    torch.testing.assert_close(same, grid)
    turned = _turned(grid, torch.tensor([30.0]), torch.zeros(1))
    # the output samples a wider span of the input: the face looks narrower, and one side more so
    left, right = turned[0, 24, 0, 0].item(), turned[0, 24, -1, 0].item()
    assert right - left > 2.0
    assert abs(left) != pytest.approx(abs(right), abs=0.05)


def test_labelled_photos_are_split_by_the_photo_they_come_from(expw_labels: Path) -> None:
    rows = read_photo_labels(expw_labels)
    held = {source for _, source in rows if is_held_out(source)}
    trained = {source for _, source in rows if not is_held_out(source)}
    assert held and trained and not held & trained
    share = len(held) / (len(held) + len(trained))
    assert abs(share - HELD_OUT_PERCENT / 100) < 0.04


def test_the_fitted_temperature_recovers_the_one_the_labels_were_drawn_with() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20000, 7))
    truth = read_with_temperature(logits, logits, 2.0)
    labels = np.array([rng.choice(7, p=p) for p in truth])
    assert fit_temperature(logits, logits, labels) == pytest.approx(2.0, rel=0.1)


def test_a_face_at_its_own_height_is_left_alone_and_a_smaller_one_keeps_its_size(
    real_faces: np.ndarray,
) -> None:
    assert at_height(real_faces, 48) is real_faces
    small = at_height(real_faces, 16)
    assert small.shape == real_faces.shape and detail(small) < detail(real_faces)


def tiny_photo_labels(expw_labels: Path, folder: Path) -> Path:
    """A labels CSV of 24 training and 8 held-out ExpW faces (paths to the shared files)."""
    rows = read_photo_labels(expw_labels)
    train = [r for r in rows if not is_held_out(r[1])][:24]
    held = [r for r in rows if is_held_out(r[1])][:8]
    path = folder / "photos.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "emotion", "source_image"])
        for photo, source in train + held:
            writer.writerow([photo.path.resolve(), photo.emotion, source])
    return path


@pytest.mark.subprocess
def test_a_classroom_training_run_goes_end_to_end_on_a_tiny_subset(
    fer2013_dir: Path, expw_labels: Path, tmp_path: Path
) -> None:
    data = training_file_only(fer2013_dir, tmp_path)
    out = tmp_path / "model"
    done = run_training("--data", data, "--out", out, "--limit", 300, "--epochs", 1,
                        "--no-progress", "--device", "cpu", "--augment", "classroom",
                        "--photos", tiny_photo_labels(expw_labels, tmp_path),
                        "--val-heights", "48,16", "--calibrate")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    log = json.loads((out / "training.json").read_text())
    assert log["config"]["augmentation"]["low_resolution"] == CLASSROOM_AUGMENTATION.low_resolution
    assert summary["temperature"] == log["temperature"] > 0
    assert set(log["calibration"]["ece_after"]) == {"48", "16"}
    # the held-out photos were read and scored, not trained on
    assert sum(r["support"] for r in log["held_out_photos"]["per_class"].values()) == 8
    assert log["val_faces"] > 0 and log["train_faces"] > 24 * 2
    card = (out / "MODEL_CARD.md").read_text()
    assert "non-commercial research only" in card and f"{log['temperature']:.3f}" in card
    p = ClassroomEmotionNet(out / "model.onnx").predict(np.full((2, 48, 48), 128, np.uint8))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.subprocess
def test_photos_without_their_columns_are_one_clear_error(
    fer2013_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "photos.csv"
    bad.write_text("file,label\na.jpg,happy\n")
    done = run_training("--data", training_file_only(fer2013_dir, tmp_path), "--out",
                        tmp_path / "out", "--limit", 300, "--epochs", 1, "--photos", bad)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: photos.csv: needs the columns")
