"""An exported emotion network read back into torch (``net_import``) and the running mean of
weights (``weight_average.WeightAverage``): real torch networks and the committed ONNX file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_core.emotion.classroom_backend import CLASSROOM_MODEL_PATH, ClassroomEmotionNet
from emotion_core.training.augment import normalise
from emotion_core.training.export import export_onnx
from emotion_core.training.measure import predict
from emotion_core.training.net import EmotionNet, NetShape
from emotion_core.training.net_import import NetImportError, load_exported, restore_batch_norms
from emotion_core.training.weight_average import WeightAverage

SMALL = NetShape(stem=8, stages=(8, 16, 16), blocks=1)


def _faces(n: int) -> np.ndarray:
    """Grey test faces with structure (a blurred random field), not flat noise."""
    import cv2

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (n, 12, 12)).astype(np.float32)
    return np.stack([cv2.resize(f, (48, 48), interpolation=cv2.INTER_CUBIC) for f in small]
                    ).clip(0, 255).astype(np.uint8)


def test_the_committed_model_reads_back_into_torch_exactly() -> None:
    net = load_exported(CLASSROOM_MODEL_PATH, NetShape())
    faces = _faces(40)
    ours = predict(net, faces, torch.device("cpu"), standardise=True, flip=True)
    shipped = ClassroomEmotionNet().predict(faces)
    np.testing.assert_allclose(ours, shipped, atol=2e-5)
    assert (ours.argmax(1) == shipped.argmax(1)).all()


def test_a_trained_network_survives_export_and_import(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = EmotionNet(SMALL)
    # batch norms with statistics of their own, as after training, so that folding them matters
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    path = tmp_path / "model.onnx"
    export_onnx(net, True, path)
    back = load_exported(path, SMALL)
    faces = _faces(16)
    cpu = torch.device("cpu")
    np.testing.assert_allclose(predict(back, faces, cpu, True), predict(net, faces, cpu, True),
                               atol=1e-5)


def test_a_network_of_another_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NetImportError, match="--stages and --blocks"):
        load_exported(CLASSROOM_MODEL_PATH, NetShape(stages=(32, 64, 128)))
    not_a_model = tmp_path / "model.onnx"
    not_a_model.write_bytes(b"not onnx")
    with pytest.raises(NetImportError, match="not an ONNX model"):
        load_exported(not_a_model, NetShape())


def test_restored_batch_norms_change_nothing_and_fit_the_reference_batch() -> None:
    net = load_exported(CLASSROOM_MODEL_PATH, NetShape())
    faces = _faces(64)
    cpu = torch.device("cpu")
    before = predict(net, faces, cpu, True)
    x = normalise(torch.from_numpy(faces).float().unsqueeze(1), True)
    restore_batch_norms(net, x, batch_size=16)
    # eval mode: the same function as the exported file
    np.testing.assert_allclose(predict(net, faces, cpu, True), before, atol=2e-5)
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.testing.assert_close(m.weight.flatten(1).norm(dim=1),
                                       torch.ones(m.out_channels))
    # train mode, the reference faces as one batch: its statistics are the ones measured, so
    # the features come out as in eval mode
    with torch.no_grad():
        net.eval()
        evaluated = net.features(x)
        net.train()
        trained = net.features(x)
    torch.testing.assert_close(trained, evaluated, rtol=1e-3, atol=1e-3)


def test_the_weight_average_is_the_mean_of_what_was_added() -> None:
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(EmotionNet(SMALL))
    average = WeightAverage(nets[0])
    for net in nets:
        average.add(net)
    assert average.count == 3
    for name, value in average.net.state_dict().items():
        values = [n.state_dict()[name] for n in nets]
        if value.is_floating_point():
            torch.testing.assert_close(value, torch.stack(values).mean(0), rtol=1e-5, atol=1e-6)
        else:  # batch counts: the last network's
            assert torch.equal(value, values[-1])
    # batch statistics measured afresh through the mean weights
    faces = normalise(torch.from_numpy(_faces(32)).float().unsqueeze(1), True)
    average.measure_batch_norms(faces, batch_size=32)
    stem = average.net.features[:1]
    with torch.no_grad():
        out = stem(faces)
    torch.testing.assert_close(average.net.features[1].running_mean, out.mean(dim=(0, 2, 3)))
    assert not average.net.training
    # the network given at the start is not changed by averaging into its copy
    torch.manual_seed(0)
    assert torch.equal(EmotionNet(SMALL).head[-1].weight, nets[0].head[-1].weight)
