"""Our own emotion model: the committed ONNX file, and the torch training command run for real."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.env import PROJECT_ROOT, child_env
from support.training_runs import run_training, training_file_only

from emotion_core.core.files import file_sha256
from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.classroom_backend import CLASSROOM_MODEL_PATH, ClassroomEmotionNet
from emotion_core.training.config import Augmentation, TrainingConfig
from emotion_core.training.fer2013 import FaceSet, load_public_test, stratified_split
from emotion_core.training.loop import class_weights


@pytest.fixture(scope="module")
def classroom_model() -> ClassroomEmotionNet:
    return ClassroomEmotionNet()


def test_the_committed_model_matches_its_model_card() -> None:
    card = (CLASSROOM_MODEL_PATH.parent / "MODEL_CARD.md").read_text()
    (recorded,) = re.findall(r"sha256 of `model.onnx`: `([0-9a-f]{64})`", card)
    assert recorded == file_sha256(CLASSROOM_MODEL_PATH)
    log = json.loads((CLASSROOM_MODEL_PATH.parent / "training.json").read_text())
    assert log["model_sha256"] == recorded


def test_the_committed_model_gives_seven_probabilities_per_face(
    classroom_model: ClassroomEmotionNet,
) -> None:
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    p = classroom_model.predict(faces)
    assert p.shape == (5, len(EMOTIONS)) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert classroom_model.predict(faces[:0]).shape == (0, len(EMOTIONS))


def test_the_committed_model_reads_real_faces_far_above_chance(
    classroom_model: ClassroomEmotionNet, fer2013_dir: Path
) -> None:
    test = load_public_test(fer2013_dir)
    assert test is not None
    picked = test.subset(np.arange(0, len(test), 7))  # every 7th face: about 490
    predicted = classroom_model.predict(picked.images).argmax(axis=1)
    accuracy = float((predicted == picked.labels).mean())
    # chance is 1/7 (0.25 always answering 'happy'); the model card reports 0.69 on all of them
    assert accuracy > 0.6


def test_mirrored_faces_read_the_same(classroom_model: ClassroomEmotionNet,
                                      fer2013_dir: Path) -> None:
    """The graph averages each face with its mirror image, so a mirrored face reads the same."""
    test = load_public_test(fer2013_dir)
    assert test is not None
    faces = test.images[:64]
    np.testing.assert_allclose(
        classroom_model.predict(faces), classroom_model.predict(faces[:, :, ::-1].copy()),
        atol=1e-5,
    )


def test_the_command_line_loads_no_torch() -> None:
    """torch is for training only: every command builds the same parser, which names the
    training options, and must not pay for torch (seconds, and memory in every analysis)."""
    probe = ("import sys; from emotion_core.cli.main import build_parser; build_parser(); "
             "import emotion_core.training.average, emotion_core.training.net_import; "
             "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip() == "False"


def test_class_weights_favour_rare_classes_and_average_one() -> None:
    counts = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965])
    w = class_weights(counts, 0.5)
    assert w.argmax() == 1 and w.argmin() == 3  # disgust weighs most, happy least
    assert (w * counts).sum() / counts.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(class_weights(counts, 0.0), 1.0)


def test_the_validation_split_is_stratified_and_disjoint() -> None:
    labels = np.repeat(np.arange(7), [400, 40, 400, 700, 480, 310, 500])
    images = np.arange(len(labels), dtype=np.int64)[:, None, None] * np.ones((1, 48, 48), np.int64)
    faces = FaceSet(images.astype(np.uint8), labels)
    rest, held = stratified_split(faces, 0.1, seed=3)
    assert len(rest) + len(held) == len(faces)
    np.testing.assert_array_equal(held.class_counts(), np.round(faces.class_counts() * 0.1))
    _, again_held = stratified_split(faces, 0.1, seed=3)
    np.testing.assert_array_equal(held.labels, again_held.labels)


def test_augmentation_keeps_shape_and_range_and_follows_the_seed() -> None:
    import torch

    from emotion_core.training.augment import augment

    x = torch.linspace(0, 255, 8 * 48 * 48).reshape(8, 1, 48, 48)
    a = augment(x, Augmentation(), torch.Generator().manual_seed(1))
    b = augment(x, Augmentation(), torch.Generator().manual_seed(1))
    c = augment(x, Augmentation(), torch.Generator().manual_seed(2))
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 255
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        TrainingConfig(data=Path("."), out=Path("."), limit=10)
    with pytest.raises(ValueError, match="validation fraction"):
        TrainingConfig(data=Path("."), out=Path("."), val_fraction=0.7)


@pytest.mark.subprocess
def test_training_runs_end_to_end_on_a_tiny_subset(fer2013_dir: Path, tmp_path: Path) -> None:
    data = training_file_only(fer2013_dir, tmp_path)
    out = tmp_path / "model"
    done = run_training("--data", data, "--out", out, "--limit", 300, "--epochs", 1,
                        "--no-progress", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["model"] == str(out / "model.onnx")
    log = json.loads((out / "training.json").read_text())
    assert log["epochs_run"] == 1 and len(log["history"]) == 1
    assert log["train_faces"] + log["val_faces"] == pytest.approx(300, abs=7)
    assert log["public_test"] is None
    assert file_sha256(out / "model.onnx") in (out / "MODEL_CARD.md").read_text()
    assert "train-emotion --data" in (out / "MODEL_CARD.md").read_text()
    # the exported file works through the app's backend, like the committed model
    trained = ClassroomEmotionNet(out / "model.onnx")
    p = trained.predict(np.full((3, 48, 48), 128, np.uint8))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.subprocess
def test_training_without_data_is_one_clear_error(tmp_path: Path) -> None:
    done = run_training("--data", tmp_path / "nowhere", "--out", tmp_path / "out", "--epochs", 1)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: FER2013 training file not found")
    assert not (tmp_path / "out").exists()


@pytest.mark.subprocess
def test_training_goes_on_from_an_earlier_run(fer2013_dir: Path, tmp_path: Path) -> None:
    data = training_file_only(fer2013_dir, tmp_path)
    first = tmp_path / "first"
    common = ("--data", data, "--limit", 300, "--no-progress", "--device", "cpu")
    done = run_training(*common, "--out", first, "--epochs", 1)
    assert done.returncode == 0, done.stderr
    faces = load_public_test(fer2013_dir)
    assert faces is not None
    sample = faces.images[:50]
    before = ClassroomEmotionNet(first / "model.onnx").predict(sample)

    # at a vanishing learning rate the run hands back the network it started from
    still = tmp_path / "still"
    done = run_training(*common, "--out", still, "--epochs", 1, "--init-from",
                        first / "model.onnx", "--lr", "1e-9")
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(ClassroomEmotionNet(still / "model.onnx").predict(sample), before,
                               atol=1e-4)

    # weight averaging: the warm-up epoch, then two epochs averaged; the log names the start
    averaged = tmp_path / "averaged"
    done = run_training(*common, "--out", averaged, "--epochs", 3, "--warmup-epochs", 1,
                        "--init-from", first / "model.onnx", "--average-weights", "--lr", "0.1")
    assert done.returncode == 0, done.stderr
    log = json.loads((averaged / "training.json").read_text())
    assert log["config"]["average_weights"] is True and len(log["history"]) == 3
    assert log["init"]["sha256"] == file_sha256(first / "model.onnx")
    assert log["init"]["training"]["model_sha256"] == log["init"]["sha256"]
    card = (averaged / "MODEL_CARD.md").read_text()
    assert "went on training" in card and log["init"]["sha256"] in card
    after = ClassroomEmotionNet(averaged / "model.onnx").predict(sample)
    assert np.abs(after - before).max() > 1e-3  # it did train

    # a run that would validate on faces the earlier run trained on is refused, nothing written
    refused = tmp_path / "refused"
    done = run_training("--data", data, "--limit", 400, "--no-progress", "--out", refused,
                        "--epochs", 1, "--init-from", first / "model.onnx")
    assert done.returncode == 2 and "held out other faces for validation" in done.stderr
    assert not refused.exists()
    (first / "training.json").unlink()
    done = run_training(*common, "--out", refused, "--epochs", 1, "--init-from",
                        first / "model.onnx")
    assert done.returncode == 2 and "has no training.json beside it" in done.stderr
    assert not refused.exists()


@pytest.mark.subprocess
def test_training_learns_from_an_earlier_runs_readings(fer2013_dir: Path, tmp_path: Path) -> None:
    data = training_file_only(fer2013_dir, tmp_path)
    common = ("--data", data, "--limit", 300, "--no-progress", "--device", "cpu", "--epochs", 1)
    teacher = tmp_path / "teacher"
    assert run_training(*common, "--out", teacher).returncode == 0

    student = tmp_path / "student"
    done = run_training(*common, "--out", student, "--distil-from", teacher / "model.onnx",
                        "--distil-weight", "0.8", "--distil-zooms", "1.1")
    assert done.returncode == 0, done.stderr
    assert "reading 27" in done.stderr and "(zooms 1.1)" in done.stderr
    log = json.loads((student / "training.json").read_text())
    assert log["config"]["distil_weight"] == 0.8 and log["config"]["distil_zooms"] == [1.1]
    assert log["teacher"]["sha256"] == file_sha256(teacher / "model.onnx")
    # the teacher's averaged readings were scored on the student's own validation faces
    assert log["teacher"]["validation"]["per_class"]["happy"]["support"] == \
        log["validation"]["per_class"]["happy"]["support"]
    card = (student / "MODEL_CARD.md").read_text()
    assert "It learnt from" in card and log["teacher"]["sha256"] in card
    ClassroomEmotionNet(student / "model.onnx")  # loads through the app's backend

    # a teacher that trained on this run's validation faces is refused, nothing written
    refused = tmp_path / "refused"
    done = run_training("--data", data, "--limit", 400, "--no-progress", "--out", refused,
                        "--epochs", 1, "--distil-from", teacher / "model.onnx")
    assert done.returncode == 2 and "held out other faces for validation" in done.stderr
    assert not refused.exists()
    done = run_training(*common, "--out", refused, "--distil-from", teacher / "model.onnx",
                        "--distil-zooms", "big")
    assert done.returncode == 2 and "zooms must be numbers" in done.stderr
    done = run_training(*common, "--out", refused, "--distil-from", teacher / "model.onnx",
                        "--distil-weight", "0")
    assert done.returncode == 2 and "--distil-weight must be" in done.stderr
    assert not refused.exists()
