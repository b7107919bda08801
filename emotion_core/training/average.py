"""Averaging trained emotion models into one: several ONNX files with the same interface (grey
faces (N, 48, 48) in, 7 probabilities out) made into one ONNX graph whose output is the mean of
theirs.

Networks trained apart make different mistakes, so their average reads faces better than each
alone (BENCHMARKS.md, "Our own emotion model"). One graph keeps what the app relies on: one file,
one onnxruntime session per process, the same input and output names. Its weights are stored as
float16 (the graph casts them back to float32 once, when the session is made), which halves the
file; over the FER2013 public test it moved our network's probabilities by 9e-5 on average and
3e-3 at most, and changed the top class of 3 of its 3,435 faces (BENCHMARKS.md).

``python -m emotion_core average-emotion A/model.onnx B/model.onnx --data ../shared/data/fer2013
--out models/classroom_emotion`` writes ``model.onnx``, ``MODEL_CARD.md`` and ``training.json``
(each member's own training log, and the average's accuracy on the validation split the members
held out and on the public test set).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.files import file_sha256
from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.training.export import ONNX_INPUT, ONNX_OUTPUT
from emotion_core.training.fer2013 import DatasetError, FaceSet, load_public_test, training_split
from emotion_core.training.measure import score
from emotion_core.training.model_card import average_card, write_model_card
from emotion_core.training.run_log import (
    MODEL_FILE,
    RunLogError,
    held_out_settings,
    read_run_log,
    write_run_log,
)


class AverageError(ClassroomMoodError, ValueError):
    """The members cannot be averaged; the message is meant for the user."""


def _load_member(path: Path) -> Any:
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises several kinds for a file that is not a model
        raise AverageError(f"{path} is not an ONNX model: {exc}") from exc
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if inputs != [ONNX_INPUT] or outputs != [ONNX_OUTPUT]:
        raise AverageError(f"{path} takes {inputs} and gives {outputs}; an emotion model takes "
                           f"[{ONNX_INPUT!r}] and gives [{ONNX_OUTPUT!r}]")
    return model


def average_models(members: Sequence[Any], half_weights: bool = True) -> Any:
    """One ONNX model whose ``probabilities`` are the mean of the ``members``' (ModelProtos)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if len(members) < 2:
        raise AverageError("averaging needs at least two models")
    opset = max(o.version for m in members for o in m.opset_import if o.domain in ("", "ai.onnx"))
    nodes, initializers, value_info, member_outputs = [], [], [], []
    for k, member in enumerate(members):
        prefix = f"m{k}/"
        graph = onnx.compose.add_prefix(member, prefix).graph
        nodes.append(helper.make_node("Identity", [ONNX_INPUT], [prefix + ONNX_INPUT]))
        for tensor in graph.initializer:
            array = numpy_helper.to_array(tensor)
            if half_weights and array.dtype == np.float32 and array.size > 16:
                stored = tensor.name + "/float16"
                initializers.append(numpy_helper.from_array(array.astype(np.float16), stored))
                nodes.append(helper.make_node("Cast", [stored], [tensor.name], to=TensorProto.FLOAT))
            else:
                initializers.append(tensor)
        nodes.extend(graph.node)
        value_info.extend(graph.value_info)
        member_outputs.append(prefix + ONNX_OUTPUT)
    share = numpy_helper.from_array(np.array(1.0 / len(members), np.float32), "member_share")
    initializers.append(share)
    nodes.append(helper.make_node("Sum", member_outputs, ["probability_sum"]))
    nodes.append(helper.make_node("Mul", ["probability_sum", "member_share"], [ONNX_OUTPUT]))
    first = members[0].graph
    graph = helper.make_graph(
        nodes, "average_of_" + str(len(members)), [first.input[0]], [first.output[0]],
        initializer=initializers, value_info=value_info,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="emotion_core.training.average")
    model.ir_version = max(m.ir_version for m in members)
    onnx.checker.check_model(model)
    return model


def _check_same_split(logs: Sequence[dict[str, Any]], paths: Sequence[Path]) -> dict[str, Any]:
    splits = [held_out_settings(log) for log in logs]
    for split, path in zip(splits[1:], paths[1:]):
        if split != splits[0]:
            raise AverageError(f"{path} held out other faces for validation ({split}) than "
                               f"{paths[0]} ({splits[0]}): train the members with the same "
                               "--seed and --limit")
    return splits[0]


def measurement_sets(data_dir: Path, split: dict[str, Any]) -> tuple[FaceSet, FaceSet | None]:
    """The validation split the members held out, and the public test set when it is there."""
    _, val_set = training_split(data_dir, split["val_fraction"], split["seed"], split["limit"])
    return val_set, load_public_test(data_dir)


def measure(path: Path, val_set: FaceSet, public_test: FaceSet | None) -> dict[str, Any]:
    """Accuracy of the ONNX model at ``path``, read through the app's own backend."""
    model = ClassroomEmotionNet(path)
    result = {"validation": score(model.predict(val_set.images), val_set.labels),
              "public_test": None}
    if public_test is not None:
        result["public_test"] = score(model.predict(public_test.images), public_test.labels)
    return result


def run(args: argparse.Namespace, command: str) -> int:
    import onnx

    paths = [Path(p) for p in args.models]
    out = Path(args.out)
    try:
        if len(paths) < 2:
            raise AverageError("give at least two models to average")
        for path in paths:
            if not path.is_file():
                raise AverageError(f"model file not found: {path}")
            if path.resolve() == (out / MODEL_FILE).resolve():
                raise AverageError(f"{path} would be overwritten by the average: copy it "
                                   "elsewhere first")
        logs = [read_run_log(p) for p in paths]
        split = _check_same_split(logs, paths)
        averaged = average_models([_load_member(p) for p in paths])
        # read before anything is written: a missing data folder leaves --out as it was
        val_set, public_test = measurement_sets(Path(args.data), split)
        out.mkdir(parents=True, exist_ok=True)
        model_path = out / MODEL_FILE
        onnx.save(averaged, str(model_path))
        metrics = measure(model_path, val_set, public_test)
    except (AverageError, DatasetError, RunLogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = [f"member {k + 1}" for k in range(len(paths))]
    member_sha256 = [file_sha256(p) for p in paths]
    sha256 = file_sha256(model_path)
    log = {
        "command": command, "model_sha256": sha256, **metrics,
        "members": [{"name": n, "file": str(p), "sha256": d, "training": lg}
                    for n, p, d, lg in zip(names, paths, member_sha256, logs)],
    }
    write_run_log(out, log)
    write_model_card(out, average_card(log))
    summary = {"model": str(model_path), "sha256": sha256,
               "validation_accuracy": round(metrics["validation"]["accuracy"], 4)}
    if metrics["public_test"]:
        summary["public_test_accuracy"] = round(metrics["public_test"]["accuracy"], 4)
        summary["public_test_macro_f1"] = round(metrics["public_test"]["macro_f1"], 4)
    print(json.dumps(summary), flush=True)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", type=Path,
                        help="the members' model.onnx files, each with its training.json beside it")
    parser.add_argument("--data", type=Path, required=True,
                        help="the FER2013 folder, to measure the average")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the average to")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotion_core.training.average",
                                     description="Average trained emotion models into one.")
    add_arguments(parser)
    argv = sys.argv[1:] if argv is None else argv
    return run(parser.parse_args(argv), "python -m emotion_core.training.average " + " ".join(argv))


if __name__ == "__main__":
    sys.exit(main())
