"""MTCNN's three networks (PNet, RNet, ONet) run by onnxruntime instead of TensorFlow.

PNet slides over every level of the image pyramid of every whole frame searched: on a 1600×900
classroom frame that is most of the detector's time, spent in 10–32-channel convolutions where
TensorFlow's per-op overhead dominates; R- and O-Net read every candidate box. Each network,
rebuilt as an ONNX graph from the loaded Keras layers and weights, reads NHWC images and gives
its outputs as the Keras model does, so the rest of mtcnn (pyramid, boxes, NMS) is unchanged. Its outputs are TensorFlow's to
float rounding (``tests/test_detection.py``); the boxes it leads to are measured by
``benchmarks/detection.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion_core.keras_onnx import GraphBuilder, UnsupportedModel
from emotion_core.onnx_runtime import onnx_session, run_in_pieces


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


def _layer(g: GraphBuilder, x: str, layer: Any, name: str) -> str:
    """One Keras layer on NCHW ``x`` (or (N, F) after flattening)."""
    kind, cfg = type(layer).__name__, layer.get_config()
    if kind == "Conv2D":
        kernel, bias = layer.get_weights()
        if cfg["padding"] != "valid" or tuple(cfg["strides"]) != (1, 1):
            raise UnsupportedModel(f"convolution {name}")
        x = g.node("Conv", [x, g.constant(name + "/W", kernel.transpose(3, 2, 0, 1)),
                            g.constant(name + "/B", bias)],
                   name, kernel_shape=list(kernel.shape[:2]), strides=[1, 1], pads=[0, 0, 0, 0])
    elif kind == "Dense":
        kernel, bias = layer.get_weights()
        x = g.node("Gemm", [x, g.constant(name + "/W", kernel), g.constant(name + "/B", bias)],
                   name)
    elif kind == "PReLU":
        (alpha,) = layer.get_weights()  # (1, 1, C) shared over height and width, or (F,)
        slope = alpha.reshape(-1, 1, 1) if alpha.ndim == 3 else alpha
        return g.node("PRelu", [x, g.constant(name + "/slope", slope)], name)
    elif kind == "MaxPooling2D":
        # Keras's 'same' pads the odd row and column after, as SAME_UPPER does
        padding = {"same": "SAME_UPPER", "valid": "VALID"}[cfg["padding"]]
        return g.node("MaxPool", [x], name, kernel_shape=list(cfg["pool_size"]),
                      strides=list(cfg["strides"]), auto_pad=padding)
    elif kind == "Permute":
        if tuple(cfg["dims"]) != (2, 1, 3):
            raise UnsupportedModel(f"permutation {name}")
        return g.node("Transpose", [x], name, perm=[0, 3, 2, 1])  # NCHW -> Keras's N, W, H, C
    elif kind == "Flatten":
        return g.node("Flatten", [x], name, axis=1)
    else:
        raise UnsupportedModel(f"layer {name} of type {kind}")
    activation = cfg["activation"]
    if activation == "softmax":
        return g.node("Softmax", [x], name + "/softmax", axis=1)
    if activation != "linear":
        raise UnsupportedModel(f"activation {activation!r} of {name}")
    return x


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
        x = _layer(g, x, getattr(network, name), name)
    outputs = []
    for name in heads:
        out = _layer(g, x, getattr(network, name), name)
        if kind == "PNet":  # maps back to NHWC, as Keras gives them
            out = g.node("Transpose", [out], name + "/nhwc", perm=[0, 2, 3, 1])
        outputs.append((out, ["N", "h", "w", name] if kind == "PNet" else ["N", name]))
    return g.finish(f"mtcnn_{kind.lower()}", [("images", ["N", "H", "W", 3])], outputs)


# Pixels per onnxruntime call (PNet reads pyramid levels of every size: a 960×540 level is one
# call, 80×80 regions go 150 at a time) and patches per call (R- and O-Net's candidates).
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
