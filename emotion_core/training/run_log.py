"""A run's training.json and output file names; earlier runs checked to hold out the same faces."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.files import file_sha256
from emotion_core.training.config import TrainingConfig
from emotion_core.training.results import TrainingResult

MODEL_FILE = "model.onnx"
CARD_FILE = "MODEL_CARD.md"
LOG_FILE = "training.json"
# the settings that decide which faces a run held out for validation: runs built on one another
# (--init-from, average-emotion) must share them, or one's training faces are the other's
# validation faces
SPLIT_SETTINGS = ("seed", "val_fraction", "limit")


class RunLogError(ClassroomMoodError, ValueError):
    """A trained model's ``training.json`` is missing, unreadable or does not fit; the message
    is meant for the user."""


def read_run_log(model_path: Path) -> dict[str, Any]:
    """The ``training.json`` written beside a trained ``model.onnx``."""
    log_path = Path(model_path).parent / LOG_FILE
    if not log_path.is_file():
        raise RunLogError(f"{model_path} has no {LOG_FILE} beside it: which faces it was "
                          "trained on is unknown")
    try:
        return json.loads(log_path.read_text())
    except (OSError, ValueError) as exc:
        raise RunLogError(f"cannot read {log_path}: {exc}") from exc


def held_out_settings(log: dict[str, Any]) -> dict[str, Any]:
    """The settings in a run's log that chose its validation faces."""
    return {k: log.get("config", {}).get(k) for k in SPLIT_SETTINGS}


def earlier_run(model_path: Path, config: TrainingConfig) -> dict[str, Any]:
    """The record of an earlier run's model (--init-from, --distil-from), once it is known to
    have held out the faces this run holds out: else this run's validation faces would be faces
    that model was trained on. The file is recorded as it was given."""
    if not model_path.is_file():
        raise RunLogError(f"model file not found: {model_path}")
    log = read_run_log(model_path)
    theirs = held_out_settings(log)
    ours = {k: getattr(config, k) for k in SPLIT_SETTINGS}
    if theirs != ours:
        raise RunLogError(f"{model_path} held out other faces for validation ({theirs}) "
                          f"than this run would ({ours}): give the same --seed and --limit")
    return {"file": str(model_path), "sha256": file_sha256(model_path), "training": log}


def training_log(result: TrainingResult, command: str) -> dict[str, Any]:
    """What ``training.json`` records of a run: its paths as they were given, not resolved."""
    config = result.config
    return {
        "command": command,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "device": result.device,
        "torch": result.torch_version,
        "python": platform.python_version(),
        "parameters": result.parameters,
        "train_faces": result.train_faces,
        "val_faces": result.val_faces,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "seconds": round(result.seconds, 1),
        "faces_per_second": round(result.faces_per_second, 1),
        "model_sha256": result.model_sha256,
        "validation": result.validation,
        "public_test": result.public_test,
        "public_test_flip": result.public_test_flip,
        "history": [asdict(r) for r in result.history],
        "init": result.init,
        "teacher": result.teacher,
        "temperature": result.temperature,
        "calibration": result.calibration,
        "held_out_photos": result.held_out_photos,
    }


def write_run_log(folder: Path, log: dict[str, Any]) -> None:
    """``training.json`` in ``folder``."""
    (folder / LOG_FILE).write_text(json.dumps(log, indent=1) + "\n")
