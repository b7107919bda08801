"""``students``: list the roster, correct it, export one student, and keep the consent register."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from emotion_core.cli.common import Commands, add_db_options, open_store, print_error
from emotion_core.identity.thresholds import thresholds_for
from emotion_core.store.duplicates import PossibleDuplicate, possible_duplicates
from emotion_core.store.store import Store


def add_parser(commands: Commands) -> None:
    students = commands.add_parser("students", help="list and correct the students found")
    actions = students.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every student, with how often and when seen")
    listing.add_argument("--group", help="only this class or group")
    listing.add_argument("--json", action="store_true", help="print one JSON object per student")
    listing.set_defaults(handler=list_students)
    rename = actions.add_parser("rename", help="give a student another name")
    rename.add_argument("student_id", type=int)
    rename.add_argument("name")
    rename.set_defaults(handler=rename_student)
    merge = actions.add_parser("merge", help="make two students one (the second goes)")
    merge.add_argument("keep_id", type=int)
    merge.add_argument("merged_id", type=int)
    merge.set_defaults(handler=merge_students)
    split = actions.add_parser("split", help="take one track of a video off its student")
    split.add_argument("video_id", type=int)
    split.add_argument("track_id", type=int)
    split.add_argument("--name", help="name of the new student (default: Student <id>)")
    split.set_defaults(handler=split_track)
    delete = actions.add_parser(
        "delete", help="remove a student with everything stored about them (observations, "
                       "face embeddings, thumbnail, alerts)"
    )
    delete.add_argument("student_id", type=int)
    delete.set_defaults(handler=delete_student)
    export_one = actions.add_parser(
        "export", help="write everything stored about one student, face embeddings included, "
                       "to one zip (a subject access export)",
    )
    export_one.add_argument("student_id", type=int)
    export_one.add_argument("--out", type=Path, required=True, help="the zip file to write")
    export_one.set_defaults(handler=export_student)
    consent = actions.add_parser(
        "consent",
        help="the consent register: turn a student's identification on or off (off deletes "
             "their embeddings, thumbnail and alerts and makes their observations anonymous)",
    )
    consent.add_argument("student_id", type=int)
    consent.add_argument("identification", choices=("on", "off"))
    consent.add_argument("--note", help="who asked and when, kept in the register")
    consent.set_defaults(handler=set_consent)
    suggest = actions.add_parser(
        "suggest-merges",
        help="pairs of students who may be one child (their faces are close, and they were "
             "never seen in the same frame), nearest first",
    )
    suggest.add_argument("--group", help="only this class or group (and students of none)")
    suggest.add_argument("--json", action="store_true", help="print one JSON object per pair")
    suggest.add_argument("--ask", action="store_true",
                         help="ask for each pair whether they are one child, and merge them "
                              "if so (the student seen first stays)")
    suggest.set_defaults(handler=suggest_merges)
    for action in (listing, rename, merge, split, delete, export_one, consent, suggest):
        add_db_options(action)


def list_students(args: argparse.Namespace) -> int:
    with open_store(args, read_only=True) as store:
        students = store.students(args.group)
    if args.json:
        for row in students.to_dict(orient="records"):
            plain = {k: None if not isinstance(v, list) and pd.isna(v) else v
                     for k, v in row.items()}
            print(json.dumps(plain, default=str))
    elif students.empty:
        print("no students yet: analyse a lesson with identification on")
    else:
        for row in students.itertuples():
            seen = f"{row.first_seen_on} .. {row.last_seen_on}" if row.lessons else "not seen"
            consent = "identification on " if row.identification else "identification OFF"
            print(f"{row.student_id:>5}  {row.display_name:<24} {row.class_group or '-':<8} "
                  f"{consent}  {row.lessons:>3} lessons {row.observations:>6} faces "
                  f"{row.seconds_seen:>8.1f} s  {seen}")
    return 0


def export_student(args: argparse.Namespace) -> int:
    with open_store(args, read_only=True) as store:
        try:
            done = store.export_student(args.student_id, args.out)
        except OSError as exc:
            print_error(f"cannot write {args.out}: {exc.strerror or exc}")
            return 2
    print(f"wrote everything stored about student {args.student_id} to {args.out}: "
          f"{done.observations} observations in {done.lessons} lessons, {done.alerts} "
          f"alerts, {done.face_embeddings} face embeddings. The file identifies the child: "
          "keep it as safely as the database.")
    return 0


def rename_student(args: argparse.Namespace) -> int:
    with open_store(args, create=False) as store:
        store.rename_student(args.student_id, args.name)
        print(f"student {args.student_id} is now {args.name.strip()!r}")
    return 0


def merge_students(args: argparse.Namespace) -> int:
    with open_store(args, create=False) as store:
        store.merge_students(args.keep_id, args.merged_id)
        print(f"student {args.merged_id} merged into {args.keep_id}")
    return 0


def split_track(args: argparse.Namespace) -> int:
    with open_store(args, create=False) as store:
        new = store.split_track(args.video_id, args.track_id, args.name)
        print(f"track {args.track_id} of video {args.video_id} is now student {new}")
    return 0


def delete_student(args: argparse.Namespace) -> int:
    with open_store(args, create=False) as store:
        store.delete_student(args.student_id)
        print(f"student {args.student_id} deleted with their observations and embeddings")
    return 0


def set_consent(args: argparse.Namespace) -> int:
    on = args.identification == "on"
    with open_store(args, create=False) as store:
        changed = store.set_identification(args.student_id, on, args.note)
        if not changed:
            print(f"student {args.student_id}: identification was already {args.identification}")
        elif on:
            print(f"student {args.student_id}: identification on for lessons analysed from "
                  "now on (nothing removed comes back)")
        else:
            print(f"student {args.student_id}: identification off; their embeddings, "
                  "thumbnail and alerts are deleted and their observations are anonymous")
    return 0


def suggest_merges(args: argparse.Namespace) -> int:
    if args.ask and args.json:
        print_error("--ask and --json do not go together: --ask asks a person, pair by pair")
        return 2
    with open_store(args, read_only=not args.ask, create=False) as store:
        try:
            pairs = possible_duplicates(store, _suggest_under, args.group)
        except ValueError as exc:  # a stored embedding model with no thresholds
            print_error(exc)
            return 2
        if args.json:
            names = _names(store)
            for pair in pairs:
                print(json.dumps({
                    "first_id": pair.first_id, "first_name": names[pair.first_id],
                    "second_id": pair.second_id, "second_name": names[pair.second_id],
                    "distance": round(pair.distance, 6), "model": pair.model,
                    "suggest_under": _suggest_under(pair.model),
                }))
        elif not pairs:
            print("no possible duplicates: no two students are close enough to be one child")
        elif args.ask:
            _ask_and_merge(store, args.group)
        else:
            names = _names(store)
            for pair in pairs:
                print(_describe(store, pair, names))
            print("if a pair is one child: python -m emotion_core students merge KEEP_ID "
                  "MERGED_ID (or run suggest-merges --ask)")
    return 0


def _suggest_under(model: str) -> float:
    return thresholds_for(model).suggest_merge


def _names(store: Store) -> dict[int, str]:
    roster = store.students()
    return dict(zip(roster["student_id"].astype(int), roster["display_name"]))


def _describe(store: Store, pair: PossibleDuplicate, names: dict[int, str]) -> str:
    """One line per pair: the distance and, for each student, when and where they were seen."""
    def seen(student_id: int) -> str:
        lessons = store.student_lessons(student_id)
        where = ", ".join(f"{r.file_name} on {r.lesson_on:%Y-%m-%d}" for r in lessons.itertuples())
        return f"{student_id} {names[student_id]!r} (seen in {where or 'no lesson'})"

    return (f"{pair.distance:.3f} ({pair.model}, offered under {_suggest_under(pair.model):g})"
            f"  {seen(pair.first_id)}  and  {seen(pair.second_id)}")


def _ask_and_merge(store: Store, group: str | None) -> None:
    """Each pair in turn, the suggestions read again after every merge (a merged student's
    reference moves); stops at the end of the input."""
    answered: set[tuple[int, int]] = set()
    merged = 0
    while True:
        pairs = possible_duplicates(store, _suggest_under, group)
        pair = next((p for p in pairs if (p.first_id, p.second_id) not in answered), None)
        if pair is None:
            break
        answered.add((pair.first_id, pair.second_id))
        print(_describe(store, pair, _names(store)))
        print(f"one child? merge {pair.second_id} into {pair.first_id} [y/N] ", end="",
              flush=True)
        answer = sys.stdin.readline()
        if not answer:
            print()
            break
        if answer.strip().lower() in ("y", "yes"):
            store.merge_students(pair.first_id, pair.second_id)
            merged += 1
            print(f"student {pair.second_id} merged into {pair.first_id}")
    print(f"{merged} pair(s) merged")
