"""The settings of one training run (TrainingConfig) and of its augmentation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emotion_core.emotion.face_views import DEFAULT_ZOOMS

if TYPE_CHECKING:  # torch loads only when a network is built: the CLI imports this module
    from emotion_core.training.net import NetShape

# how many augmented training faces batch statistics are measured on
REFERENCE_FACES = 4096


@dataclass(frozen=True)
class Augmentation:
    """Random changes applied to every training face (angles in degrees, others as fractions)."""

    rotation: float = 12.0
    scale: float = 0.12
    shift: float = 0.10
    flip: bool = True
    brightness: float = 0.2
    contrast: float = 0.3
    erase_probability: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.15)


@dataclass(frozen=True)
class TrainingConfig:
    """What one training run does; ``data`` and ``out`` are kept as given on the command line
    (the run log and model card record them so)."""

    data: Path
    out: Path
    epochs: int = 120
    batch_size: int = 128
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: int = 2
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    val_fraction: float = 0.1
    patience: int = 12
    max_minutes: float | None = None
    seed: int = 0
    limit: int | None = None
    stem: int = 32
    stages: tuple[int, ...] = (48, 96, 192)
    blocks: int = 2
    dropout: float = 0.3
    standardise: bool = True
    device: str = "auto"
    augmentation: Augmentation = field(default_factory=Augmentation)
    # start from this exported model (train-emotion's model.onnx, of this shape) instead of
    # random weights, its batch norms given statistics again (net_import)
    init_from: Path | None = None
    # after the warm-up keep the learning rate constant and keep the running mean of the weights
    # at each epoch's end (stochastic weight averaging); validation and export use the mean
    average_weights: bool = False
    # learn from this trained model's probabilities as well as from the labels (knowledge
    # distillation): its readings of each training face, averaged over the face's mirror and
    # ``distil_zooms``, weigh ``distil_weight`` in the loss, the labels the rest
    distil_from: Path | None = None
    distil_weight: float = 0.5
    distil_zooms: tuple[float, ...] = DEFAULT_ZOOMS

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 2, "batch size must be at least 2"),
            (0 < self.val_fraction < 0.5, "the validation fraction must be between 0 and 0.5"),
            (self.learning_rate > 0, "the learning rate must be positive"),
            (self.limit is None or self.limit >= 70, "--limit needs at least 70 faces"),
            (self.patience >= 1, "patience must be at least 1 epoch"),
            (self.warmup_epochs >= 0, "the warm-up cannot be negative"),
            (self.max_minutes is None or self.max_minutes > 0, "--max-minutes must be positive"),
            (not self.average_weights or self.epochs > self.warmup_epochs,
             "weight averaging needs more epochs than the warm-up"),
            (0 < self.distil_weight <= 1, "--distil-weight must be in (0, 1]"),
            (all(0.5 <= z <= 2 for z in self.distil_zooms), "--distil-zooms must be 0.5 to 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def net_shape(self) -> NetShape:
        """The shape of the network this run trains."""
        from emotion_core.training.net import NetShape

        return NetShape(stem=self.stem, stages=self.stages, blocks=self.blocks,
                        dropout=self.dropout)

    def schedule(self) -> str:
        """The learning-rate schedule in words, for the model card."""
        if self.average_weights:
            return (f"warm-up {self.warmup_epochs} epochs, then constant; the weights averaged "
                    "over each epoch's end after the warm-up, up to the best epoch")
        return f"warm-up {self.warmup_epochs} epochs, cosine decay"
