"""Training our own emotion model on FER2013 with torch, and exporting it to ONNX.

``python -m emotion_core train-emotion --data ../shared/data/fer2013 --out models/classroom_emotion``
(or ``python -m emotion_core.training …`` where only torch, numpy and OpenCV are installed, as on
a GPU machine). One run:

1. holds out ``--val-fraction`` of each class of the training set as the validation split (fixed
   ``--seed``); the public test set is never trained on, only measured;
2. trains :class:`emotion_net.EmotionNet` with SGD (Nesterov momentum, weight decay), a linear
   warm-up then cosine learning-rate schedule, label smoothing, and a cross-entropy weighted
   towards the rare classes (weight ∝ 1 / count ** ``--class-weight-power``: disgust has 436
   faces against happy's 7,215);
3. augments every batch on the training device: random rotation, scale, shift and horizontal
   flip, brightness and contrast, and a randomly erased patch;
4. keeps the weights of the epoch with the best validation accuracy and stops early when it has
   not improved for ``--patience`` epochs;
5. writes ``model.onnx`` (grey pixel values in, 7 probabilities out: the normalisation is part
   of the graph), ``training.json`` (settings, per-epoch history, final numbers) and
   ``MODEL_CARD.md`` into ``--out``.

``--init-from RUN/model.onnx`` goes on training an earlier run's network instead of a new one
(``net_import``; the earlier run must have held out the same validation faces).
``--average-weights`` keeps the learning rate constant after the warm-up and keeps the mean of
the weights at each epoch's end (stochastic weight averaging, Izmailov et al. 2018); each epoch
is then judged, and the best kept, by that mean.
``--distil-from RUN/model.onnx`` learns from an earlier run's readings as well as from the labels
(knowledge distillation, Hinton et al. 2015): that model reads every training face once, and
its zooms (``--distil-zooms``, ``face_views``), before training, and the cross-entropy with its
averaged probabilities weighs ``--distil-weight`` in the loss.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.files import file_sha256
from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.classroom_backend import ClassroomEmotionNet
from emotion_core.emotion.face_views import DEFAULT_ZOOMS, read_over_zooms
from emotion_core.emotion.model import EmotionModelUnavailable
from emotion_core.evaluation.metrics import classification_metrics
from emotion_core.training.fer2013 import (
    FACE_SIZE,
    DatasetError,
    FaceSet,
    load_public_test,
    training_split,
)
from emotion_core.training.net_import import NetImportError

MODEL_FILE = "model.onnx"
CARD_FILE = "MODEL_CARD.md"
LOG_FILE = "training.json"
ONNX_INPUT = "faces"
ONNX_OUTPUT = "probabilities"
# how many augmented training faces batch statistics are measured on
REFERENCE_FACES = 4096
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


def select_device(name: str) -> Any:
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no GPU")
    return torch.device(name)


def class_weights(counts: np.ndarray, power: float) -> np.ndarray:
    """Loss weights ∝ 1 / count ** power, scaled so the average face weighs 1."""
    counts = np.maximum(counts.astype(np.float64), 1.0)
    weights = counts ** -power
    return weights / (weights * counts).sum() * counts.sum()


def _shape(config: TrainingConfig) -> Any:
    from emotion_core.training.net import NetShape

    return NetShape(stem=config.stem, stages=config.stages, blocks=config.blocks,
                    dropout=config.dropout)


def _build_net(config: TrainingConfig) -> Any:
    from emotion_core.training.net import EmotionNet

    return EmotionNet(_shape(config), classes=len(EMOTIONS))


def _initial_net(config: TrainingConfig) -> Any:
    """A new network, or the one exported at ``config.init_from`` to go on training."""
    if config.init_from is None:
        return _build_net(config)
    from emotion_core.training.net_import import load_exported

    return load_exported(config.init_from, _shape(config), classes=len(EMOTIONS))


def _earlier_run(model_path: Path, config: TrainingConfig) -> dict[str, Any]:
    """The record of an earlier run's model (--init-from, --distil-from), once it is known to
    have held out the faces this run holds out: else this run's validation faces would be faces
    that model was trained on."""
    if not model_path.is_file():
        raise RunLogError(f"model file not found: {model_path}")
    log = read_run_log(model_path)
    theirs = held_out_settings(log)
    ours = {k: getattr(config, k) for k in SPLIT_SETTINGS}
    if theirs != ours:
        raise RunLogError(f"{model_path} held out other faces for validation ({theirs}) "
                          f"than this run would ({ours}): give the same --seed and --limit")
    return {"file": str(model_path), "sha256": file_sha256(model_path), "training": log}


def teacher_readings(model_path: Path, config: TrainingConfig, train_set: FaceSet,
                     val_set: FaceSet) -> tuple[np.ndarray, dict[str, Any]]:
    """The probabilities of the model at ``model_path`` (--distil-from) for every training face
    (averaged over the face's zooms, and its mirror inside the graph), and its record with its
    validation accuracy."""
    record = _earlier_run(model_path, config)
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


def _normalise(x: Any, standardise: bool) -> Any:
    """Grey values 0..255 (N, 1, H, W) → the network's input; the ONNX graph does the same."""
    if standardise:
        # each face to zero mean and unit contrast: lighting and camera gain vary far more in a
        # classroom than across FER2013's web photos
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / (std + 8.0)
    return x / 127.5 - 1.0


def augment(x: Any, aug: Augmentation, generator: Any) -> Any:
    """Randomly changed copies of grey faces x (N, 1, H, W) float 0..255, on x's device."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]

    def uniform(low: float, high: float) -> Any:
        return (torch.rand(n, generator=generator) * (high - low) + low).to(x.device)

    angle = uniform(-aug.rotation, aug.rotation) * (math.pi / 180)
    scale = uniform(1 - aug.scale, 1 + aug.scale)
    flip = (torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if aug.flip
            else torch.ones(n)).to(x.device)
    tx, ty = uniform(-aug.shift, aug.shift) * 2, uniform(-aug.shift, aug.shift) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    contrast = uniform(1 - aug.contrast, 1 + aug.contrast).view(n, 1, 1, 1)
    brightness = uniform(-aug.brightness, aug.brightness).view(n, 1, 1, 1) * 255
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + brightness).clamp(0, 255)

    if aug.erase_probability > 0:
        h, w = x.shape[2], x.shape[3]
        area = uniform(*aug.erase_area) * h * w
        aspect = torch.exp(uniform(math.log(0.5), math.log(2.0)))
        eh = torch.sqrt(area * aspect).clamp(1, h - 1)
        ew = torch.sqrt(area / aspect).clamp(1, w - 1)
        y0 = uniform(0, 1) * (h - eh)
        x0 = uniform(0, 1) * (w - ew)
        erase = uniform(0, 1) < aug.erase_probability
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        mask = ((ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1))
                & (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1)) & erase.view(n, 1, 1))
        fill = uniform(0, 255).view(n, 1, 1)
        x = torch.where(mask.unsqueeze(1), fill.unsqueeze(1), x)
    return x


def predict(net: Any, images: np.ndarray, device: Any, standardise: bool,
            flip: bool = False, batch_size: int = 1024) -> np.ndarray:
    """Probabilities (N, 7) for grey faces (N, 48, 48) uint8; ``flip`` averages with the mirror."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).to(device).float().unsqueeze(1)
            x = _normalise(x, standardise)
            p = torch.softmax(net(x), dim=1)
            if flip:
                p = (p + torch.softmax(net(torch.flip(x, dims=[3])), dim=1)) / 2
            out.append(p.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), np.float32)


def score(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    predicted = [EMOTIONS[i] for i in probabilities.argmax(axis=1)]
    return classification_metrics([EMOTIONS[i] for i in labels], predicted)


def _learning_rate(config: TrainingConfig, step: int, steps_per_epoch: int, progress: float) -> float:
    """Linear warm-up for ``warmup_epochs``, then a cosine decay that reaches zero when
    ``progress`` (the share of the run done: of its epochs, or of ``max_minutes`` if that comes
    first) reaches 1; constant after the warm-up when the weights are averaged."""
    warmup = config.warmup_epochs * steps_per_epoch
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    if config.average_weights:
        return config.learning_rate
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class WeightAverage:
    """The running mean of a network's weights, taken at the end of chosen epochs."""

    def __init__(self, net: Any) -> None:
        import copy

        self.net = copy.deepcopy(net)
        self.count = 0

    def add(self, net: Any) -> None:
        import torch

        self.count += 1
        with torch.no_grad():
            for mean, current in zip(self.net.state_dict().values(), net.state_dict().values(),
                                     strict=True):
                if mean.is_floating_point():
                    mean += (current - mean) / self.count
                else:
                    mean.copy_(current)

    def measure_batch_norms(self, faces: Any, batch_size: int = 256) -> None:
        """Running statistics of the batch norms, measured afresh on ``faces`` through the
        averaged weights (the mean of the networks' statistics is not the statistics of their
        mean)."""
        import torch
        from torch import nn

        norms = [m for m in self.net.modules() if isinstance(m, nn.BatchNorm2d)]
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches below
        self.net.train()
        with torch.no_grad():
            for start in range(0, len(faces), batch_size):
                self.net(faces[start:start + batch_size])
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        self.net.eval()


def train(
    config: TrainingConfig,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = True,
) -> TrainingResult:
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from emotion_core.training.net import parameter_count
    from emotion_core.training.net_import import restore_batch_norms

    started = time.perf_counter()
    init = _earlier_run(config.init_from, config) if config.init_from else None
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    device = select_device(config.device)
    train_set, val_set = training_split(config.data, config.val_fraction, config.seed,
                                        config.limit)
    public_test = load_public_test(config.data)
    soft = teacher = None
    if config.distil_from:
        readings, teacher = teacher_readings(config.distil_from, config, train_set, val_set)
        soft = torch.from_numpy(readings).to(device)

    net = _initial_net(config).to(device).to(memory_format=torch.channels_last)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]
    optimiser = torch.optim.SGD(
        [{"params": decay, "weight_decay": config.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate, momentum=config.momentum, nesterov=True,
    )
    weights = torch.tensor(
        class_weights(train_set.class_counts(), config.class_weight_power), dtype=torch.float32
    ).to(device)
    images = torch.from_numpy(train_set.images).to(device)
    labels = torch.from_numpy(train_set.labels).to(device)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(1, len(train_set) // config.batch_size)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    # augmented training faces to measure batch statistics on: an imported network's, and the
    # weight average's (whose batch norms must see what its averaged weights make of them)
    reference = None
    if config.init_from or config.average_weights:
        pick = torch.randperm(len(train_set), generator=generator)[:REFERENCE_FACES].to(device)
        reference = _normalise(augment(images[pick].float().unsqueeze(1), config.augmentation,
                                       generator), config.standardise)
    if config.init_from:
        restore_batch_norms(net, reference)

    total_steps = config.epochs * steps_per_epoch
    warmup_steps = config.warmup_epochs * steps_per_epoch

    def _progress(step: int) -> float:
        done = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if config.max_minutes:
            done = max(done, (time.perf_counter() - started) / (config.max_minutes * 60))
        return done

    average = WeightAverage(net) if config.average_weights else None
    history: list[EpochRecord] = []
    best_state: dict[str, Any] | None = None
    best_accuracy, best_epoch, step = -1.0, 0, 0
    faces_seen, train_seconds = 0, 0.0
    for epoch in range(1, config.epochs + 1):
        net.train()
        epoch_started = time.perf_counter()
        order = torch.randperm(len(train_set), generator=generator).to(device)
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   disable=not progress, file=sys.stderr, leave=False)
        for b in bar:
            index = order[b * config.batch_size:(b + 1) * config.batch_size]
            x = augment(images[index].float().unsqueeze(1), config.augmentation, generator)
            x = _normalise(x, config.standardise).contiguous(memory_format=torch.channels_last)
            lr = _learning_rate(config, step, steps_per_epoch, _progress(step))
            for group in optimiser.param_groups:
                group["lr"] = lr
            with autocast:
                logits = net(x)
            loss = F.cross_entropy(logits.float(), labels[index], weight=weights,
                                   label_smoothing=config.label_smoothing)
            if soft is not None:  # the teacher's probabilities, as a cross-entropy of their own
                learnt = -(soft[index] * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
                loss = (1 - config.distil_weight) * loss + config.distil_weight * learnt
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            faces_seen += len(index)
            if b % 20 == 0:
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.3f}", lr=f"{lr:.4f}", refresh=False)
        bar.close()
        train_seconds += time.perf_counter() - epoch_started
        kept = net  # the weights this epoch is judged by: the running mean once there is one
        if average is not None and epoch > config.warmup_epochs:
            average.add(net)
            average.measure_batch_norms(reference)
            kept = average.net
        metrics = score(predict(kept, val_set.images, device, config.standardise), val_set.labels)
        record = EpochRecord(
            epoch=epoch, learning_rate=lr, train_loss=float(np.mean(losses)),
            val_accuracy=metrics["accuracy"], val_macro_f1=metrics["macro_f1"],
            seconds=time.perf_counter() - epoch_started,
        )
        history.append(record)
        if on_epoch:
            on_epoch(record)
        if record.val_accuracy > best_accuracy:
            best_accuracy, best_epoch = record.val_accuracy, epoch
            best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
        elif epoch - best_epoch >= config.patience and _progress(step) > 0.5:
            # only once the learning rate has come down: at a high rate validation accuracy
            # wanders for many epochs and the best ones come as the rate anneals
            print(f"stopping early: no better validation accuracy for {config.patience} epochs",
                  file=sys.stderr)
            break
        if epoch < config.epochs and _progress(step) >= 1:
            print(f"stopping: the {config.max_minutes:g}-minute budget is spent", file=sys.stderr)
            break

    assert best_state is not None
    net.load_state_dict(best_state)
    validation = score(predict(net, val_set.images, device, config.standardise), val_set.labels)
    test = test_flip = None
    if public_test is not None:
        test = score(predict(net, public_test.images, device, config.standardise),
                     public_test.labels)
        test_flip = score(predict(net, public_test.images, device, config.standardise, flip=True),
                          public_test.labels)
    config.out.mkdir(parents=True, exist_ok=True)
    model_path = config.out / MODEL_FILE
    export_onnx(net, config.standardise, model_path)
    return TrainingResult(
        config=config, device=str(device), parameters=parameter_count(net),
        train_faces=len(train_set), val_faces=len(val_set), best_epoch=best_epoch,
        epochs_run=len(history), seconds=time.perf_counter() - started,
        faces_per_second=faces_seen / max(train_seconds, 1e-9), history=history,
        validation=validation, public_test=test, public_test_flip=test_flip,
        model_path=model_path, model_sha256=file_sha256(model_path), init=init,
        teacher=teacher,
    )


def export_onnx(net: Any, standardise: bool, path: Path) -> None:
    """Write ``net`` as ONNX: (N, 48, 48) grey values 0..255 in, (N, 7) probabilities out.

    The graph averages the probabilities of each face and its mirror image (test-time flip), as
    ``predict(..., flip=True)`` does when the run is measured.
    """
    import torch

    class Deployed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, faces: torch.Tensor) -> torch.Tensor:
            x = _normalise(faces.unsqueeze(1), standardise)
            mirrored = torch.flip(x, dims=[3])
            return (torch.softmax(self.net(x), dim=1) + torch.softmax(self.net(mirrored), dim=1)) / 2

    deployed = Deployed().cpu().eval()
    example = torch.zeros(2, FACE_SIZE, FACE_SIZE)
    torch.onnx.export(
        deployed, (example,), str(path), dynamo=False, opset_version=17,
        input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT],
        dynamic_axes={ONNX_INPUT: {0: "faces"}, ONNX_OUTPUT: {0: "faces"}},
    )


def table_row(name: str, metrics: dict[str, Any] | None) -> str:
    """One row of a model card's accuracy table."""
    if metrics is None:
        return f"| {name} | not measured (set absent) | |"
    return f"| {name} | {metrics['accuracy']:.3f} | {metrics['macro_f1']:.3f} |"


def per_class_rows(metrics: dict[str, Any] | None) -> str:
    """A model card's per-class table rows (precision, recall, F1, support); empty without
    ``metrics``."""
    if metrics is None:
        return ""
    return "\n".join(
        f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
        f"| {row['support']} |"
        for label, row in metrics["per_class"].items()
    )


def write_outputs(result: TrainingResult, command: str) -> None:
    """``training.json`` and ``MODEL_CARD.md`` beside the model."""
    config = result.config
    log = {
        "command": command,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "device": result.device,
        "torch": _torch_version(),
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
    }
    (config.out / LOG_FILE).write_text(json.dumps(log, indent=1) + "\n")
    shape = _shape(config)
    per_class = per_class_rows(result.public_test)
    card = f"""# Classroom mood emotion model (`{MODEL_FILE}`)

A small residual CNN that reads a grey face as probabilities over the 7 FER2013 classes
({", ".join(EMOTIONS)}). Trained by this project with torch; run by the app with onnxruntime.

**What it is not.** Facial expression is not inner feeling. The model was trained on web photos
of mostly adult faces and is less accurate on children; the app shows its probabilities as
trends, never as a verdict about a child.

## Interface
- Input `{ONNX_INPUT}`: float32 (N, 48, 48), grey values 0..255 of a square face crop (the app's
  `crops.grey_face_crops`, the same path in analysis and evaluation).
- Output `{ONNX_OUTPUT}`: float32 (N, 7), rows summing to 1, in the order above.
- Normalisation is inside the graph ({"per-face standardisation" if config.standardise
  else "scaling to [-1, 1]"}).

## Architecture
{shape.describe()}; {result.parameters:,} parameters.

## Training data and its terms
FER2013 (Goodfellow et al., ICML 2013 workshop; released through Kaggle): the 28,709 training
faces, of which {result.val_faces:,} ({config.val_fraction:.0%} of each class, seed {config.seed})
were held out for validation and early stopping, leaving {result.train_faces:,} to train on. The
public test set was used only to measure and choose between runs, never to train. FER2013 states
no licence; it is widely used for research. The images are not redistributed here, only weights
learnt from them.

## How it was made
```
{command}
```
Device {result.device}, torch {_torch_version()}; {result.epochs_run} epochs run, best
validation accuracy at epoch {result.best_epoch}; {result.seconds / 60:.1f} min in all,
{result.faces_per_second:.0f} training faces/s. SGD with Nesterov momentum {config.momentum},
learning rate {config.learning_rate} ({_schedule(config)}),
weight decay {config.weight_decay}, batch {config.batch_size}, label smoothing
{config.label_smoothing}, class weights ∝ 1/count^{config.class_weight_power}; augmentation
{asdict(config.augmentation)}.
{_init_text(result)}{_teacher_text(result)}
sha256 of `{MODEL_FILE}`: `{result.model_sha256}`

## Accuracy (tight 48×48 FER2013 crops, no face detection)
| set | accuracy | macro-F1 |
|---|---|---|
{table_row(f"validation split ({result.val_faces:,} faces)", result.validation)}
{table_row("FER2013 public test", result.public_test)}
{table_row("FER2013 public test, flip-averaged", result.public_test_flip)}

Per class on the public test:

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}
"""
    (config.out / CARD_FILE).write_text(card)


def _schedule(config: TrainingConfig) -> str:
    if config.average_weights:
        return (f"warm-up {config.warmup_epochs} epochs, then constant; the weights averaged "
                "over each epoch's end after the warm-up, up to the best epoch")
    return f"warm-up {config.warmup_epochs} epochs, cosine decay"


def _init_text(result: TrainingResult) -> str:
    """The model card's paragraph on the model this run went on training, if any."""
    if result.init is None:
        return ""
    earlier = result.init["training"]
    return f"""
This run went on training `{result.init["file"]}` (sha256 `{result.init["sha256"]}`; its batch
norms given statistics again from {REFERENCE_FACES:,} augmented training faces), which was made
with
```
{earlier.get("command", "(command not recorded)")}
```
on {earlier.get("device", "?")} ({earlier.get("epochs_run", "?")} epochs,
{earlier.get("seconds", 0) / 60:.1f} min); its log is under `init` in `{LOG_FILE}`.
"""


def _teacher_text(result: TrainingResult) -> str:
    """The model card's paragraph on the model this run learnt from, if any."""
    if result.teacher is None:
        return ""
    config, teacher = result.config, result.teacher
    zooms = ", ".join(map(str, config.distil_zooms)) or "none"
    return f"""
It learnt from `{teacher["file"]}` (sha256 `{teacher["sha256"]}`) as well as from the labels:
that model's probabilities for each training face, averaged over the face's mirror and its
zooms ({zooms}), weighed {config.distil_weight} in the loss, the labels
{1 - config.distil_weight:g} (knowledge distillation). Its averaged readings score
{teacher["validation"]["accuracy"]:.3f} on the validation split; its log is under `teacher` in
`{LOG_FILE}`.
"""


def _zooms(text: str) -> tuple[float, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        return tuple(float(z) for z in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"zooms must be numbers like 1.08,0.92 or none, not {text!r}")


def _torch_version() -> str:
    import torch

    return torch.__version__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainingConfig(data=Path("."), out=Path("."))
    parser.add_argument("--data", type=Path, required=True,
                        help="folder with fer2013_train.npz (and public_test/ to measure on)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"at most ({d.epochs})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--lr", type=float, default=d.learning_rate, help="peak learning rate")
    parser.add_argument("--warmup-epochs", type=int, default=d.warmup_epochs,
                        help=f"epochs of linear learning-rate warm-up ({d.warmup_epochs})")
    parser.add_argument("--patience", type=int, default=d.patience,
                        help=f"stop after this many epochs without a better validation ({d.patience})")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="fit the run into this wall-clock budget: the learning-rate "
                        "schedule is compressed to end with it")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--limit", type=int, default=None,
                        help="train on a stratified sample of this many faces (quick runs)")
    parser.add_argument("--stages", type=lambda s: tuple(int(c) for c in s.split(",")),
                        default=d.stages, help="channels per stage (48,96,192)")
    parser.add_argument("--blocks", type=int, default=d.blocks, help="residual blocks per stage")
    parser.add_argument("--init-from", type=Path, default=None, metavar="MODEL",
                        help="go on training this model.onnx (an earlier run's, of the shape "
                        "--stages/--blocks give) instead of starting from random weights")
    parser.add_argument("--average-weights", action="store_true",
                        help="after the warm-up keep --lr constant and keep the mean of each "
                        "epoch's weights (stochastic weight averaging)")
    parser.add_argument("--distil-from", type=Path, default=None, metavar="MODEL",
                        help="learn from this model.onnx's probabilities as well as from the "
                        "labels (an earlier run's, that held out the same validation faces)")
    parser.add_argument("--distil-weight", type=float, default=d.distil_weight,
                        help=f"the share of the teacher's probabilities in the loss ({d.distil_weight})")
    parser.add_argument("--distil-zooms", type=_zooms, default=d.distil_zooms,
                        help="the teacher reads each face and these zooms of it, averaged "
                        f"({','.join(map(str, d.distil_zooms))}; none for the face alone)")
    parser.add_argument("--no-standardise", action="store_true",
                        help="scale pixels to [-1, 1] instead of standardising each face")
    parser.add_argument("--device", default="auto", help="auto (GPU when torch sees one), cpu, cuda")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def run(args: argparse.Namespace, command: str) -> int:
    try:
        config = TrainingConfig(
            data=args.data, out=args.out, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.lr, warmup_epochs=args.warmup_epochs, patience=args.patience,
            max_minutes=args.max_minutes,
            seed=args.seed, limit=args.limit,
            stages=args.stages, blocks=args.blocks, standardise=not args.no_standardise,
            device=args.device, init_from=args.init_from, average_weights=args.average_weights,
            distil_from=args.distil_from, distil_weight=args.distil_weight,
            distil_zooms=args.distil_zooms,
        )
        select_device(config.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def report(r: EpochRecord) -> None:
        print(f"epoch {r.epoch}: loss {r.train_loss:.3f}, validation accuracy "
              f"{r.val_accuracy:.3f}, macro-F1 {r.val_macro_f1:.3f} ({r.seconds:.0f} s)",
              file=sys.stderr, flush=True)

    try:
        result = train(config, on_epoch=report, progress=not args.no_progress)
    except (DatasetError, NetImportError, RunLogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_outputs(result, command)
    summary = {"model": str(result.model_path), "sha256": result.model_sha256,
               "best_epoch": result.best_epoch, "minutes": round(result.seconds / 60, 1),
               "validation_accuracy": round(result.validation["accuracy"], 4)}
    if result.public_test:
        summary["public_test_accuracy"] = round(result.public_test["accuracy"], 4)
        summary["public_test_macro_f1"] = round(result.public_test["macro_f1"], 4)
    print(json.dumps(summary), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emotion_core.training",
        description="Train the Classroom mood emotion model on FER2013 and export it to ONNX.",
    )
    add_arguments(parser)
    argv = sys.argv[1:] if argv is None else argv
    return run(parser.parse_args(argv), "python -m emotion_core.training " + " ".join(argv))


if __name__ == "__main__":
    sys.exit(main())
