"""Our emotion model with its weights and activations in 8-bit integers: accuracy and cost.

onnxruntime's static quantisation (``onnxruntime.quantization.quantize_static``: per-channel
int8 weights, uint8 activations with the reduced range safe on CPUs without VNNI, ranges
calibrated on 512 training faces) writes quantised copies of the model into ``--out``; each is
read through the app's ``ClassroomEmotionNet`` on the validation split its run held out and on
the FER2013 public test set, and timed in batches of 32 faces as ``emotion_models.py`` times
backends. Nothing in the app uses these copies: this measures whether it should.

Usage::

    .venv/bin/python benchmarks/emotion_int8.py [--model models/classroom_emotion/model.onnx] \
        [--data ../shared/data/fer2013] [--out /tmp/int8] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core.emotion import ClassroomEmotionNet
from emotion_core.fer2013 import FaceSet, load_public_test, training_split
from emotion_core.training import ONNX_INPUT, held_out_settings, read_run_log

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION_FACES = 512


def quantised(model: Path, out: Path, faces: np.ndarray, operator_format: bool) -> Path:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out / "prepared.onnx"
    quant_pre_process(str(model), str(prepared))

    class Faces(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{ONNX_INPUT: faces[i:i + 64].astype(np.float32)}
                                 for i in range(0, len(faces), 64)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    path = out / ("int8_operators.onnx" if operator_format else "int8_qdq.onnx")
    quantize_static(str(prepared), str(path), Faces(),
                    quant_format=QuantFormat.QOperator if operator_format else QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True, reduce_range=True, calibrate_method=CalibrationMethod.MinMax)
    return path


def measure(path: Path, val: FaceSet, test: FaceSet) -> dict[str, Any]:
    model = ClassroomEmotionNet(path)

    def accuracy(faces: FaceSet) -> float:
        p = np.concatenate([model.predict(faces.images[i:i + 256])
                            for i in range(0, len(faces), 256)])
        return round(float((p.argmax(1) == faces.labels).mean()), 4)

    batch = test.images[:32]
    model.predict(batch)
    started = time.perf_counter()
    for _ in range(20):
        model.predict(batch)
    ms = (time.perf_counter() - started) / 20 / len(batch) * 1000
    return {"validation": accuracy(val), "public_test": accuracy(test),
            "ms_per_face_batch32": round(ms, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models/classroom_emotion/model.onnx")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fer2013")
    parser.add_argument("--out", type=Path, default=Path("/tmp/int8"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    test = load_public_test(args.data)
    if test is None:
        print(f"error: no public test set under {args.data}", file=sys.stderr)
        return 2
    split = held_out_settings(read_run_log(args.model))
    train, val = training_split(args.data, split["val_fraction"], split["seed"], split["limit"])
    pick = np.random.default_rng(0).choice(len(train), CALIBRATION_FACES, replace=False)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"float32": measure(args.model, val, test)}
    for operator_format in (True, False):
        path = quantised(args.model, args.out, train.images[pick], operator_format)
        result[path.stem] = measure(path, val, test)
    print(json.dumps(result, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
