"""The command line: ``python -m emotion_core analyze|export|students|lessons|settings|purge|
evaluate|alerts …``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from emotion_core.alerts.checks import check_alerts, current_alerts
from emotion_core.alerts.rules import RULES, clock
from emotion_core.core.alert_settings import AlertSettings
from emotion_core.core.types import Progress
from emotion_core.emotion.model import EmotionModelUnavailable
from emotion_core.identity.embedders import FaceEmbedderUnavailable
from emotion_core.store.privacy import LessonError, Removal
from emotion_core.store.roster import RosterError
from emotion_core.store.settings import SETTINGS, SettingsError, parse_setting
from emotion_core.store.store import DB_ENV_VAR, Store, StoreError, default_db_path
from emotion_core.video.source import VideoError, file_label, probe

log = logging.getLogger("emotion_core")

# How long ``analyze`` waits for another process to let go of the database: an hour, about
# the longest lesson analysis; two analyses started at once then run one after the other.
DEFAULT_WAIT_S = 3600.0
# The other commands do not wait unless asked to: the app's server holds its database for as
# long as it runs, and an analysis for a whole lesson, so a default wait would mostly look like
# a hang before the same error.
COMMAND_WAIT_S = 0.0


def _add_db(parser: argparse.ArgumentParser, wait_s: float = COMMAND_WAIT_S) -> None:
    parser.add_argument(
        "--db", type=Path, default=None,
        help=f"DuckDB file (default: ${DB_ENV_VAR} or {default_db_path()})",
    )
    parser.add_argument(
        "--wait-seconds", type=float, default=wait_s, metavar="N",
        help="while another process (an analysis, the app) holds the database, wait up to N "
             f"seconds for it to finish (default {wait_s:g}; 0: fail at once)",
    )


def _open_store(args: argparse.Namespace, db: Path | None = None, **options: Any) -> Store:
    """The database of ``--db`` (or ``db``), waiting ``--wait-seconds`` for another process
    to let go of it."""
    return Store.open_waiting(db or args.db, max(0.0, args.wait_seconds), _announce_wait,
                              **options)


def build_parser() -> argparse.ArgumentParser:
    from emotion_core.analysis.models import EMBEDDING_MODEL_CHOICES, EMOTION_MODEL_CHOICES

    parser = argparse.ArgumentParser(
        prog="python -m emotion_core",
        description="Classroom mood: analyse lesson videos into a per-student emotion time series.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", aliases=["analyse"], help="analyse lesson videos")
    analyze.add_argument("videos", nargs="+", type=Path, help="video files (mp4, avi, mov, mkv, webm, …)")
    _add_db(analyze, DEFAULT_WAIT_S)
    analyze.add_argument("--fps", type=float, default=2.0, help="frames sampled per second (default 2)")
    analyze.add_argument(
        "--emotion-model", choices=EMOTION_MODEL_CHOICES, default="auto",
        help="auto: DeepFace's model where its weights are available, else the offline default",
    )
    analyze.add_argument(
        "--no-identify", action="store_true",
        help="do not tell students apart: faces are counted and classified for the class-level "
             "view only, and no face embedding is computed or stored",
    )
    analyze.add_argument(
        "--no-new-students", action="store_true",
        help="recognise only the students already on the roster (identification on); faces of "
             "anyone else stay anonymous, and no embedding of them is stored",
    )
    analyze.add_argument(
        "--thumbnails", action="store_true",
        help="keep one small face thumbnail (96 px JPEG) per student whose identification is "
             "on, shown on the Students page (off by default; never a frame)",
    )
    analyze.add_argument(
        "--embedding-model", choices=EMBEDDING_MODEL_CHOICES, default="auto",
        help="auto: DeepFace's VGG-Face where its weights are available, else the offline Dlib",
    )
    analyze.add_argument("--group", help="class or group the lessons belong to")
    analyze.add_argument("--date", type=date.fromisoformat, help="lesson date, YYYY-MM-DD")
    analyze.add_argument("--json", action="store_true", help="print one JSON object per video")
    progress = analyze.add_mutually_exclusive_group()
    progress.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    progress.add_argument(
        "--progress-json", action="store_true",
        help="instead of the bar, print one JSON object per batch of frames on stderr: "
             "file_name, frames_done, frames_total, faces, elapsed_s",
    )

    export = commands.add_parser("export", help="write the observations to CSV or Parquet")
    _add_db(export)
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", type=Path, required=True, help="output file")
    students = commands.add_parser("students", help="list and correct the students found")
    actions = students.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every student, with how often and when seen")
    listing.add_argument("--group", help="only this class or group")
    listing.add_argument("--json", action="store_true", help="print one JSON object per student")
    rename = actions.add_parser("rename", help="give a student another name")
    rename.add_argument("student_id", type=int)
    rename.add_argument("name")
    merge = actions.add_parser("merge", help="make two students one (the second goes)")
    merge.add_argument("keep_id", type=int)
    merge.add_argument("merged_id", type=int)
    split = actions.add_parser("split", help="take one track of a video off its student")
    split.add_argument("video_id", type=int)
    split.add_argument("track_id", type=int)
    split.add_argument("--name", help="name of the new student (default: Student <id>)")
    delete = actions.add_parser(
        "delete", help="remove a student with everything stored about them (observations, "
                       "face embeddings, thumbnail, alerts)"
    )
    delete.add_argument("student_id", type=int)
    export_one = actions.add_parser(
        "export", help="write everything stored about one student, face embeddings included, "
                       "to one zip (a subject access export)",
    )
    export_one.add_argument("student_id", type=int)
    export_one.add_argument("--out", type=Path, required=True, help="the zip file to write")
    consent = actions.add_parser(
        "consent",
        help="the consent register: turn a student's identification on or off (off deletes "
             "their embeddings, thumbnail and alerts and makes their observations anonymous)",
    )
    consent.add_argument("student_id", type=int)
    consent.add_argument("identification", choices=("on", "off"))
    consent.add_argument("--note", help="who asked and when, kept in the register")
    for action in (listing, rename, merge, split, delete, export_one, consent):
        _add_db(action)

    lessons = commands.add_parser("lessons", help="list the stored lessons, or delete one")
    lesson_actions = lessons.add_subparsers(dest="action", required=True)
    lesson_list = lesson_actions.add_parser("list", help="every stored lesson, analysed or not")
    lesson_list.add_argument("--json", action="store_true", help="one JSON object per lesson")
    lesson_delete = lesson_actions.add_parser(
        "delete", help="remove a lesson with everything derived from it and its stored upload"
    )
    lesson_delete.add_argument("video_id", type=int)
    lesson_delete.add_argument("--json", action="store_true", help="print what was removed")
    for action in (lesson_list, lesson_delete):
        _add_db(action)

    settings = commands.add_parser(
        "settings", help="show the settings kept in the database, or set some (NAME=VALUE)"
    )
    settings.add_argument(
        "assignments", nargs="*", metavar="NAME=VALUE",
        help="e.g. retention_days=365, retention_days=none or alerts.sharp_drop.drop=3 "
             "(alerts --rules lists the alert thresholds)",
    )
    settings.add_argument("--json", action="store_true", help="print the settings as JSON")
    _add_db(settings)

    purge = commands.add_parser(
        "purge", help="remove the lessons older than retention_days, with everything derived "
                      "from them and their stored uploads",
    )
    purge.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    purge.add_argument("--json", action="store_true", help="print what was removed as JSON")
    _add_db(purge)

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

    from emotion_core.training.train import add_arguments as add_training_arguments

    train = commands.add_parser(
        "train-emotion", help="train our own emotion model on FER2013 (torch) and export it to ONNX"
    )
    add_training_arguments(train)

    from emotion_core.training.average import add_arguments as add_average_arguments

    average = commands.add_parser(
        "average-emotion", help="average trained emotion models (ONNX) into one and measure it"
    )
    add_average_arguments(average)

    alerts = commands.add_parser(
        "alerts", help="check for students who may need help and list the alerts, with why"
    )
    _add_db(alerts)
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
    for status, verb in (("dismissed", "dismiss"), ("confirmed", "confirm"), ("open", "reopen")):
        decision.add_argument(f"--{verb}", type=int, metavar="ID", dest=status,
                              help=f"{verb} alert ID, and stop")
    alerts.add_argument("--note", help="why, with --dismiss or --confirm")
    return parser


def _progress_bar(name: str, enabled: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    bar = tqdm(total=0, desc=name, unit="frame", disable=not enabled, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} frames "
                          "[{elapsed}<{remaining}{postfix}]")

    def update(progress) -> None:  # type: ignore[no-untyped-def]
        bar.total = progress.frames_total
        bar.n = progress.frames_done
        bar.set_postfix_str(f"{progress.faces} faces", refresh=False)
        bar.refresh()

    return bar, update


def _progress_lines(name: str) -> Callable[[Progress], None]:
    """Progress as one JSON object a line on stderr, for scripts and tests to follow."""

    def update(progress: Progress) -> None:
        print(json.dumps({"file_name": name, **asdict(progress)}), file=sys.stderr, flush=True)

    return update


def _announce_wait(db: Path) -> None:
    print(f"waiting for another process (an analysis, the app) to let go of {db}…",
          file=sys.stderr, flush=True)


def _readable_videos(paths: list[Path]) -> list[Path]:
    """The paths that open as videos; an error line for each of the others."""
    readable = []
    for path in paths:
        try:
            probe(path)
        except VideoError as exc:
            print(f"error: {exc}", file=sys.stderr)
        else:
            readable.append(path)
    return readable


def cmd_analyze(args: argparse.Namespace) -> int:
    from emotion_core.analysis.models import configure_environment

    configure_environment()
    from emotion_core.analysis.models import load_detector, load_embedder, load_emotion_model
    from emotion_core.analysis.pipeline import AnalysisSettings, analyse_video
    from emotion_core.faces.mtcnn import MTCNNSettings

    try:
        settings = AnalysisSettings(
            sample_fps=args.fps, emotion_model=args.emotion_model,
            identify=not args.no_identify, embedding_model=args.embedding_model,
            identify_new_students=not args.no_new_students, store_thumbnails=args.thumbnails,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Check every file before loading the models (seconds of work), so that a file that is no
    # video is reported at once, and a run with nothing to analyse leaves the database alone.
    videos = _readable_videos(args.videos)
    failures = len(args.videos) - len(videos)
    if not videos:
        return 1
    # the models load before the database is opened, so a run that has to wait for another is
    # ready to start when it gets the database
    detector = load_detector(MTCNNSettings())
    emotion_model = load_emotion_model(args.emotion_model)
    with _open_store(args) as store:
        embedder = (
            load_embedder(args.embedding_model, store.embedding_models())
            if settings.identify else None
        )
        for path in videos:
            bar, update = _progress_bar(
                file_label(path), enabled=not (args.no_progress or args.progress_json)
            )
            if args.progress_json:
                update = _progress_lines(file_label(path))
            try:
                result = analyse_video(
                    path, store, detector, emotion_model, settings, embedder=embedder,
                    class_group=args.group, recorded_on=args.date, on_progress=update,
                )
            except VideoError as exc:
                bar.close()
                print(f"error: {exc}", file=sys.stderr)
                failures += 1
                continue
            bar.close()
            if args.json:
                print(json.dumps(result.as_json()), flush=True)
            else:
                anonymous = (
                    f", {result.anonymous_people} left anonymous" if result.anonymous_people
                    else ""
                )
                who = (
                    f"{result.students} students ({result.new_students} new{anonymous}, "
                    f"{result.embedding_model})" if result.students is not None
                    else "identification off"
                )
                print(
                    f"{result.file_name}: video {result.video_id}, {result.frames_sampled} frames, "
                    f"{result.faces} faces in {result.tracks} tracks, {who}, "
                    f"{result.seconds:.1f} s ({result.emotion_model})"
                )
    return 1 if failures else 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open_store(args, read_only=True) as store:
        rows = store.export_observations(args.out, args.format)
    print(f"wrote {rows} observations to {args.out}")
    return 0


def cmd_students(args: argparse.Namespace) -> int:
    if args.action == "list":
        with _open_store(args, read_only=True) as store:
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
    if args.action == "export":
        with _open_store(args, read_only=True) as store:
            try:
                done = store.export_student(args.student_id, args.out)
            except OSError as exc:
                print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
                return 2
        print(f"wrote everything stored about student {args.student_id} to {args.out}: "
              f"{done.observations} observations in {done.lessons} lessons, {done.alerts} "
              f"alerts, {done.face_embeddings} face embeddings. The file identifies the child: "
              "keep it as safely as the database.")
        return 0
    with _open_store(args, create=False) as store:
        if args.action == "rename":
            store.rename_student(args.student_id, args.name)
            print(f"student {args.student_id} is now {args.name.strip()!r}")
        elif args.action == "merge":
            store.merge_students(args.keep_id, args.merged_id)
            print(f"student {args.merged_id} merged into {args.keep_id}")
        elif args.action == "split":
            new = store.split_track(args.video_id, args.track_id, args.name)
            print(f"track {args.track_id} of video {args.video_id} is now student {new}")
        elif args.action == "delete":
            store.delete_student(args.student_id)
            print(f"student {args.student_id} deleted with their observations and embeddings")
        elif args.action == "consent":
            on = args.identification == "on"
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


def _print_removal(removal: Removal, as_json: bool, **extra: Any) -> int:
    if as_json:
        print(json.dumps({**extra, **removal.as_json()}))
    else:
        for lesson in removal.lessons:
            print(f"{'would remove' if removal.dry_run else 'removed'} lesson "
                  f"{lesson['video_id']}: {lesson['file_name']} "
                  f"({lesson['class_group'] or '-'}, {lesson['lesson_date']})")
        print(removal.describe())
    for error in removal.file_errors:
        print(f"error: could not remove the stored upload {error}", file=sys.stderr)
    return 1 if removal.file_errors else 0


def cmd_lessons(args: argparse.Namespace) -> int:
    if args.action == "list":
        with _open_store(args, read_only=True) as store:
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
    with _open_store(args, create=False) as store:
        removal = store.delete_lesson(args.video_id)
    return _print_removal(removal, args.json)


def _describe_settings(values: dict[str, Any]) -> list[str]:
    return [f"{name} = {SETTINGS[name].describe(value)}" for name, value in values.items()]


def cmd_settings(args: argparse.Namespace) -> int:
    changes = {}
    for assignment in args.assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise SettingsError(f"a setting is set as NAME=VALUE (e.g. retention_days=365), "
                                f"not {assignment!r}")
        changes[name.strip()] = parse_setting(name.strip(), value)
    if not changes:
        with _open_store(args, read_only=True) as store:
            values = store.settings()
    else:
        with _open_store(args) as store:
            for name, value in changes.items():
                store.set_setting(name, value)
            values = store.settings()
    if args.json:
        print(json.dumps(values))
    else:
        print("\n".join(_describe_settings(values)))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    with _open_store(args, create=False) as store:
        days = store.retention_days()
        if days is None and not args.json:
            print("retention_days is none: lessons are kept until someone deletes them, so "
                  "nothing is purged (set it with: settings retention_days=DAYS)")
            return 0
        removal = store.purge_expired(dry_run=args.dry_run)
    return _print_removal(removal, args.json, retention_days=days)


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    import tempfile

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
    from emotion_core.evaluation.photos import LabelsError, photos_from
    from emotion_core.evaluation.runner import evaluate

    try:
        photos = photos_from(args.labels, workdir)
    except LabelsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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


def _command_line(args: argparse.Namespace) -> str:
    """The command as typed, for a model card to say how its model was made."""
    return "python -m emotion_core " + " ".join(sys.argv[1:] if args.argv is None else args.argv)


def cmd_train_emotion(args: argparse.Namespace) -> int:
    from emotion_core.training.train import run

    return run(args, _command_line(args))


def cmd_average_emotion(args: argparse.Namespace) -> int:
    from emotion_core.training.average import run

    return run(args, _command_line(args))


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


def _print_rules(settings: AlertSettings) -> None:
    for rule in RULES.values():
        print(f"{rule.name}: {rule.title}\n  {rule.explain(settings)}")
        for name, value in vars(getattr(settings, rule.name)).items():
            print(f"    --set {rule.name}.{name}={value}")
    print("guards, shared by every rule:")
    for name, value in vars(settings.guards).items():
        print(f"    --set guards.{name}={value}")


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


def cmd_alerts(args: argparse.Namespace) -> int:
    try:
        changes = _threshold_changes(args.set)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.rules and not (args.set or args.reset_thresholds):
        # the database's thresholds where there is one, else the defaults
        db = args.db or default_db_path()
        if not Path(db).is_file():
            _print_rules(AlertSettings())
            return 0
        with _open_store(args, db, read_only=True) as store:
            _print_rules(store.alert_settings())
        return 0
    with _open_store(args, create=False) as store:
        if changes or args.reset_thresholds:
            store.set_alert_thresholds(changes, reset=args.reset_thresholds)
            print("thresholds saved in the database; the app and later checks use them",
                  file=sys.stderr)
            if args.rules:
                _print_rules(store.alert_settings())
                return 0
        for status in ("dismissed", "confirmed", "open"):
            alert_id = getattr(args, status)
            if alert_id is None:
                continue
            try:
                store.review_alert(alert_id, status, args.note)
            except KeyError:
                print(f"error: there is no alert {alert_id}", file=sys.stderr)
                return 1
            print(f"alert {alert_id}: {status}")
            return 0
        print(check_alerts(store).describe(), file=sys.stderr)
        alerts = current_alerts(store, include_dismissed=args.all)
    for alert in alerts.to_dict("records"):
        if args.json:
            print(json.dumps(_alert_json(alert)))
            continue
        lesson = ", ".join(str(part) for part in (alert["class_group"], _lesson_date(alert))
                           if part is not None and not pd.isna(part))
        print(f"#{alert['alert_id']} {alert['status']:<9} student {alert['student_id']}  "
              f"{alert['file_name']}{f' ({lesson})' if lesson else ''}  "
              f"{clock(alert['window_start_s'])}-{clock(alert['window_end_s'])}  {alert['title']}")
        print(f"    {alert['summary']}")
    if not args.json:
        print(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
              + ("" if args.all else " (dismissed ones hidden: --all shows them)"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # which models an analysis used is always worth a line; -v adds the detail
    logging.getLogger("emotion_core").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    commands = {"analyze": cmd_analyze, "analyse": cmd_analyze, "export": cmd_export,
                "evaluate": cmd_evaluate, "students": cmd_students,
                "train-emotion": cmd_train_emotion, "average-emotion": cmd_average_emotion,
                "alerts": cmd_alerts,
                "lessons": cmd_lessons, "settings": cmd_settings, "purge": cmd_purge}
    try:
        return commands[args.command](args)
    except (StoreError, RosterError, LessonError, SettingsError, EmotionModelUnavailable,
            FaceEmbedderUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
