"""``settings``: show the settings kept in the database, or set some as NAME=VALUE."""

from __future__ import annotations

import argparse
import json
from typing import Any

from emotion_core.cli.common import Commands, add_db_options, open_store
from emotion_core.store.settings import SETTINGS, SettingsError, parse_setting


def add_parser(commands: Commands) -> None:
    settings = commands.add_parser(
        "settings", help="show the settings kept in the database, or set some (NAME=VALUE)"
    )
    settings.add_argument(
        "assignments", nargs="*", metavar="NAME=VALUE",
        help="e.g. retention_days=365, retention_days=none or alerts.sharp_drop.drop=3 "
             "(alerts --rules lists the alert thresholds)",
    )
    settings.add_argument("--json", action="store_true", help="print the settings as JSON")
    add_db_options(settings)
    settings.set_defaults(handler=cmd_settings)


def cmd_settings(args: argparse.Namespace) -> int:
    changes = _setting_changes(args.assignments)
    if not changes:
        with open_store(args, read_only=True) as store:
            values = store.settings()
    else:
        with open_store(args) as store:
            for name, value in changes.items():
                store.set_setting(name, value)
            values = store.settings()
    if args.json:
        print(json.dumps(values))
    else:
        print("\n".join(_describe_settings(values)))
    return 0


def _setting_changes(assignments: list[str]) -> dict[str, Any]:
    """The NAME=VALUE assignments as values by setting name, each checked (``SettingsError``)."""
    changes = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise SettingsError(f"a setting is set as NAME=VALUE (e.g. retention_days=365), "
                                f"not {assignment!r}")
        changes[name.strip()] = parse_setting(name.strip(), value)
    return changes


def _describe_settings(values: dict[str, Any]) -> list[str]:
    return [f"{name} = {SETTINGS[name].describe(value)}" for name, value in values.items()]
