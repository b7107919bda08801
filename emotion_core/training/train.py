"""Training our own emotion model on FER2013 with torch, and exporting it to ONNX.

``python -m emotion_core train-emotion --data ../shared/data/fer2013 --out models/classroom_emotion``
(or ``python -m emotion_core.training …`` where only torch, numpy and OpenCV are installed, as on
a GPU machine). One run:

1. holds out ``--val-fraction`` of each class of the training set as the validation split (fixed
   ``--seed``); the public test set is never trained on, only measured;
2. trains :class:`net.EmotionNet` (``loop``) with SGD (Nesterov momentum, weight decay), a linear
   warm-up then cosine learning-rate schedule, label smoothing, and a cross-entropy weighted
   towards the rare classes (weight ∝ 1 / count ** ``--class-weight-power``: disgust has 436
   faces against happy's 7,215);
3. augments every batch on the training device (``augment``): random rotation, scale, shift
   and horizontal flip, brightness and contrast, and a randomly erased patch;
4. keeps the weights of the epoch with the best validation accuracy and stops early when it has
   not improved for ``--patience`` epochs;
5. writes ``model.onnx`` (grey pixel values in, 7 probabilities out: the normalisation is part
   of the graph), ``training.json`` (settings, per-epoch history, final numbers) and
   ``MODEL_CARD.md`` into ``--out`` (``export``, ``run_log``, ``model_card``).

``--init-from RUN/model.onnx`` goes on training an earlier run's network instead of a new one
(``net_import``; the earlier run must have held out the same validation faces).
``--average-weights`` keeps the learning rate constant after the warm-up and keeps the mean of
the weights at each epoch's end (stochastic weight averaging, Izmailov et al. 2018); each epoch
is then judged, and the best kept, by that mean (``weight_average``).
``--distil-from RUN/model.onnx`` learns from an earlier run's readings as well as from the labels
(knowledge distillation, Hinton et al. 2015; ``distillation``): that model reads every training
face once, and its zooms (``--distil-zooms``, ``face_views``), before training, and the
cross-entropy with its averaged probabilities weighs ``--distil-weight`` in the loss.

This module is the command line of a run (``add_arguments``, ``run``, ``main``); the run itself
is ``loop.train``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion_core.training.config import AUGMENTATIONS, TrainingConfig
from emotion_core.training.fer2013 import DatasetError
from emotion_core.training.loop import select_device, train
from emotion_core.training.model_card import training_card, write_model_card
from emotion_core.training.net_import import NetImportError
from emotion_core.training.results import EpochRecord
from emotion_core.training.run_log import RunLogError, training_log, write_run_log


def _zooms(text: str) -> tuple[float, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        return tuple(float(z) for z in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"zooms must be numbers like 1.08,0.92 or none, not {text!r}")


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
    parser.add_argument("--augment", choices=sorted(AUGMENTATIONS), default="standard",
                        help="standard: turns, shifts, light and erased patches; classroom: "
                        "also faces shrunk to 10-48 px, blurred, noisy, JPEG-compressed and "
                        "turned, as a classroom camera sees them (standard)")
    parser.add_argument("--photos", type=Path, default=None, metavar="LABELS_CSV",
                        help="also train on these labelled photos (path,emotion,source_image, "
                        "e.g. ExpW faces), cut as the app cuts faces; a fifth of their source "
                        "photos is held out for validation")
    parser.add_argument("--photo-repeats", type=int, default=d.photo_repeats,
                        help=f"each training face of --photos counts this often an epoch ({d.photo_repeats})")
    parser.add_argument("--val-heights", type=lambda s: tuple(int(c) for c in s.split(",")),
                        default=d.val_heights, help="judge each epoch on the validation faces "
                        "shrunk to these heights in px and enlarged back (48)")
    parser.add_argument("--calibrate", action="store_true",
                        help="divide the exported logits by the temperature that fits the "
                        "validation faces best (calibrated probabilities)")
    parser.add_argument("--no-standardise", action="store_true",
                        help="scale pixels to [-1, 1] instead of standardising each face")
    parser.add_argument("--device", default="auto", help="auto (GPU when torch sees one), cpu, cuda")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def training_config(args: argparse.Namespace) -> TrainingConfig:
    """The run's settings from the parsed command line; ``ValueError`` for a bad one."""
    return TrainingConfig(
        data=args.data, out=args.out, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.lr, warmup_epochs=args.warmup_epochs, patience=args.patience,
        max_minutes=args.max_minutes,
        seed=args.seed, limit=args.limit,
        stages=args.stages, blocks=args.blocks, standardise=not args.no_standardise,
        device=args.device, init_from=args.init_from, average_weights=args.average_weights,
        distil_from=args.distil_from, distil_weight=args.distil_weight,
        distil_zooms=args.distil_zooms, augmentation=AUGMENTATIONS[args.augment],
        photos=args.photos, photo_repeats=args.photo_repeats, val_heights=args.val_heights,
        calibrate=args.calibrate,
    )


def _report(r: EpochRecord) -> None:
    print(f"epoch {r.epoch}: loss {r.train_loss:.3f}, validation accuracy "
          f"{r.val_accuracy:.3f}, macro-F1 {r.val_macro_f1:.3f} ({r.seconds:.0f} s)",
          file=sys.stderr, flush=True)


def run(args: argparse.Namespace, command: str) -> int:
    """Train as the command line says, write the model, its log and its card into ``--out``,
    and print a one-line JSON summary; 2 with one error line when it cannot."""
    try:
        config = training_config(args)
        select_device(config.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = train(config, on_epoch=_report, progress=not args.no_progress)
    except (DatasetError, NetImportError, RunLogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_run_log(config.out, training_log(result, command))
    write_model_card(config.out, training_card(result, command))
    summary = {"model": str(result.model_path), "sha256": result.model_sha256,
               "best_epoch": result.best_epoch, "minutes": round(result.seconds / 60, 1),
               "validation_accuracy": round(result.validation["accuracy"], 4)}
    if result.config.calibrate:
        summary["temperature"] = result.temperature
    if result.held_out_photos:
        summary["held_out_photos_macro_f1"] = round(result.held_out_photos["macro_f1"], 4)
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
