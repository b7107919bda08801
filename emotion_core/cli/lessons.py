"""``lessons``, ``export`` and ``purge``: the stored lessons, their observations, and removing them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from emotion_core.cli.common import Commands, add_db_options, open_store, print_error
from emotion_core.store.privacy import Removal


def add_export_parser(commands: Commands) -> None:
    export = commands.add_parser("export", help="write the observations to CSV or Parquet")
    add_db_options(export)
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", type=Path, required=True, help="output file")
    export.set_defaults(handler=export_observations)


def add_lessons_parser(commands: Commands) -> None:
    lessons = commands.add_parser("lessons", help="list the stored lessons, or delete one")
    lesson_actions = lessons.add_subparsers(dest="action", required=True)
    lesson_list = lesson_actions.add_parser("list", help="every stored lesson, analysed or not")
    lesson_list.add_argument("--json", action="store_true", help="one JSON object per lesson")
    lesson_list.set_defaults(handler=list_lessons)
    lesson_delete = lesson_actions.add_parser(
        "delete", help="remove a lesson with everything derived from it and its stored upload"
    )
    lesson_delete.add_argument("video_id", type=int)
    lesson_delete.add_argument("--json", action="store_true", help="print what was removed")
    lesson_delete.set_defaults(handler=delete_lesson)
    for action in (lesson_list, lesson_delete):
        add_db_options(action)


def add_purge_parser(commands: Commands) -> None:
    purge = commands.add_parser(
        "purge", help="remove the lessons older than retention_days, with everything derived "
                      "from them and their stored uploads",
    )
    purge.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    purge.add_argument("--json", action="store_true", help="print what was removed as JSON")
    add_db_options(purge)
    purge.set_defaults(handler=purge_expired)


def export_observations(args: argparse.Namespace) -> int:
    with open_store(args, read_only=True) as store:
        rows = store.export_observations(args.out, args.format)
    print(f"wrote {rows} observations to {args.out}")
    return 0


def list_lessons(args: argparse.Namespace) -> int:
    with open_store(args, read_only=True) as store:
        lessons = store.stored_lessons()
    rows = lessons.astype(object).where(lessons.notna(), None).to_dict(orient="records")
    if args.json:
        for row in rows:
            print(json.dumps(row, default=str))
    elif not rows:
        print("no lessons stored")
    for row in [] if args.json else rows:
        kept = f"kept until {row['purge_after']}" if row["purge_after"] else "kept"
        print(f"{row['video_id']:>5}  {row['lesson_date']}  {row['class_group'] or '-':<8} "
              f"{row['status']:<7} {row['observations']:>6} faces {row['students']:>3} "
              f"students  {kept:<22} {row['file_name']}")
    return 0


def delete_lesson(args: argparse.Namespace) -> int:
    with open_store(args, create=False) as store:
        removal = store.delete_lesson(args.video_id)
    return _print_removal(removal, args.json)


def purge_expired(args: argparse.Namespace) -> int:
    with open_store(args, create=False) as store:
        days = store.retention_days()
        if days is None and not args.json:
            print("retention_days is none: lessons are kept until someone deletes them, so "
                  "nothing is purged (set it with: settings retention_days=DAYS)")
            return 0
        removal = store.purge_expired(dry_run=args.dry_run)
    return _print_removal(removal, args.json, retention_days=days)


def _print_removal(removal: Removal, as_json: bool, **extra: Any) -> int:
    """What was (or would be) removed; 1 if a stored upload could not be removed."""
    if as_json:
        print(json.dumps({**extra, **removal.as_json()}))
    else:
        for lesson in removal.lessons:
            print(f"{'would remove' if removal.dry_run else 'removed'} lesson "
                  f"{lesson['video_id']}: {lesson['file_name']} "
                  f"({lesson['class_group'] or '-'}, {lesson['lesson_date']})")
        print(removal.describe())
    for error in removal.file_errors:
        print_error(f"could not remove the stored upload {error}")
    return 1 if removal.file_errors else 0
