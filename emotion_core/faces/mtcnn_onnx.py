"""MTCNN's three networks (PNet, RNet, ONet) run by onnxruntime instead of TensorFlow.

PNet slides over every level of the image pyramid of every whole frame searched: on a 1600×900
classroom frame that is most of the detector's time, spent in 10–32-channel convolutions where
TensorFlow's per-op overhead dominates; R- and O-Net read every candidate box. Each network,
rebuilt as an ONNX graph from the loaded Keras layers and weights (``keras_onnx.layer_to_onnx``),
reads NHWC images and gives its outputs as the Keras model does, so the rest of mtcnn (pyramid,
boxes, NMS) is unchanged. Its outputs are TensorFlow's to float rounding
(``tests/faces/test_detection.py``); the boxes it leads to are measured by ``benchmarks/detection.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion_core.onnx.keras_graph import GraphBuilder, UnsupportedModel, layer_to_onnx
from emotion_core.onnx.runtime import onnx_session, run_in_pieces


class _Output(np.ndarray):
    """A NumPy result mtcnn can read as it reads a tensor (``.numpy()``)."""

    def numpy(self) -> np.ndarray:
        return self.view(np.ndarray)


# Each network's layers (attributes of mtcnn's Keras models), in order: the trunk, then the
# heads that all read the trunk's output, in the order the network returns them.
NETWORKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "PNet": (("conv1", "prelu1", "maxpool1", "conv2", "prelu2", "conv3", "prelu3"),
             ("conv4_1", "conv4_2")),
    "RNet": (("conv1", "prelu1", "maxpool1", "conv2", "prelu2", "maxpool2", "conv3", "prelu3",
              "permute", "flatten", "fc4", "prelu4"),
             ("fc5_1", "fc5_2")),
    "ONet": (("conv1", "prelu1", "maxpool1", "conv2", "prelu2", "maxpool2", "conv3", "prelu3",
              "maxpool3", "conv4", "prelu4", "permute", "flatten", "fc5", "prelu5"),
             ("fc6_1", "fc6_2", "fc6_3")),
}


def network_to_onnx(network: Any) -> bytes:
    """The serialised ONNX model of one of mtcnn 1.0's networks (``PNet``, ``RNet``, ``ONet``)
    with its trained weights: images NHWC in, the network's outputs out (NHWC for PNet's maps).
    """
    kind = type(network).__name__
    if kind not in NETWORKS:
        raise UnsupportedModel(f"unknown network {kind}")
    trunk, heads = NETWORKS[kind]
    g = GraphBuilder()
    x = g.node("Transpose", ["images"], "nchw", perm=[0, 3, 1, 2])
    for name in trunk:
        x = layer_to_onnx(g, getattr(network, name), [x])
    outputs = []
    for name in heads:
        out = layer_to_onnx(g, getattr(network, name), [x])
        if kind == "PNet":  # maps back to NHWC, as Keras gives them
            out = g.node("Transpose", [out], name + "/nhwc", perm=[0, 2, 3, 1])
        outputs.append((out, ["N", "h", "w", name] if kind == "PNet" else ["N", name]))
    return g.finish(f"mtcnn_{kind.lower()}", [("images", ["N", "H", "W", 3])], outputs)


# Pixels per onnxruntime call (PNet reads pyramid levels of every size: a 960×540 level is one
# call, the small levels of the 80×80 regions go hundreds at a time) and patches per call (R- and O-Net's candidates).
# onnxruntime keeps the largest memory a session ever needed, so unbounded calls would make the
# analysis's memory follow the busiest batch of the video (O-Net on a thousand candidates needs
# 0.3 GB); in these pieces it stays bounded (BENCHMARKS.md, Memory).
PIXELS_PER_CALL = 1_000_000
PATCHES_PER_CALL = {"RNet": 512, "ONet": 128}


class NetworkOnOnnx:
    """Called as mtcnn calls its network (a batch of images or patches in, the network's
    outputs out), run by onnxruntime in bounded pieces."""

    def __init__(self, network: Any) -> None:
        self.network = type(network).__name__
        self._session = onnx_session(network_to_onnx(network), f"MTCNN's {self.network}")

    def __call__(self, images: Any, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        batch = np.ascontiguousarray(np.asarray(images), dtype=np.float32)
        rows = PATCHES_PER_CALL.get(self.network) or PIXELS_PER_CALL // max(
            1, batch.shape[1] * batch.shape[2])
        return [out.view(_Output) for out in run_in_pieces(self._session, batch, rows)]
