"""Test-time augmentation of an emotion model: the validation split and the FER2013 public test.

Each face is changed slightly with OpenCV (``emotion_core.emotion.face_views.changed``: shifted, zoomed,
turned; the border repeated), every changed copy is classified, and the probabilities of chosen
copies are averaged. Prints the accuracy of each copy alone and of the averages (the face and
its ±2 px shifts, ±8 % zooms, ±8° turns, and all nine), on the validation split the model's run
held out (read from the ``training.json`` beside it: choose views there, not on the test) and
on the public test set. The model is an ONNX file with our model's interface, read through the
app's ``ClassroomEmotionNet``; ours averages each face with its mirror image itself, so each
view here is two readings.

Usage::

    .venv/bin/python benchmarks/emotion_tta.py [--model models/classroom_emotion/model.onnx] \
        [--data ../shared/data/fer2013] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.emotion.face_views import changed
from emotion_core.training.fer2013 import FaceSet, load_public_test, training_split
from emotion_core.training.run_log import RunLogError, held_out_settings, read_run_log

ROOT = Path(__file__).resolve().parents[1]
VIEWS = {  # name: (shift x, shift y, zoom, turn in degrees)
    "face": (0, 0, 1.0, 0.0),
    "shift x+2": (2, 0, 1.0, 0.0), "shift x-2": (-2, 0, 1.0, 0.0),
    "shift y+2": (0, 2, 1.0, 0.0), "shift y-2": (0, -2, 1.0, 0.0),
    "zoom 1.08": (0, 0, 1.08, 0.0), "zoom 0.92": (0, 0, 0.92, 0.0),
    "turn +8": (0, 0, 1.0, 8.0), "turn -8": (0, 0, 1.0, -8.0),
}
AVERAGES = {
    "face + shifts": ["face", "shift x+2", "shift x-2", "shift y+2", "shift y-2"],
    "face + zooms": ["face", "zoom 1.08", "zoom 0.92"],
    "face + turns": ["face", "turn +8", "turn -8"],
    "all nine": list(VIEWS),
}


def accuracies(model: ClassroomEmotionNet, faces: FaceSet) -> dict[str, dict[str, float]]:
    readings = {name: model.predict(changed(faces.images, *view)) for name, view in VIEWS.items()}

    def accuracy(p: np.ndarray) -> float:
        return round(float((p.argmax(1) == faces.labels).mean()), 4)

    return {"faces": len(faces),
            "views": {name: accuracy(p) for name, p in readings.items()},
            "averages": {name: accuracy(sum(readings[m] for m in members))
                         for name, members in AVERAGES.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models/classroom_emotion/model.onnx")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fer2013")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    test = load_public_test(args.data)
    if test is None:
        print(f"error: no public test set under {args.data}", file=sys.stderr)
        return 2
    try:
        split = held_out_settings(read_run_log(args.model))
    except RunLogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _, val = training_split(args.data, split["val_fraction"], split["seed"], split["limit"])
    model = ClassroomEmotionNet(args.model)
    result = {"validation": accuracies(model, val), "public_test": accuracies(model, test)}
    print(json.dumps(result, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
