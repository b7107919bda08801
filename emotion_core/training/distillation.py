"""An earlier run's readings of the training faces, for a run to learn from (--distil-from)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.emotion.face_views import read_over_zooms
from emotion_core.emotion.model import EmotionModelUnavailable
from emotion_core.training.config import TrainingConfig
from emotion_core.training.fer2013 import FaceSet
from emotion_core.training.measure import score
from emotion_core.training.run_log import RunLogError, earlier_run


def teacher_readings(model_path: Path, config: TrainingConfig, train_set: FaceSet,
                     val_set: FaceSet) -> tuple[np.ndarray, dict[str, Any]]:
    """The probabilities of the model at ``model_path`` (--distil-from) for every training face
    (averaged over the face's zooms, and its mirror inside the graph), and its record with its
    validation accuracy."""
    record = earlier_run(model_path, config)
    try:
        teacher = ClassroomEmotionNet(model_path)
    except EmotionModelUnavailable as exc:
        raise RunLogError(str(exc)) from exc
    print(f"reading {len(train_set):,} training faces with {model_path} "
          f"(zooms {', '.join(map(str, config.distil_zooms)) or 'none'})…",
          file=sys.stderr, flush=True)
    soft = read_over_zooms(teacher, train_set.images, config.distil_zooms)
    record["validation"] = score(read_over_zooms(teacher, val_set.images, config.distil_zooms),
                                 val_set.labels)
    return soft, record
