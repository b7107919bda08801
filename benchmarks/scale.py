"""How the Ray engine scales on this machine: 1 worker against 2, over the same videos.

For each worker count N (1, then 2) a local Ray cluster of N CPUs is started
(``cluster_start_s``: the time to start it), the videos are analysed once to warm the workers
(each worker process loads its models; ``first_s``), then analysed again into a fresh database
(``warm_s``). ``throughput`` is the video seconds analysed per wall second of that warm run,
the driver's matching and writing included; ``worker_rss_mb`` is each worker process's
resident memory after it; ``warm_model_loads`` counts lessons of the warm run whose worker
still had to load the models (0 when the warm-up reached every worker). Then the cluster
stops. Both runs use the offline models (``classroom``, ``Dlib``), as ``ray_engine.py`` does.

``efficiency`` = throughput with 2 workers / (2 × throughput with 1): 1.0 is perfect scaling.
Ray gives each lesson one CPU, but the libraries in a worker may use more threads, so a lone
worker can borrow the idle second core and the efficiency falls below what more machines
would see. ``--repeat K`` analyses each video K times (as K lessons), so two workers have
enough lessons to share; by default the three real videos in ``../shared/data/videos``.

``projection`` turns a per-core throughput (throughput / N) into the cores a school (30
classrooms × 6 lessons of 45 minutes a day, 135 video-hours) and a district (1,000 lessons a
day) would need to analyse each day's lessons within the day.

Usage::

    .venv/bin/python benchmarks/scale.py [VIDEO ...] [--repeat K] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.ray_engine import GROUP, VIDEOS_DIR, worker_rss_mb
from emotion_core.analysis.models import configure_environment

WORKER_COUNTS = (1, 2)
SCHOOL_LESSONS_PER_DAY = 30 * 6  # 30 classrooms, 6 lessons each
DISTRICT_LESSONS_PER_DAY = 1000


def projection(
    per_core_throughput: float, lessons_per_day: int = 1000, lesson_minutes: float = 45
) -> float:
    """The cores needed to analyse a day's lessons within the day, at ``per_core_throughput``
    video seconds per wall second per core: video-hours a day / (throughput × 24 h)."""
    if per_core_throughput <= 0:
        raise ValueError(f"per-core throughput must be positive, not {per_core_throughput}")
    video_hours = lessons_per_day * lesson_minutes / 60
    return video_hours / (per_core_throughput * 24)


def lesson_requests(videos: list[Path], repeat: int) -> list[Any]:
    """Each video ``repeat`` times, each copy a lesson of its own name (so none replaces
    another in the store)."""
    from emotion_core.analysis.engine_ray import LessonRequest
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.video.source import file_label

    settings = AnalysisSettings(emotion_model="classroom", embedding_model="Dlib")
    return [
        LessonRequest(video, settings, name=f"{file_label(video)} #{copy}", class_group=GROUP)
        for copy in range(1, repeat + 1) for video in videos
    ]


def measure(workers: int, warm_up: list[Any], timed: list[Any], video_s: float,
            folder: Path) -> dict[str, Any]:
    """One cluster of ``workers`` CPUs: started, warmed with ``warm_up``, timed on ``timed``."""
    from emotion_core.analysis.engine_ray import analyse_on_ray, ray_cluster
    from emotion_core.store.store import Store

    started = time.perf_counter()
    with ray_cluster(num_cpus=workers):
        cluster_start_s = time.perf_counter() - started
        runs: dict[str, tuple[float, list[Any]]] = {}
        for name, requests in (("first", warm_up), ("warm", timed)):
            started = time.perf_counter()
            with Store(folder / f"{name}_{workers}.duckdb") as store:
                outcomes = analyse_on_ray(requests, store)
            runs[name] = (time.perf_counter() - started, outcomes)
            failed = [o.error for o in outcomes if o.error]
            if failed:
                raise SystemExit(f"{workers} worker(s), {name} run: {failed[0]}")
        rss = worker_rss_mb(runs["first"][1] + runs["warm"][1])
    warm_s = runs["warm"][0]
    return {
        "workers": workers, "cluster_start_s": round(cluster_start_s, 2),
        "first_s": round(runs["first"][0], 2), "warm_s": round(warm_s, 2),
        "throughput": round(video_s / warm_s, 3), "worker_rss_mb": rss,
        "warm_model_loads": sum(o.loaded_models for o in runs["warm"][1]),
    }


def report(videos: list[Path], repeat: int) -> dict[str, Any]:
    from emotion_core.video.source import probe

    timed = lesson_requests(videos, repeat)
    # every worker gets a lesson to warm up on, however few videos there are
    warm_up = lesson_requests(videos, -(-max(WORKER_COUNTS) // len(videos)))
    video_s = repeat * sum(probe(v).duration_s for v in videos)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [measure(n, warm_up, timed, video_s, Path(tmp)) for n in WORKER_COUNTS]
    one, two = runs[0]["throughput"], runs[1]["throughput"]
    projections = {
        str(run["workers"]): {
            "per_core_throughput": round(run["throughput"] / run["workers"], 3),
            "school_cores": round(projection(run["throughput"] / run["workers"],
                                             SCHOOL_LESSONS_PER_DAY), 1),
            "district_cores": round(projection(run["throughput"] / run["workers"],
                                               DISTRICT_LESSONS_PER_DAY), 1),
        }
        for run in runs
    }
    return {
        "videos": [v.name for v in videos], "repeat": repeat, "lessons": len(timed),
        "video_s": round(video_s, 2), "runs": runs,
        "efficiency": round(two / (2 * one), 3), "projection": projections,
    }


def print_summary(result: dict[str, Any]) -> None:
    print(f"{result['lessons']} lessons ({', '.join(result['videos'])} × {result['repeat']}), "
          f"{result['video_s']} s of video")
    for run in result["runs"]:
        print(f"{run['workers']} worker(s): cluster start {run['cluster_start_s']} s, "
              f"warm-up run {run['first_s']} s, timed run {run['warm_s']} s = "
              f"{run['throughput']} video-s per s; worker RSS {run['worker_rss_mb']} MiB; "
              f"models loaded in the timed run: {run['warm_model_loads']}")
    print(f"scaling efficiency (2 workers / 2 × 1 worker): {result['efficiency']}")
    print(f"cores needed, school ({SCHOOL_LESSONS_PER_DAY} lessons a day) / district "
          f"({DISTRICT_LESSONS_PER_DAY} lessons a day), 45-minute lessons:")
    for workers, row in result["projection"].items():
        print(f"  from the {workers}-worker run ({row['per_core_throughput']} video-s per s "
              f"per core): {row['school_cores']} / {row['district_cores']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1,
                        help="analyse each video this many times (as that many lessons)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.repeat < 1:
        raise SystemExit(f"--repeat must be at least 1, not {args.repeat}")
    videos = args.videos or sorted(VIDEOS_DIR.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"no videos given, and none in {VIDEOS_DIR}")
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        raise SystemExit(f"not a file: {missing[0]}")
    configure_environment()
    result = report(videos, args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        print_summary(result)


if __name__ == "__main__":
    main()
