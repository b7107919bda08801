"""The JAFFE photos grouped by the woman they show, for the identity tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image


def jaffe_by_subject(folder: Path, per_subject: int) -> tuple[list[np.ndarray], list[str]]:
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    taken: dict[str, int] = {}
    images, subjects = [], []
    for row in rows:  # several expressions of each woman, in file order
        if taken.get(row["subject"], 0) < per_subject:
            taken[row["subject"]] = taken.get(row["subject"], 0) + 1
            images.append(np.asarray(Image.open(folder / row["path"]).convert("RGB")))
            subjects.append(row["subject"])
    return images, subjects
