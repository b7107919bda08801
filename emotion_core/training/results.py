"""What a training run found: one record per epoch, and the run's result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emotion_core.training.config import TrainingConfig


@dataclass
class EpochRecord:
    epoch: int
    learning_rate: float
    train_loss: float
    val_accuracy: float
    val_macro_f1: float
    seconds: float


@dataclass
class TrainingResult:
    config: TrainingConfig
    device: str
    torch_version: str
    parameters: int
    train_faces: int
    val_faces: int
    best_epoch: int
    epochs_run: int
    seconds: float
    faces_per_second: float
    history: list[EpochRecord]
    validation: dict[str, Any]
    public_test: dict[str, Any] | None
    public_test_flip: dict[str, Any] | None
    model_path: Path
    model_sha256: str
    # the model this run went on training (--init-from): its file, sha256 and training log
    init: dict[str, Any] | None = None
    # the model this run learnt from (--distil-from): its file, sha256, training log and the
    # accuracy of its averaged readings on the validation split
    teacher: dict[str, Any] | None = None
    # the temperature dividing the logits in the exported graph (1 when not calibrated), and the
    # expected calibration error on the validation faces at each height before and after it
    temperature: float = 1.0
    calibration: dict[str, Any] | None = None
    # the scores (read as the app reads, mirrored) of the held-out labelled photos (--photos)
    held_out_photos: dict[str, Any] | None = None
