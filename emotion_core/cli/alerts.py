"""``alerts``: check for students who may need help, list the alerts, review them, and set the
rules' thresholds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from emotion_core.alerts.checks import check_alerts, current_alerts
from emotion_core.alerts.rules import RULES, clock
from emotion_core.cli.common import Commands, add_db_options, open_store, print_error
from emotion_core.core.alert_settings import AlertSettings
from emotion_core.store.store import Store, default_db_path

# The review decisions: the status each sets, and its option's verb (--dismiss ID …).
DECISIONS: tuple[tuple[str, str], ...] = (
    ("dismissed", "dismiss"), ("confirmed", "confirm"), ("open", "reopen"),
)


def add_parser(commands: Commands) -> None:
    alerts = commands.add_parser(
        "alerts", help="check for students who may need help and list the alerts, with why"
    )
    add_db_options(alerts)
    alerts.add_argument("--json", action="store_true", help="print one JSON object per alert")
    alerts.add_argument("--all", action="store_true", help="list dismissed alerts too")
    alerts.add_argument(
        "--set", action="append", default=[], metavar="RULE.THRESHOLD=VALUE",
        help="change a threshold, kept in the database so that the app and later checks use "
             "it too (repeatable; --rules lists them)",
    )
    alerts.add_argument("--reset-thresholds", action="store_true",
                        help="return every threshold to its default (before any --set)")
    alerts.add_argument("--rules", action="store_true",
                        help="describe the rules and their thresholds, and stop")
    decision = alerts.add_mutually_exclusive_group()
    for status, verb in DECISIONS:
        decision.add_argument(f"--{verb}", type=int, metavar="ID", dest=status,
                              help=f"{verb} alert ID, and stop")
    alerts.add_argument("--note", help="why, with --dismiss or --confirm")
    alerts.set_defaults(handler=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> int:
    try:
        changes = _threshold_changes(args.set)
    except ValueError as exc:
        print_error(exc)
        return 2
    if args.rules and not (args.set or args.reset_thresholds):
        return _show_rules(args)
    with open_store(args, create=False) as store:
        if changes or args.reset_thresholds:
            store.set_alert_thresholds(changes, reset=args.reset_thresholds)
            print("thresholds saved in the database; the app and later checks use them",
                  file=sys.stderr)
            if args.rules:
                _print_rules(store.alert_settings())
                return 0
        for status, _ in DECISIONS:
            alert_id = getattr(args, status)
            if alert_id is not None:
                return _review(store, alert_id, status, args.note)
        print(check_alerts(store).describe(), file=sys.stderr)
        alerts = current_alerts(store, include_dismissed=args.all)
    _print_alerts(alerts, args.json, args.all)
    return 0


def _threshold_changes(assignments: list[str]) -> dict[str, str]:
    """``--set`` values by threshold name, each checked (``ValueError`` for a bad one)."""
    changes = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise ValueError(f"--set needs RULE.THRESHOLD=VALUE, got {assignment!r}")
        changes[name.strip()] = value.strip()
    AlertSettings().with_overrides(changes)
    return changes


def _show_rules(args: argparse.Namespace) -> int:
    """``--rules`` alone: the database's thresholds where there is one, else the defaults."""
    db = args.db or default_db_path()
    if not Path(db).is_file():
        _print_rules(AlertSettings())
        return 0
    with open_store(args, db, read_only=True) as store:
        _print_rules(store.alert_settings())
    return 0


def _print_rules(settings: AlertSettings) -> None:
    for rule in RULES.values():
        print(f"{rule.name}: {rule.title}\n  {rule.explain(settings)}")
        for name, value in vars(getattr(settings, rule.name)).items():
            print(f"    --set {rule.name}.{name}={value}")
    print("guards, shared by every rule:")
    for name, value in vars(settings.guards).items():
        print(f"    --set guards.{name}={value}")


def _review(store: Store, alert_id: int, status: str, note: str | None) -> int:
    try:
        store.review_alert(alert_id, status, note)
    except KeyError:
        print_error(f"there is no alert {alert_id}")
        return 1
    print(f"alert {alert_id}: {status}")
    return 0


def _print_alerts(alerts: pd.DataFrame, as_json: bool, include_dismissed: bool) -> None:
    for alert in alerts.to_dict("records"):
        if as_json:
            print(json.dumps(_alert_json(alert)))
            continue
        lesson = ", ".join(str(part) for part in (alert["class_group"], _lesson_date(alert))
                           if part is not None and not pd.isna(part))
        print(f"#{alert['alert_id']} {alert['status']:<9} student {alert['student_id']}  "
              f"{alert['file_name']}{f' ({lesson})' if lesson else ''}  "
              f"{clock(alert['window_start_s'])}-{clock(alert['window_end_s'])}  {alert['title']}")
        print(f"    {alert['summary']}")
    if not as_json:
        print(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
              + ("" if include_dismissed else " (dismissed ones hidden: --all shows them)"))


def _lesson_date(alert: dict[str, Any]) -> str | None:
    return None if pd.isna(alert["recorded_on"]) else str(alert["recorded_on"])[:10]


def _alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("alert_id", "rule", "title", "status", "video_id", "file_name", "class_group",
            "recorded_on", "student_id", "window_start_s", "window_end_s", "summary", "numbers",
            "thresholds", "review_note")
    plain = {key: alert[key] for key in keys}
    plain["recorded_on"] = _lesson_date(alert)
    for key in ("class_group", "review_note"):
        plain[key] = None if pd.isna(alert[key]) else alert[key]
    for key in ("alert_id", "video_id", "student_id"):
        plain[key] = int(alert[key])
    return plain
