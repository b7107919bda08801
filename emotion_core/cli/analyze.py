"""``analyze``: lesson videos into the database, with their progress and one line per video."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from emotion_core.cli.common import Commands, add_db_options, open_store, print_error
from emotion_core.core.types import Progress
from emotion_core.video.source import VideoError, file_label, probe

if TYPE_CHECKING:
    from tqdm import tqdm

    from emotion_core.analysis.settings import AnalysisResult
    from emotion_core.core.types import VideoInfo

# One video analysed into the open store, its progress reported to the callback.
AnalyseVideo = Callable[[Path, Callable[[Progress], None]], "AnalysisResult"]

# How long ``analyze`` waits for another process to let go of the database: an hour, about
# the longest lesson analysis; two analyses started at once then run one after the other.
ANALYSIS_WAIT_S = 3600.0


def add_parser(commands: Commands) -> None:
    from emotion_core.analysis.models import EMBEDDING_MODEL_CHOICES, EMOTION_MODEL_CHOICES
    from emotion_core.faces.choice import DEFAULT_DETECTOR, DETECTORS

    analyze = commands.add_parser("analyze", aliases=["analyse"], help="analyse lesson videos")
    analyze.add_argument("videos", nargs="+", type=Path, help="video files (mp4, avi, mov, mkv, webm, …)")
    add_db_options(analyze, ANALYSIS_WAIT_S)
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
        "--min-identity-px", type=float, default=None, metavar="PX",
        help="faces under this many px high are not identified (default: the embedding "
             "model's calibrated size, 24 px for Dlib); smaller faces are close to everyone's, "
             "so lowering it risks mixing children up",
    )
    analyze.add_argument(
        "--embedding-model", choices=EMBEDDING_MODEL_CHOICES, default="auto",
        help="auto: DeepFace's VGG-Face where its weights are available, else the offline Dlib",
    )
    _add_readability_options(analyze)
    analyze.add_argument(  # checked in cmd_analyze, so an unknown name is one error line
        "--detector", default=DEFAULT_DETECTOR, metavar="NAME",
        help=f"face detector: {' or '.join(DETECTORS)} (default {DEFAULT_DETECTOR}; see "
             "docs/detection.md)",
    )
    analyze.add_argument("--group", help="class or group the lessons belong to")
    analyze.add_argument("--date", type=date.fromisoformat, help="lesson date, YYYY-MM-DD")
    analyze.add_argument("--json", action="store_true", help="print one JSON object per video")
    progress = analyze.add_mutually_exclusive_group()
    progress.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    progress.add_argument(
        "--progress-json", action="store_true",
        help="instead of the bar, print JSON objects on stderr: with the local engine one per "
             "batch of frames (file_name, frames_done, frames_total, faces, elapsed_s), with "
             "Ray one per lesson written or failed (file_name, status, lessons_done, "
             "lessons_total, video_s_done, video_s_total, elapsed_s, eta_s)",
    )
    _add_engine_options(analyze)
    analyze.set_defaults(handler=cmd_analyze)


def _add_engine_options(analyze: argparse.ArgumentParser) -> None:
    """Where the videos are analysed: here, one after the other, or on a Ray cluster
    (analysis/engine_ray.py; README, "Analysing on a Ray cluster")."""
    analyze.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local (default): analyse the videos one after the other in this process; ray: "
             "spread them over a Ray cluster, one video per task, written here in the order "
             "given",
    )
    analyze.add_argument(
        "--ray-address", metavar="ADDRESS",
        help="with --engine ray: join the cluster at ADDRESS (auto: the one `ray start --head` "
             "started on this machine; or HOST:6379); without it a local cluster is started "
             "for the run",
    )
    analyze.add_argument(
        "--ray-cpus", type=int, metavar="N",
        help="with --engine ray and no --ray-address: the local cluster's CPUs, one video at "
             "a time each (default: all of this machine's)",
    )
    analyze.add_argument(
        "--ship-videos", action="store_true",
        help="with --engine ray: send the videos to the workers through Ray's object store, "
             "for nodes that do not see this machine's files (default: workers read them by "
             "path, from storage every node sees)",
    )


def _engine_option_error(args: argparse.Namespace) -> str | None:
    """Why the engine options do not go together, or None."""
    ray_only = [name for name, value in (("--ray-address", args.ray_address),
                                         ("--ray-cpus", args.ray_cpus),
                                         ("--ship-videos", args.ship_videos)) if value]
    if args.engine != "ray" and ray_only:
        return f"{', '.join(ray_only)}: only with --engine ray"
    if args.ray_cpus is not None and (args.ray_cpus < 1 or args.ray_address):
        return "--ray-cpus is a number of CPUs from 1, for a local cluster (no --ray-address)"
    return None


def _add_readability_options(analyze: argparse.ArgumentParser) -> None:
    """Which faces are read (faces/readability.py); the others are counted and identified but
    get no emotion reading."""
    from emotion_core.faces.readability import ReadabilitySettings

    default = ReadabilitySettings()
    analyze.add_argument(
        "--min-face-px", type=float, default=default.min_face_px,
        help=f"smallest face read, its height in pixels of the video (default "
             f"{default.min_face_px:g}); smaller faces get no emotion reading",
    )
    analyze.add_argument(
        "--max-yaw", type=float, default=default.max_yaw_deg, metavar="DEGREES",
        help=f"faces turned further to the side get no reading (default {default.max_yaw_deg:g})",
    )
    analyze.add_argument(
        "--max-pitch", type=float, default=default.max_pitch_deg, metavar="DEGREES",
        help=f"faces looking down further (at a desk, a book) get no reading (default "
             f"{default.max_pitch_deg:g})",
    )
    analyze.add_argument(
        "--min-sharpness", type=float, default=default.min_sharpness,
        help=f"blurrier faces get no reading, 0 reads all (default {default.min_sharpness:g})",
    )


def cmd_analyze(args: argparse.Namespace) -> int:
    from emotion_core.analysis.models import configure_environment

    configure_environment()
    from emotion_core.analysis.models import load_detector, load_embedder, load_emotion_model
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.faces.choice import detector_settings
    from emotion_core.faces.readability import ReadabilitySettings

    try:
        readability = ReadabilitySettings(
            min_face_px=args.min_face_px, max_yaw_deg=args.max_yaw, max_pitch_deg=args.max_pitch,
            min_sharpness=args.min_sharpness,
        )
        settings = AnalysisSettings(
            sample_fps=args.fps, emotion_model=args.emotion_model,
            identify=not args.no_identify, embedding_model=args.embedding_model,
            identify_new_students=not args.no_new_students, store_thumbnails=args.thumbnails,
            min_identity_px=args.min_identity_px, readability=readability, detector=detector_settings(args.detector),
        )
    except ValueError as exc:
        print_error(exc)
        return 2
    if (problem := _engine_option_error(args)) is not None:
        print_error(problem)
        return 2
    # Check every file before loading the models (seconds of work), so that a file that is no
    # video is reported at once, and a run with nothing to analyse leaves the database alone.
    probed = _readable_videos(args.videos)
    videos = [path for path, _ in probed]
    failures = len(args.videos) - len(videos)
    if not videos:
        return 1
    if args.engine == "ray":
        from emotion_core.cli.analyze_ray import analyse_on_cluster

        failures += analyse_on_cluster(args, settings, probed)
        return 1 if failures else 0
    # the models load before the database is opened, so a run that has to wait for another is
    # ready to start when it gets the database
    detector = load_detector(settings.detector)
    emotion_model = load_emotion_model(args.emotion_model)
    with open_store(args) as store:
        embedder = (
            load_embedder(args.embedding_model, store.embedding_models())
            if settings.identify else None
        )

        def analyse(path: Path, on_progress: Callable[[Progress], None]) -> AnalysisResult:
            return analyse_video(
                path, store, detector, emotion_model, settings, embedder=embedder,
                class_group=args.group, recorded_on=args.date, on_progress=on_progress,
            )

        for path in videos:
            if not _analyse_one(path, analyse, args):
                failures += 1
    return 1 if failures else 0


def _readable_videos(paths: list[Path]) -> list[tuple[Path, VideoInfo]]:
    """The paths that open as videos, with what they hold; an error line for each of the
    others."""
    readable = []
    for path in paths:
        try:
            info = probe(path)
        except VideoError as exc:
            print_error(exc)
        else:
            readable.append((path, info))
    return readable


def _analyse_one(path: Path, analyse: AnalyseVideo, args: argparse.Namespace) -> bool:
    """Analyse one video with its progress shown, and print its result; False if it failed."""
    bar, update = _progress_bar(
        file_label(path), enabled=not (args.no_progress or args.progress_json)
    )
    if args.progress_json:
        update = _progress_lines(file_label(path))
    try:
        result = analyse(path, update)
    except VideoError as exc:
        bar.close()
        print_error(exc)
        return False
    bar.close()
    if args.json:
        print(json.dumps(result.as_json()), flush=True)
    else:
        print(describe_result(result))
    return True


def describe_result(result: AnalysisResult) -> str:
    """One line for one analysed video."""
    anonymous = (
        f", {result.anonymous_people} left anonymous" if result.anonymous_people
        else ""
    )
    who = (
        f"{result.students} students ({result.new_students} new{anonymous}, "
        f"{result.embedding_model})" if result.students is not None
        else "identification off"
    )
    return (
        f"{result.file_name}: video {result.video_id}, {result.frames_sampled} frames, "
        f"{result.faces} faces ({result.readable_faces} readable) in {result.tracks} tracks, "
        f"{who}, "
        f"{result.seconds:.1f} s ({result.emotion_model})"
    )


def _progress_bar(name: str, enabled: bool) -> tuple[tqdm, Callable[[Progress], None]]:
    from tqdm import tqdm

    bar = tqdm(total=0, desc=name, unit="frame", disable=not enabled, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} frames "
                          "[{elapsed}<{remaining}{postfix}]")

    def update(progress: Progress) -> None:
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
