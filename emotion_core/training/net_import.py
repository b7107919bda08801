"""An exported emotion network read back into torch, so that a trained model can be trained on.

``export.export_onnx`` writes a :class:`net.EmotionNet` as ONNX with each batch norm
folded into the convolution before it (the exporter does this in eval mode). This module goes
the other way: it puts each folded convolution's weights and bias back into an ``EmotionNet`` of
the same shape, the bias into the batch norm's shift, with the batch norm's statistics set to
the identity, so that the torch network computes what the ONNX file does (to float rounding;
``tests/training/test_net_import.py``). :func:`restore_batch_norms` then gives the batch norms
statistics measured on training faces, so that the network can be trained further as it was
trained at first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion_core.core.errors import ClassroomMoodError

if TYPE_CHECKING:  # torch loads only when a network is read: the CLI imports this module
    from emotion_core.training.net import EmotionNet, NetShape


class NetImportError(ClassroomMoodError, ValueError):
    """The file is not an exported network of the asked-for shape; the message is for the user."""


def _convolutions(net: EmotionNet) -> list[tuple[Any, Any]]:
    """(convolution, batch norm) pairs in the order the exported graph runs them: the stem, then
    for each residual block its two convolutions and then its shortcut."""
    from torch import nn

    from emotion_core.training.net import ResidualBlock

    pairs: list[tuple[Any, Any]] = []
    for module in net.features:
        if isinstance(module, ResidualBlock):
            pairs += [(module.body[0][0], module.body[0][1]), (module.body[2][0], module.body[2][1])]
            if isinstance(module.shortcut, nn.Sequential):
                pairs.append((module.shortcut[0], module.shortcut[1]))
    stem = (net.features[0], net.features[1])
    return [stem, *pairs]


def _exported_weights(path: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """The (weight, bias) of each Conv in graph order (each once: the graph runs the network on
    the face and on its mirror with the same weights), and the head's Gemm weight and bias."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises several kinds for a file that is not a model
        raise NetImportError(f"{path} is not an ONNX model: {exc}") from exc
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    # the exporter gives the mirror's pass its own names for the same weights, through Identity
    same = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"}
    convs: list[tuple[np.ndarray, np.ndarray]] = []
    head: list[np.ndarray] = []
    seen: set[str] = set()
    for node in model.graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        names = [same.get(name, name) for name in node.input[1:3]]
        if len(names) < 2 or any(name not in values for name in names):
            raise NetImportError(f"{path} is not a network exported by train-emotion")
        if names[0] in seen:
            continue
        seen.add(names[0])
        weight, bias = values[names[0]], values[names[1]]
        if node.op_type == "Conv":
            convs.append((weight, bias))
        else:
            head = [weight, bias]
    return convs, head


def load_exported(path: Path, shape: NetShape, classes: int = 7) -> EmotionNet:
    """An ``EmotionNet`` of ``shape`` holding the weights of the exported model at ``path``, its
    batch norms set so that in eval mode they add the folded bias and change nothing else.

    Raises :class:`NetImportError` when the file's network is not of that shape."""
    import torch

    from emotion_core.training.net import EmotionNet

    convs, head = _exported_weights(Path(path))
    net = EmotionNet(shape, classes=classes)
    pairs = _convolutions(net)
    found = [tuple(w.shape) for w, _ in convs]
    wanted = [tuple(conv.weight.shape) for conv, _ in pairs]
    head_shape = (classes, shape.stages[-1])
    if found != wanted or not head or tuple(head[0].shape) != head_shape:
        raise NetImportError(
            f"{path} does not hold a network of this shape ({shape.describe()}): give the "
            "--stages and --blocks it was trained with"
        )
    with torch.no_grad():
        for (conv, norm), (weight, bias) in zip(pairs, convs, strict=True):
            conv.weight.copy_(torch.from_numpy(weight.astype(np.float32)))
            norm.running_mean.zero_()
            # (x - 0) / sqrt(var + eps) with var = 1 - eps leaves x as it is
            norm.running_var.fill_(1.0 - norm.eps)
            norm.weight.fill_(1.0)
            norm.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
        linear = net.head[-1]
        linear.weight.copy_(torch.from_numpy(head[0].astype(np.float32)))
        linear.bias.copy_(torch.from_numpy(head[1].astype(np.float32)))
    return net


def restore_batch_norms(net: EmotionNet, faces: Any, batch_size: int = 256) -> None:
    """Give an imported network's batch norms statistics again, so that it trains as it was
    trained: with each batch normalised by its own statistics.

    ``faces`` (N, 1, 48, 48) are normalised training faces, augmented as in training. For each
    convolution, the mean μ and variance σ² of its output over them become the batch norm's
    running statistics, its weights are scaled to unit norm per output channel (as a batch
    norm makes no difference to that scale; unit norm is about where a new network starts), and
    the batch norm's scale and shift are set so that in eval mode the network computes exactly
    what it did before, and in train mode, on batches like ``faces``, nearly that.
    """
    import torch

    pairs = _convolutions(net)
    sums: dict[int, list[Any]] = {k: [0.0, 0.0, 0] for k in range(len(pairs))}

    def measure(k: int, out: Any) -> None:
        total = sums[k]
        total[0] = total[0] + out.sum(dim=(0, 2, 3)).double()
        total[1] = total[1] + (out.double() ** 2).sum(dim=(0, 2, 3))
        total[2] += out.numel() // out.shape[1]

    hooks = [conv.register_forward_hook(lambda m, _, out, k=k: measure(k, out))
             for k, (conv, _) in enumerate(pairs)]
    net.eval()
    with torch.no_grad():
        for start in range(0, len(faces), batch_size):
            net(faces[start:start + batch_size])
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        for k, (conv, norm) in enumerate(pairs):
            total, squares, count = sums[k]
            mean = (total / count).float()
            var = (squares / count - (total / count) ** 2).clamp_min(0).float()
            scale = conv.weight.flatten(1).norm(dim=1).clamp_min(1e-8)
            shift = norm.bias.clone()  # the folded bias
            conv.weight.div_(scale.view(-1, 1, 1, 1))
            norm.running_mean.copy_(mean / scale)
            norm.running_var.copy_(var / scale**2)
            # eval: weight * (y/s - μ/s) / sqrt(σ²/s² + eps) + bias == y - μ + μ + shift
            norm.weight.copy_(scale * torch.sqrt(norm.running_var + norm.eps))
            norm.bias.copy_(shift + mean)
