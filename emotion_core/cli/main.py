"""The command line: ``python -m emotion_core analyze|export|students|lessons|settings|purge|
evaluate|alerts|demo …`` (or ``classroom-mood …``), each command's parser from its own module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from emotion_core.cli import alerts, analyze, demo, evaluate, lessons, settings, students, training
from emotion_core.cli.common import Commands, print_error
from emotion_core.core.errors import ClassroomMoodError

# Each adds its command's parser, with the function that runs it as ``handler``; in the order
# ``--help`` lists the commands.
ADD_COMMANDS: tuple[Callable[[Commands], None], ...] = (
    analyze.add_parser,
    lessons.add_export_parser,
    students.add_parser,
    lessons.add_lessons_parser,
    settings.add_parser,
    lessons.add_purge_parser,
    evaluate.add_parser,
    training.add_train_parser,
    training.add_average_parser,
    alerts.add_parser,
    demo.add_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emotion_core",
        description="Classroom mood: analyse lesson videos into a per-student emotion time series.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in ADD_COMMANDS:
        add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command (``argv``, else the process's arguments); its exit status."""
    args = build_parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # which models an analysis used is always worth a line; -v adds the detail
    logging.getLogger("emotion_core").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return args.handler(args)
    except ClassroomMoodError as exc:
        # every error of the library is written for the user: one line, no traceback
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
