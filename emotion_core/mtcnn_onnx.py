"""MTCNN's proposal network (PNet) run by onnxruntime instead of TensorFlow.

PNet slides over every level of the image pyramid of every whole frame searched: on a 1600×900
classroom frame that is most of the detector's time, spent in 10–32-channel convolutions where
TensorFlow's per-op overhead dominates. The same network, rebuilt as an ONNX graph from the
loaded Keras layers and weights, reads NHWC images and gives NHWC outputs like the Keras model,
so the rest of mtcnn (boxes, NMS, R- and O-Net) is unchanged. Its outputs are TensorFlow's to
float rounding (``tests/test_detection.py``); the boxes it leads to are measured by
``benchmarks/detection.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion_core.keras_onnx import GraphBuilder


class _Output(np.ndarray):
    """A NumPy result mtcnn can read as it reads a tensor (``.numpy()``)."""

    def numpy(self) -> np.ndarray:
        return self.view(np.ndarray)


def _conv(graph: GraphBuilder, source: str, layer: Any, name: str) -> str:
    kernel, bias = layer.get_weights()
    kh, kw = kernel.shape[:2]
    return graph.node(
        "Conv", [source, graph.constant(name + "/W", kernel.transpose(3, 2, 0, 1).astype(np.float32)),
                 graph.constant(name + "/B", bias.astype(np.float32))],
        name, kernel_shape=[kh, kw], strides=[1, 1], pads=[0, 0, 0, 0],
    )


def _prelu(graph: GraphBuilder, source: str, layer: Any, name: str) -> str:
    (alpha,) = layer.get_weights()  # (1, 1, C): shared over height and width
    slope = alpha.reshape(-1, 1, 1).astype(np.float32)
    return graph.node("PRelu", [source, graph.constant(name + "/slope", slope)], name)


def pnet_to_onnx(pnet: Any) -> bytes:
    """The serialised ONNX model of mtcnn 1.0's ``PNet`` (images NHWC in, [regression,
    face probability] NHWC out), with its trained weights."""
    g = GraphBuilder()
    x = g.node("Transpose", ["images"], "nchw", perm=[0, 3, 1, 2])
    x = _prelu(g, _conv(g, x, pnet.conv1, "conv1"), pnet.prelu1, "prelu1")
    # Keras's 2×2 'same' pooling pads the odd row and column after: SAME_UPPER
    x = g.node("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")
    x = _prelu(g, _conv(g, x, pnet.conv2, "conv2"), pnet.prelu2, "prelu2")
    x = _prelu(g, _conv(g, x, pnet.conv3, "conv3"), pnet.prelu3, "prelu3")
    regression = _conv(g, x, pnet.conv4_1, "conv4_1")
    probability = g.node("Softmax", [_conv(g, x, pnet.conv4_2, "conv4_2")], "softmax", axis=1)
    g.node("Transpose", [regression], "regression", perm=[0, 2, 3, 1])
    g.node("Transpose", [probability], "probability", perm=[0, 2, 3, 1])
    return g.finish("mtcnn_pnet", [("images", ["N", "H", "W", 3])],
                    [("regression", ["N", "h", "w", 4]), ("probability", ["N", "h", "w", 2])])


class PNetOnOnnx:
    """Called as mtcnn calls its PNet: a batch of one pyramid level in, [regression, face
    probability] out."""

    def __init__(self, pnet: Any) -> None:
        from emotion_core.emotion import onnx_session

        self._session = onnx_session(pnet_to_onnx(pnet), "MTCNN's PNet")

    def __call__(self, images: Any, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        batch = np.ascontiguousarray(np.asarray(images), dtype=np.float32)
        regression, probability = self._session.run(None, {"images": batch})
        return [regression.view(_Output), probability.view(_Output)]
