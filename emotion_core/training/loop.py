"""The training loop: SGD on FER2013, judged each epoch on the held-out faces, best one exported."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from emotion_core.core.files import file_sha256
from emotion_core.core.labels import EMOTIONS
from emotion_core.evaluation.metrics import expected_calibration_error
from emotion_core.training.augment import augment, normalise
from emotion_core.training.calibration import (
    at_heights,
    fit_temperature,
    mirrored_logits,
    read_with_temperature,
)
from emotion_core.training.config import REFERENCE_FACES, TrainingConfig
from emotion_core.training.distillation import teacher_readings
from emotion_core.training.export import export_onnx
from emotion_core.training.fer2013 import FaceSet, load_public_test, training_split
from emotion_core.training.measure import predict, score, softmax
from emotion_core.training.net_import import load_exported, restore_batch_norms
from emotion_core.training.photo_faces import load_photo_split
from emotion_core.training.results import EpochRecord, TrainingResult
from emotion_core.training.run_log import MODEL_FILE, earlier_run
from emotion_core.training.weight_average import WeightAverage


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


def initial_net(config: TrainingConfig) -> Any:
    """A new network, or the one exported at ``config.init_from`` to go on training."""
    if config.init_from is None:
        from emotion_core.training.net import EmotionNet

        return EmotionNet(config.net_shape(), classes=len(EMOTIONS))
    return load_exported(config.init_from, config.net_shape(), classes=len(EMOTIONS))


class LearningRateSchedule:
    """Linear warm-up for ``warmup_epochs``, then a cosine decay that reaches zero when the run
    is done (its epochs, or ``max_minutes`` if that comes first); constant after the warm-up
    when the weights are averaged."""

    def __init__(self, config: TrainingConfig, steps_per_epoch: int, started: float) -> None:
        self.config = config
        self.started = started
        self.total_steps = config.epochs * steps_per_epoch
        self.warmup_steps = config.warmup_epochs * steps_per_epoch

    def progress(self, step: int) -> float:
        """The share of the run done after ``step`` steps: of its epochs after the warm-up, or
        of its minutes, whichever is further."""
        done = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        if self.config.max_minutes:
            done = max(done, (time.perf_counter() - self.started) / (self.config.max_minutes * 60))
        return done

    def rate(self, step: int) -> float:
        config = self.config
        progress = self.progress(step)
        if step < self.warmup_steps:
            return config.learning_rate * (step + 1) / self.warmup_steps
        if config.average_weights:
            return config.learning_rate
        return config.learning_rate * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class _Run:
    """One run's network, optimiser and training faces on the device, and how far it has got."""

    def __init__(self, config: TrainingConfig, train_set: FaceSet, soft: Any, device: Any,
                 started: float) -> None:
        import torch

        self.config, self.device, self.soft = config, device, soft
        self.net = initial_net(config).to(device).to(memory_format=torch.channels_last)
        decay = [p for n, p in self.net.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in self.net.named_parameters() if p.ndim <= 1]
        self.optimiser = torch.optim.SGD(
            [{"params": decay, "weight_decay": config.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=config.learning_rate, momentum=config.momentum, nesterov=True,
        )
        self.class_weights = torch.tensor(
            class_weights(train_set.class_counts(), config.class_weight_power), dtype=torch.float32
        ).to(device)
        self.images = torch.from_numpy(train_set.images).to(device)
        self.labels = torch.from_numpy(train_set.labels).to(device)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.steps_per_epoch = max(1, len(train_set) // config.batch_size)
        self.schedule = LearningRateSchedule(config, self.steps_per_epoch, started)
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
        self.step, self.faces_seen, self.train_seconds = 0, 0, 0.0
        # augmented training faces to measure batch statistics on: an imported network's, and
        # the weight average's (whose batch norms must see what its averaged weights make of
        # them)
        self.reference = None
        if config.init_from or config.average_weights:
            pick = torch.randperm(len(train_set), generator=self.generator)[:REFERENCE_FACES]
            faces = self.images[pick.to(device)].float().unsqueeze(1)
            self.reference = normalise(augment(faces, config.augmentation, self.generator),
                                       config.standardise)
        if config.init_from:
            restore_batch_norms(self.net, self.reference)
        self.average = WeightAverage(self.net) if config.average_weights else None

    def train_epoch(self, epoch: int, progress: bool) -> tuple[float, float]:
        """One pass over the training faces in a random order: the mean of the losses sampled
        along it, and the learning rate it ended at."""
        import torch
        from tqdm import tqdm

        config = self.config
        self.net.train()
        started = time.perf_counter()
        order = torch.randperm(len(self.images), generator=self.generator).to(self.device)
        losses, lr = [], config.learning_rate
        bar = tqdm(range(self.steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}",
                   unit="batch", disable=not progress, file=sys.stderr, leave=False)
        for b in bar:
            index = order[b * config.batch_size:(b + 1) * config.batch_size]
            loss, lr = self._train_step(index)
            self.faces_seen += len(index)
            if b % 20 == 0:
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.3f}", lr=f"{lr:.4f}", refresh=False)
        bar.close()
        self.train_seconds += time.perf_counter() - started
        return float(np.mean(losses)), lr

    def _train_step(self, index: Any) -> tuple[Any, float]:
        """One SGD step on the faces at ``index``, augmented: the loss and the learning rate."""
        import torch
        import torch.nn.functional as F

        config = self.config
        x = augment(self.images[index].float().unsqueeze(1), config.augmentation, self.generator)
        x = normalise(x, config.standardise).contiguous(memory_format=torch.channels_last)
        lr = self.schedule.rate(self.step)
        for group in self.optimiser.param_groups:
            group["lr"] = lr
        with self.autocast:
            logits = self.net(x)
        loss = F.cross_entropy(logits.float(), self.labels[index], weight=self.class_weights,
                               label_smoothing=config.label_smoothing)
        if self.soft is not None:  # the teacher's probabilities, as a cross-entropy of their own
            learnt = -(self.soft[index] * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
            loss = (1 - config.distil_weight) * loss + config.distil_weight * learnt
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        self.step += 1
        return loss, lr

    def judged_net(self, epoch: int) -> Any:
        """The weights this epoch is judged by: the running mean once there is one."""
        if self.average is None or epoch <= self.config.warmup_epochs:
            return self.net
        self.average.add(self.net)
        self.average.measure_batch_norms(self.reference)
        return self.average.net


def _fit(run: _Run, val_set: FaceSet, on_epoch: Callable[[EpochRecord], None] | None,
         progress: bool) -> tuple[list[EpochRecord], int]:
    """Train epoch after epoch until the run is done or stops early; leaves the best epoch's
    weights in ``run.net`` and gives the history and the best epoch."""
    config = run.config
    history: list[EpochRecord] = []
    best_state: dict[str, Any] | None = None
    best_accuracy, best_epoch = -1.0, 0
    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        train_loss, lr = run.train_epoch(epoch, progress)
        kept = run.judged_net(epoch)
        metrics = score(predict(kept, val_set.images, run.device, config.standardise),
                        val_set.labels)
        record = EpochRecord(
            epoch=epoch, learning_rate=lr, train_loss=train_loss,
            val_accuracy=metrics["accuracy"], val_macro_f1=metrics["macro_f1"],
            seconds=time.perf_counter() - epoch_started,
        )
        history.append(record)
        if on_epoch:
            on_epoch(record)
        if record.val_accuracy > best_accuracy:
            best_accuracy, best_epoch = record.val_accuracy, epoch
            best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
        elif epoch - best_epoch >= config.patience and run.schedule.progress(run.step) > 0.5:
            # only once the learning rate has come down: at a high rate validation accuracy
            # wanders for many epochs and the best ones come as the rate anneals
            print(f"stopping early: no better validation accuracy for {config.patience} epochs",
                  file=sys.stderr)
            break
        if epoch < config.epochs and run.schedule.progress(run.step) >= 1:
            print(f"stopping: the {config.max_minutes:g}-minute budget is spent", file=sys.stderr)
            break
    assert best_state is not None
    run.net.load_state_dict(best_state)
    return history, best_epoch


def _public_test_scores(net: Any, public_test: FaceSet | None, device: Any,
                        standardise: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The network's scores on the public test set, alone and flip-averaged; None without it."""
    if public_test is None:
        return None, None
    plain = score(predict(net, public_test.images, device, standardise), public_test.labels)
    flipped = score(predict(net, public_test.images, device, standardise, flip=True),
                    public_test.labels)
    return plain, flipped


def _data(config: TrainingConfig, progress: bool) -> tuple[FaceSet, FaceSet, FaceSet | None]:
    """(train, validation, held-out photos): FER2013 split as before, with the labelled photos'
    training faces (repeated) and their held-out faces added when the run has ``photos``."""
    train_set, val_set = training_split(config.data, config.val_fraction, config.seed,
                                        config.limit)
    if config.photos is None:
        return train_set, val_set, None
    photo_train, photo_val = load_photo_split(config.photos, show_progress=progress)
    train_set = train_set.joined(*[photo_train] * config.photo_repeats)
    return train_set, val_set.joined(photo_val), photo_val


def _calibrated(run: _Run, judged: FaceSet, plain: np.ndarray, mirrored: np.ndarray,
                photo_val: FaceSet | None
                ) -> tuple[float, dict[str, Any], dict[str, Any] | None]:
    """The temperature of the best epoch's network (1 unless the run calibrates), given its
    logits of the judged validation faces and of their mirror images; the expected calibration
    error on those faces before and after it, and the scores of the held-out photos read with
    it."""
    config, heights = run.config, run.config.val_heights
    temperature = fit_temperature(plain, mirrored, judged.labels) if config.calibrate else 1.0
    per_height = len(judged) // len(heights)
    calibration: dict[str, Any] = {"temperature": temperature, "ece_before": {}, "ece_after": {}}
    for i, height in enumerate(heights):
        part = slice(i * per_height, (i + 1) * per_height)
        for key, t in (("ece_before", 1.0), ("ece_after", temperature)):
            readings = read_with_temperature(plain[part], mirrored[part], t)
            calibration[key][str(height)] = round(
                expected_calibration_error(readings, judged.labels[part]), 4)
    photos = None
    if photo_val is not None:
        p, m = mirrored_logits(run.net, photo_val.images, run.device, config.standardise)
        photos = score(read_with_temperature(p, m, temperature), photo_val.labels)
    return temperature, calibration, photos


def train(
    config: TrainingConfig,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = True,
) -> TrainingResult:
    """One training run (see ``train.py``), its network exported to ``config.out``."""
    import torch

    from emotion_core.training.net import parameter_count

    started = time.perf_counter()
    init = earlier_run(config.init_from, config) if config.init_from else None
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    device = select_device(config.device)
    train_set, val_set, photo_val = _data(config, progress)
    judged = at_heights(val_set, config.val_heights)
    public_test = load_public_test(config.data)
    soft = teacher = None
    if config.distil_from:
        readings, teacher = teacher_readings(config.distil_from, config, train_set, val_set)
        soft = torch.from_numpy(readings).to(device)

    run = _Run(config, train_set, soft, device, started)
    history, best_epoch = _fit(run, judged, on_epoch, progress)
    plain, mirrored = mirrored_logits(run.net, judged.images, device, config.standardise)
    validation = score(softmax(plain), judged.labels)
    temperature, calibration, photos = _calibrated(run, judged, plain, mirrored, photo_val)
    test, test_flip = _public_test_scores(run.net, public_test, device, config.standardise)
    config.out.mkdir(parents=True, exist_ok=True)
    model_path = config.out / MODEL_FILE
    export_onnx(run.net, config.standardise, model_path, temperature)
    return TrainingResult(
        config=config, device=str(device), torch_version=torch.__version__,
        parameters=parameter_count(run.net), train_faces=len(train_set), val_faces=len(val_set),
        best_epoch=best_epoch, epochs_run=len(history), seconds=time.perf_counter() - started,
        faces_per_second=run.faces_seen / max(run.train_seconds, 1e-9), history=history,
        validation=validation, public_test=test, public_test_flip=test_flip,
        model_path=model_path, model_sha256=file_sha256(model_path), init=init,
        teacher=teacher, temperature=temperature, calibration=calibration,
        held_out_photos=photos,
    )
