"""Writing a trained network as the ONNX file the app runs: grey faces in, probabilities out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotion_core.training.augment import normalise
from emotion_core.training.fer2013 import FACE_SIZE

ONNX_INPUT = "faces"
ONNX_OUTPUT = "probabilities"


def export_onnx(net: Any, standardise: bool, path: Path, temperature: float = 1.0) -> None:
    """Write ``net`` as ONNX: (N, 48, 48) grey values 0..255 in, (N, 7) probabilities out.

    The graph averages the probabilities of each face and its mirror image (test-time flip), as
    ``predict(..., flip=True)`` does when the run is measured, each the softmax of the logits
    divided by ``temperature`` (the run's calibration; 1 leaves them as trained). The division is
    folded into the last layer's weights, so the graph is the same network with other weights:
    ``net_import`` reads it back, and ``average`` averages it, as any other.
    """
    import copy

    import torch

    if temperature != 1.0:
        net = copy.deepcopy(net)
        with torch.no_grad():
            net.head[-1].weight.div_(temperature)
            net.head[-1].bias.div_(temperature)

    class Deployed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, faces: torch.Tensor) -> torch.Tensor:
            x = normalise(faces.unsqueeze(1), standardise)
            mirrored = torch.flip(x, dims=[3])
            return (torch.softmax(self.net(x), dim=1) + torch.softmax(self.net(mirrored), dim=1)) / 2

    deployed = Deployed().cpu().eval()
    example = torch.zeros(2, FACE_SIZE, FACE_SIZE)
    torch.onnx.export(
        deployed, (example,), str(path), dynamo=False, opset_version=17,
        input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT],
        dynamic_axes={ONNX_INPUT: {0: "faces"}, ONNX_OUTPUT: {0: "faces"}},
    )
