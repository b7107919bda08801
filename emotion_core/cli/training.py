"""``train-emotion`` and ``average-emotion``: the commands of the training package."""

from __future__ import annotations

import argparse
import sys

from emotion_core.cli.common import Commands


def add_train_parser(commands: Commands) -> None:
    from emotion_core.training.train import add_arguments

    train = commands.add_parser(
        "train-emotion", help="train our own emotion model on FER2013 (torch) and export it to ONNX"
    )
    add_arguments(train)
    train.set_defaults(handler=cmd_train_emotion)


def add_average_parser(commands: Commands) -> None:
    from emotion_core.training.average import add_arguments

    average = commands.add_parser(
        "average-emotion", help="average trained emotion models (ONNX) into one and measure it"
    )
    add_arguments(average)
    average.set_defaults(handler=cmd_average_emotion)


def cmd_train_emotion(args: argparse.Namespace) -> int:
    from emotion_core.training.train import run

    return run(args, _command_line(args))


def cmd_average_emotion(args: argparse.Namespace) -> int:
    from emotion_core.training.average import run

    return run(args, _command_line(args))


def _command_line(args: argparse.Namespace) -> str:
    """The command as typed, for a model card to say how its model was made."""
    return "python -m emotion_core " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
