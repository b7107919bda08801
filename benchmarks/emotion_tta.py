"""Test-time augmentation of an emotion model on the FER2013 public test set.

Each public test face is changed slightly with OpenCV (shifted, zoomed, turned; the border
repeated), every changed copy is classified, and the probabilities of chosen copies are averaged.
Prints the accuracy of each copy alone and of the averages (the face and its ±2 px shifts, ±8 %
zooms, ±8° turns, and all nine). The model is an ONNX file with our model's interface, read
through the app's ``ClassroomEmotionNet``; ours averages each face with its mirror image
itself, so each view here is two readings.

Usage::

    .venv/bin/python benchmarks/emotion_tta.py [--model models/classroom_emotion/model.onnx] \
        [--data ../shared/data/fer2013] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core.emotion import ClassroomEmotionNet
from emotion_core.fer2013 import load_public_test

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


def changed(faces: np.ndarray, dx: float, dy: float, zoom: float, turn: float) -> np.ndarray:
    size = faces.shape[1]
    m = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), turn, zoom)
    m[:, 2] += (dx, dy)
    return np.stack([cv2.warpAffine(f, m, (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE) for f in faces])


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
    model = ClassroomEmotionNet(args.model)
    readings = {name: model.predict(changed(test.images, *view)) for name, view in VIEWS.items()}
    result = {"faces": len(test), "views": {}, "averages": {}}
    for name, p in readings.items():
        result["views"][name] = round(float((p.argmax(1) == test.labels).mean()), 4)
    for name, members in AVERAGES.items():
        p = sum(readings[m] for m in members)
        result["averages"][name] = round(float((p.argmax(1) == test.labels).mean()), 4)
    print(json.dumps(result, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
