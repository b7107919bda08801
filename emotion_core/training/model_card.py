"""MODEL_CARD.md: one card layout for a trained network and for an average of several."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from emotion_core.core.labels import EMOTIONS
from emotion_core.training.config import REFERENCE_FACES
from emotion_core.training.export import ONNX_INPUT, ONNX_OUTPUT
from emotion_core.training.results import TrainingResult
from emotion_core.training.run_log import CARD_FILE, LOG_FILE, MODEL_FILE

Metrics = dict[str, Any]


@dataclass(frozen=True)
class ModelCard:
    """What a model card says that differs between one trained network and an average."""

    about: str  # what the model is, under the title
    what_it_is_not: str  # the paragraph on what its readings do not mean
    output: str  # the interface after "in the order above"
    makeup: str  # a section on its architecture, or on its members
    held_out: str  # which training faces were held out, and what for
    commands: str  # the commands that made it
    run_notes: str  # how the run went, under the commands
    sha256: str
    accuracy_of: str  # whose accuracy the table gives, when not plainly the model's
    accuracy: tuple[tuple[str, Metrics | None], ...]  # (set, its metrics) a row
    public_test: Metrics | None  # per class in a table of its own
    other_data: str = ""  # a paragraph on data trained on beside FER2013, and its terms


def write_model_card(folder: Path, card: ModelCard) -> None:
    """``MODEL_CARD.md`` in ``folder``."""
    (folder / CARD_FILE).write_text(render(card))


def render(card: ModelCard) -> str:
    rows = "\n".join(table_row(name, metrics) for name, metrics in card.accuracy)
    return f"""# Classroom mood emotion model (`{MODEL_FILE}`)

{card.about}

{card.what_it_is_not}

## Interface
- Input `{ONNX_INPUT}`: float32 (N, 48, 48), grey values 0..255 of a square face crop (the app's
  `crops.grey_face_crops`, the same path in analysis and evaluation).
- Output `{ONNX_OUTPUT}`: float32 (N, 7), rows summing to 1, in the order above{card.output}

{card.makeup}

## Training data and its terms
FER2013 (Goodfellow et al., ICML 2013 workshop; released through Kaggle): the 28,709 training
faces, of which {card.held_out} The
public test set was used only to measure and choose between runs, never to train. FER2013 states
no licence; it is widely used for research. The images are not redistributed here, only weights
learnt from them.
{card.other_data}
## How it was made
```
{card.commands}
```
{card.run_notes}
sha256 of `{MODEL_FILE}`: `{card.sha256}`

## Accuracy{card.accuracy_of} (tight 48×48 FER2013 crops, no face detection)
| set | accuracy | macro-F1 |
|---|---|---|
{rows}

Per class on the public test:

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class_rows(card.public_test)}
"""


def table_row(name: str, metrics: Metrics | None) -> str:
    """One row of a model card's accuracy table."""
    if metrics is None:
        return f"| {name} | not measured (set absent) | |"
    return f"| {name} | {metrics['accuracy']:.3f} | {metrics['macro_f1']:.3f} |"


def per_class_rows(metrics: Metrics | None) -> str:
    """A model card's per-class table rows (precision, recall, F1, support); empty without
    ``metrics``."""
    if metrics is None:
        return ""
    return "\n".join(
        f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
        f"| {row['support']} |"
        for label, row in metrics["per_class"].items()
    )


def training_card(result: TrainingResult, command: str) -> ModelCard:
    """The card of one training run's network."""
    config = result.config
    normalisation = "per-face standardisation" if config.standardise else "scaling to [-1, 1]"
    about = f"""\
A small residual CNN that reads a grey face as probabilities over the 7 FER2013 classes
({", ".join(EMOTIONS)}). Trained by this project with torch; run by the app with onnxruntime."""
    what_it_is_not = """\
**What it is not.** Facial expression is not inner feeling. The model was trained on web photos
of mostly adult faces and is less accurate on children; the app shows its probabilities as
trends, never as a verdict about a child."""
    held_out = f"""\
{config.val_fraction:.0%} of each class (seed {config.seed}) were held out for validation and
early stopping{_with_photos(config)}: {result.val_faces:,} validation faces in all, and
{result.train_faces:,} faces trained on each epoch."""
    run_notes = f"""\
Device {result.device}, torch {result.torch_version}; {result.epochs_run} epochs run, best
validation accuracy at epoch {result.best_epoch}; {result.seconds / 60:.1f} min in all,
{result.faces_per_second:.0f} training faces/s. SGD with Nesterov momentum {config.momentum},
learning rate {config.learning_rate} ({config.schedule()}),
weight decay {config.weight_decay}, batch {config.batch_size}, label smoothing
{config.label_smoothing}, class weights ∝ 1/count^{config.class_weight_power}; augmentation
{asdict(config.augmentation)}.
{_calibration_text(result)}{_init_text(result)}{_teacher_text(result)}"""
    return ModelCard(
        about=about,
        what_it_is_not=what_it_is_not,
        output=f".\n- Normalisation is inside the graph ({normalisation}).",
        makeup=(f"## Architecture\n"
                f"{config.net_shape().describe()}; {result.parameters:,} parameters."),
        held_out=held_out,
        commands=command,
        run_notes=run_notes,
        sha256=result.model_sha256,
        accuracy_of="",
        accuracy=(
            (f"validation split ({result.val_faces:,} faces{_at_heights(config)})",
             result.validation),
            ("FER2013 public test", result.public_test),
            ("FER2013 public test, flip-averaged", result.public_test_flip),
        ),
        public_test=result.public_test,
        other_data=_photos_text(result),
    )


def _with_photos(config: Any) -> str:
    return "" if config.photos is None else ", with the labelled photos' held-out faces (below)"


def _at_heights(config: Any) -> str:
    if config.val_heights == (48,):
        return ""
    return " at " + ", ".join(str(h) for h in config.val_heights) + " px"


def _photos_text(result: TrainingResult) -> str:
    """The model card's paragraph on the labelled photos trained on beside FER2013, if any."""
    config, scores = result.config, result.held_out_photos
    if config.photos is None or scores is None:
        return ""
    held = sum(row["support"] for row in scores["per_class"].values())
    return f"""
It was also trained on the labelled photos of `{config.photos}` (each face counted
{config.photo_repeats} times an epoch), cut as the app cuts a face (MTCNN, eye alignment), their
source photos split by a hash of the photo's name: {held:,} faces of a fifth of the photos were
held out, never trained on, and read at accuracy {scores["accuracy"]:.3f}, macro-F1
{scores["macro_f1"]:.3f}. When these are ExpW faces (Expression in-the-Wild, Zhang et al., IJCV
2018), their authors distribute them **for non-commercial research only**, and that caveat
applies to this model's weights: the images are not redistributed here.
"""


def _calibration_text(result: TrainingResult) -> str:
    """The model card's sentence on the judged face heights and the calibration."""
    config, calibration = result.config, result.calibration
    heights = ", ".join(str(h) for h in config.val_heights)
    text = (f"Each epoch was judged on the validation faces at heights {heights} px (shrunk and "
            "enlarged back to 48), all together.")
    if config.calibrate and calibration:
        before = ", ".join(f"{h} px {e:.3f}" for h, e in calibration["ece_before"].items())
        after = ", ".join(f"{h} px {e:.3f}" for h, e in calibration["ece_after"].items())
        text += (f" The logits are divided by the temperature {result.temperature:.3f} (folded"
                 " into the last layer's weights),"
                 " fitted on those faces (least negative log-likelihood): expected calibration "
                 f"error (15 bins) {before} before, {after} after.")
    return text + "\n"


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


def average_card(log: dict[str, Any]) -> ModelCard:
    """The card of an average of trained networks, from the average's ``training.json``."""
    members = log["members"]
    val_faces = sum(r["support"] for r in log["validation"]["per_class"].values())
    rows = "\n".join(_member_row(m["name"], m["training"], m["sha256"]) for m in members)
    commands = "\n".join(f"# {m['name']}\n{m['training']['command']}" for m in members)
    about = f"""\
The average of {len(members)} small residual CNNs trained by this project with torch on FER2013. It
reads a grey face as probabilities over the 7 FER2013 classes ({", ".join(EMOTIONS)}); the app
runs it with onnxruntime."""
    what_it_is_not = """\
**What it is not.** Facial expression is not inner feeling. The networks were trained on web
photos of mostly adult faces and are less accurate on children; the app shows their
probabilities as trends, never as a verdict about a child."""
    output = """: the mean of the
  members' probabilities. Each member normalises the face itself (per-face standardisation) and
  averages it with its mirror image.
- Weights are stored as float16 and cast to float32 when the session is made."""
    makeup = f"""\
## Members
| member | architecture | training | its FER2013 public test acc / macro-F1 (flip-averaged) \
| sha256 of its `model.onnx` |
|---|---|---|---|---|
{rows}

Each member's own training log (settings, per-epoch history) is in `{LOG_FILE}` under
`members`."""
    held_out = f"""\
{val_faces:,} (every member held out the same
faces: 10% of each class, the same seed) were kept for validation and early stopping."""
    return ModelCard(
        about=about,
        what_it_is_not=what_it_is_not,
        output=output,
        makeup=makeup,
        held_out=held_out,
        commands=f"{commands}\n# the average\n{log['command']}",
        run_notes="",
        sha256=log["model_sha256"],
        accuracy_of=" of the average",
        accuracy=(
            (f"validation split ({val_faces:,} faces)", log["validation"]),
            ("FER2013 public test", log["public_test"]),
        ),
        public_test=log["public_test"],
    )


def _member_row(name: str, log: dict[str, Any], sha256: str) -> str:
    config = log["config"]
    flip = log.get("public_test_flip") or {}
    test = f"{flip['accuracy']:.3f} / {flip['macro_f1']:.3f}" if flip else "not measured"
    return (f"| {name} | stem {config['stem']}, stages {tuple(config['stages'])} × "
            f"{config['blocks']} blocks, {log['parameters']:,} parameters | {log['device']}, "
            f"{log['epochs_run']} epochs, {log['seconds'] / 60:.1f} min, "
            f"{log['faces_per_second']:.0f} faces/s | {test} | `{sha256}` |")
