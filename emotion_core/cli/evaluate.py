"""``evaluate``: measure emotion models on labelled photos and print their reports."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from emotion_core.cli.common import Commands
from emotion_core.emotion.model import EmotionModelUnavailable

if TYPE_CHECKING:
    from emotion_core.evaluation.runner import EvaluationReport

log = logging.getLogger("emotion_core")


def add_parser(commands: Commands) -> None:
    from emotion_core.analysis.models import EMOTION_MODEL_CHOICES

    evaluate = commands.add_parser(
        "evaluate", help="measure emotion models on labelled photos (accuracy, P/R/F1, confusion)"
    )
    evaluate.add_argument(
        "labels", type=Path,
        help="CSV with path,emotion[,subject] (paths relative to it), a folder of per-emotion "
             "folders, or a zip of either",
    )
    evaluate.add_argument(
        "--model", default="auto", choices=(*EMOTION_MODEL_CHOICES, "all"),
        help="emotion model to measure, or all that can be loaded",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object per model")
    evaluate.add_argument(
        "--no-whole-crops", dest="whole_tight_crops", action="store_false",
        help="count tight face crops where no face is found as no_face instead of reading them "
             "whole (by default they are read whole and counted in whole_photo)",
    )
    evaluate.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="evaluate-") as workdir:
        return _evaluate_in(args, Path(workdir))


def _evaluate_in(args: argparse.Namespace, workdir: Path) -> int:
    """``evaluate``, with ``workdir`` to unpack a zip of labelled photos into."""
    from tqdm import tqdm

    from emotion_core.analysis.models import (
        EMOTION_BACKENDS,
        EMOTION_ENSEMBLES,
        load_detector,
        load_emotion_model,
    )
    from emotion_core.evaluation.photos import photos_from
    from emotion_core.evaluation.runner import evaluate

    photos = photos_from(args.labels, workdir)
    detector = load_detector()
    names = [*EMOTION_BACKENDS, *EMOTION_ENSEMBLES] if args.model == "all" else [args.model]
    for name in names:
        try:
            model = load_emotion_model(name)
        except EmotionModelUnavailable as exc:
            if args.model != "all":
                raise
            log.warning("skipping %s: %s", name, exc)
            continue
        with tqdm(total=len(photos), desc=f"{name} on {args.labels.name}", unit="photo",
                  disable=args.json, file=sys.stderr) as bar:
            report = evaluate(
                model, detector, photos, on_progress=lambda done, _: bar.update(done - bar.n),
                whole_tight_crops=args.whole_tight_crops,
            )
        if args.json:
            print(json.dumps(report.as_json()), flush=True)
        else:
            _print_report(report)
    return 0


def _print_report(report: EvaluationReport) -> None:
    print(f"{report.model}: {report.n} faces, accuracy {report.accuracy:.3f}, "
          f"macro-F1 {report.macro_f1:.3f}, no face found in {report.no_face}, "
          f"unreadable {report.unreadable}")
    if report.whole_photo:
        print(f"  of these, {report.whole_photo} tight crops where no face was found were read whole")
    print(f"  {'class':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for label, row in report.per_class.items():
        print(f"  {label:<12} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f}"
              f" {row['support']:>8}")
    for name, row in report.averages.items():
        print(f"  {name + ' avg':<12} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f}")
    print("  confusion (rows: true, columns: predicted)")
    print("  " + " " * 12 + "".join(f"{label[:7]:>8}" for label in report.labels))
    for label, row in zip(report.labels, report.confusion):
        print(f"  {label:<12}" + "".join(f"{count:>8}" for count in row))
    for label, predicted in report.other_labels.items():
        print(f"  outside the 7 classes, {label}: predicted as {predicted}")
