"""``demo``: build the demo database, a term of a composed class, in a file of its own."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion_core.cli.common import Commands
from emotion_core.demo.build import Progress, build_demo, demo_db_path
from emotion_core.store.store import DB_ENV_VAR, default_db_path


def add_parser(commands: Commands) -> None:
    demo = commands.add_parser(
        "demo", help="build a demo database: six weeks of a composed class, with alerts",
        description="Build a demo database (a composed class, not real children) in a file of "
                    "its own, replacing an earlier demo there; your own database is never "
                    "touched. Open it with --db on any command, or with the app's "
                    "'Open the demo term' button.",
    )
    demo.add_argument(
        "--db", type=Path, default=None,
        help=f"the demo's DuckDB file (default: {demo_db_path(default_db_path())}, a folder "
             f"beside your database); never your own database (${DB_ENV_VAR})",
    )
    demo.add_argument("--json", action="store_true", help="print what was built as JSON")
    demo.set_defaults(handler=build)


def build(args: argparse.Namespace) -> int:
    own = default_db_path()
    path = args.db or demo_db_path(own)
    show = _progress_line if sys.stderr.isatty() else _progress_steps()
    term = build_demo(path, own, show)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print(json.dumps({"db": str(term.path), "lessons": term.lessons,
                          "students": term.students, "faces": term.faces,
                          "readable_faces": term.readable_faces, "alerts": term.alerts,
                          "seconds": term.seconds}))
    else:
        print(f"built {term.describe()} in {term.seconds:.1f} s")
        print(f"look at it: classroom-mood alerts --db {term.path}, or "
              f"{DB_ENV_VAR}={term.path} make run")
    return 0


def _progress_line(fraction: float, words: str) -> None:
    print(f"\r{fraction:4.0%} {words:<40}", end="", file=sys.stderr, flush=True)


def _progress_steps() -> Progress:
    """Progress on a log or pipe: one line per tenth done, not one per step."""
    shown = [-1]

    def show(fraction: float, words: str) -> None:
        tenth = int(fraction * 10)
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"{fraction:4.0%} {words}", file=sys.stderr, flush=True)

    return show
