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
    # what a classroom camera does to a face (``degrade``): the share of faces shrunk to a random
    # height in ``low_resolution_px`` and enlarged back (area down, bilinear up, as the app
    # enlarges a small face), blurred (Gaussian, sigma up to ``blur`` px at that height),
    # JPEG-compressed at a quality in ``jpeg_quality`` and given sensor noise (std up to ``noise``
    # grey levels), all at the small size; and for every face a gamma of exp(±``gamma``) and a
    # turn out of the picture plane of up to ``yaw`` and ``pitch`` degrees (a perspective warp)
    low_resolution: float = 0.0
    low_resolution_px: tuple[int, int] = (10, 48)
    blur: float = 0.0
    jpeg_quality: tuple[int, int] | None = None
    noise: float = 0.0
    gamma: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0


# The augmentation of the resolution-robust model (issue 18): faces of 10-48 px as a classroom
# camera sees them, for seven faces in ten; the rest as FER2013 gives them
CLASSROOM_AUGMENTATION = Augmentation(
    low_resolution=0.7, blur=0.6, jpeg_quality=(30, 90), noise=6.0, gamma=0.35, yaw=20.0,
    pitch=15.0,
)
AUGMENTATIONS = {"standard": Augmentation(), "classroom": CLASSROOM_AUGMENTATION}


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
    # labelled photos to train on beside FER2013 (a CSV path,emotion,source_image such as
    # ExpW's), cut as the app cuts faces; a share of their source photos is held out for
    # validation (photo_faces); each training face of them counts ``photo_repeats`` times an epoch
    photos: Path | None = None
    photo_repeats: int = 3
    # each epoch is judged on the validation faces shrunk to these heights (px) and enlarged back,
    # all together; the probabilities are calibrated on them (a temperature) when ``calibrate``
    val_heights: tuple[int, ...] = (48,)
    calibrate: bool = False

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
            (self.photo_repeats >= 1, "--photo-repeats must be at least 1"),
            (bool(self.val_heights) and all(6 <= h <= 48 for h in self.val_heights),
             "--val-heights must be face heights from 6 to 48 px"),
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
