"""What the commands share: the database options, opening the store, and error lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from emotion_core.store.store import DB_ENV_VAR, Store, default_db_path

# What ``add_subparsers`` returns: each command module adds its parsers to it.
Commands = argparse._SubParsersAction

# The commands other than ``analyze`` do not wait unless asked to: the app's server holds its
# database for as long as it runs, and an analysis for a whole lesson, so a default wait would
# mostly look like a hang before the same error.
COMMAND_WAIT_S = 0.0


def add_db_options(parser: argparse.ArgumentParser, wait_s: float = COMMAND_WAIT_S) -> None:
    parser.add_argument(
        "--db", type=Path, default=None,
        help=f"DuckDB file (default: ${DB_ENV_VAR} or {default_db_path()})",
    )
    parser.add_argument(
        "--wait-seconds", type=float, default=wait_s, metavar="N",
        help="while another process (an analysis, the app) holds the database, wait up to N "
             f"seconds for it to finish (default {wait_s:g}; 0: fail at once)",
    )


def open_store(args: argparse.Namespace, db: Path | None = None, **options: Any) -> Store:
    """The database of ``--db`` (or ``db``), waiting ``--wait-seconds`` for another process
    to let go of it."""
    return Store.open_waiting(db or args.db, max(0.0, args.wait_seconds), _announce_wait,
                              **options)


def _announce_wait(db: Path) -> None:
    print(f"waiting for another process (an analysis, the app) to let go of {db}…",
          file=sys.stderr, flush=True)


def print_error(message: object) -> None:
    """One ``error: …`` line on stderr, the form every command reports a problem in."""
    print(f"error: {message}", file=sys.stderr)
