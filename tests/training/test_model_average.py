"""Averaging trained emotion models into one ONNX graph (``emotion_core.training.average``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.env import PROJECT_ROOT, SHARED_DATA, child_env

from emotion_core.core.files import file_sha256
from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.training.average import AverageError, average_models

FER2013 = SHARED_DATA / "fer2013"


def _exported_net(path: Path, seed: int) -> Path:
    """A small untrained network, exported by the training code's own ``export_onnx``."""
    import torch

    from emotion_core.training.export import export_onnx
    from emotion_core.training.net import EmotionNet, NetShape

    torch.manual_seed(seed)
    net = EmotionNet(NetShape(stem=8, stages=(8, 16, 32), blocks=1))
    # each block's last batch norm starts at zero (the block is the identity): give the blocks
    # weights, so that the two networks differ all through
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
    export_onnx(net.eval(), True, path)
    return path


def _run(path: Path, faces: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"faces": faces.astype(np.float32)})[0]


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("members")
    return [_exported_net(folder / f"m{seed}.onnx", seed) for seed in (1, 2)]


@pytest.mark.parametrize("half_weights, tolerance", [(False, 1e-6), (True, 2e-3)])
def test_the_average_reads_the_mean_of_its_members(
    members: list[Path], tmp_path: Path, half_weights: bool, tolerance: float
) -> None:
    import onnx

    faces = np.random.default_rng(0).integers(0, 256, (16, 48, 48)).astype(np.uint8)
    alone = [_run(p, faces) for p in members]
    assert np.abs(alone[0] - alone[1]).max() > 1e-3  # two different networks
    averaged = tmp_path / "average.onnx"
    onnx.save(average_models([onnx.load(str(p)) for p in members], half_weights), str(averaged))
    np.testing.assert_allclose(_run(averaged, faces), (alone[0] + alone[1]) / 2, atol=tolerance)
    # and it is an emotion model the app can load as it loads ours
    p = ClassroomEmotionNet(averaged).predict(faces)
    assert p.shape == (16, len(EMOTIONS))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_float16_weights_halve_the_file(members: list[Path], tmp_path: Path) -> None:
    import onnx

    protos = [onnx.load(str(p)) for p in members]
    full, half = tmp_path / "full.onnx", tmp_path / "half.onnx"
    onnx.save(average_models(protos, half_weights=False), str(full))
    onnx.save(average_models(protos, half_weights=True), str(half))
    assert half.stat().st_size < 0.6 * full.stat().st_size


def test_one_model_or_another_interface_is_refused(members: list[Path]) -> None:
    import onnx
    from onnx import TensorProto, helper

    with pytest.raises(AverageError, match="at least two"):
        average_models([onnx.load(str(members[0]))])

    from emotion_core.training.average import _load_member

    other = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    ))
    path = members[0].parent / "other.onnx"
    onnx.save(other, str(path))
    with pytest.raises(AverageError, match="an emotion model takes"):
        _load_member(path)
    path.write_bytes(b"not a model")
    with pytest.raises(AverageError, match="is not an ONNX model"):
        _load_member(path)


def run_cli(command: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emotion_core", command, *map(str, args)],
        cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (FER2013 / "fer2013_train.npz").is_file():
        pytest.skip(f"FER2013 not found at {FER2013} (the shared test data is not on this machine)")
    # the training file alone: the runs then measure only their validation split
    data = tmp_path_factory.mktemp("fer2013")
    (data / "fer2013_train.npz").symlink_to(FER2013 / "fer2013_train.npz")
    return data


@pytest.mark.subprocess
def test_two_trained_members_average_end_to_end(tiny_data: Path, tmp_path: Path) -> None:
    runs = []
    for stages in ("8,16,32", "16,32,64"):
        out = tmp_path / f"run{len(runs)}"
        # two shapes, the same --limit and --seed: the members hold out the same faces
        done = run_cli("train-emotion", "--data", tiny_data, "--out", out, "--limit", 300,
                       "--epochs", 1, "--no-progress", "--device", "cpu", "--stages", stages,
                       "--blocks", 1)
        assert done.returncode == 0, done.stderr
        runs.append(out)
    out = tmp_path / "average"
    done = run_cli("average-emotion", runs[0] / "model.onnx", runs[1] / "model.onnx",
                   "--data", tiny_data, "--out", out)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["model"] == str(out / "model.onnx")
    log = json.loads((out / "training.json").read_text())
    assert log["model_sha256"] == file_sha256(out / "model.onnx")
    assert [m["sha256"] for m in log["members"]] == [file_sha256(r / "model.onnx") for r in runs]
    assert log["public_test"] is None and 0 <= log["validation"]["accuracy"] <= 1
    card = (out / "MODEL_CARD.md").read_text()
    assert file_sha256(out / "model.onnx") in card and "average-emotion" in card
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48)).astype(np.uint8)
    alone = [ClassroomEmotionNet(r / "model.onnx").predict(faces) for r in runs]
    np.testing.assert_allclose(ClassroomEmotionNet(out / "model.onnx").predict(faces),
                               (alone[0] + alone[1]) / 2, atol=2e-3)


@pytest.mark.subprocess
def test_members_that_held_out_other_faces_are_refused(members: list[Path], tmp_path: Path) -> None:
    folders = []
    for k, (member, limit) in enumerate(zip(members, (300, 400))):
        folder = tmp_path / f"m{k}"
        folder.mkdir()
        shutil.copy(member, folder / "model.onnx")
        (folder / "training.json").write_text(json.dumps(
            {"config": {"seed": 0, "val_fraction": 0.1, "limit": limit}}))
        folders.append(folder)
    out = tmp_path / "average"
    done = run_cli("average-emotion", folders[0] / "model.onnx", folders[1] / "model.onnx",
                   "--data", tmp_path / "nowhere", "--out", out)
    assert done.returncode == 2
    assert "held out other faces for validation" in done.stderr
    assert not out.exists()
    # a member without its training log, and the average written over a member, are refused too
    (folders[1] / "training.json").unlink()
    done = run_cli("average-emotion", folders[0] / "model.onnx", folders[1] / "model.onnx",
                   "--data", tmp_path / "nowhere", "--out", out)
    assert done.returncode == 2 and "has no training.json beside it" in done.stderr
    done = run_cli("average-emotion", folders[0] / "model.onnx", folders[1] / "model.onnx",
                   "--data", tmp_path / "nowhere", "--out", folders[0])
    assert done.returncode == 2 and "would be overwritten" in done.stderr
    # members that fit, but no data to measure the average on: one error, nothing written
    (folders[1] / "training.json").write_text((folders[0] / "training.json").read_text())
    done = run_cli("average-emotion", folders[0] / "model.onnx", folders[1] / "model.onnx",
                   "--data", tmp_path / "nowhere", "--out", out)
    assert done.returncode == 2 and "FER2013 training file not found" in done.stderr
    assert not out.exists()
