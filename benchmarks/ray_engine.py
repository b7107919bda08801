"""The Ray engine against the local one, on this machine: the same videos analysed both ways.

Two measurements, each over the same videos (by default the three real ones in
``../shared/data/videos``, 18.6 s of video), both with the offline models named
(``classroom``, ``Dlib``) so that no run spends time on DeepFace's download attempt:

(a) the command as a user runs it, end to end in a child process:
    ``python -m emotion_core analyze VIDEOS --engine local`` and ``--engine ray --ray-cpus N``
    (which starts a local cluster of N CPUs, loads the models in each worker process, analyses
    and stops the cluster). ``*_cli_s`` is the wall time of each.
(b) in this process, to split the Ray run's cost: ``cluster_start_s`` (starting a local cluster),
    ``ray_first_s`` (the first run: workers start and load their models), ``ray_warm_s`` (the
    same videos again into a fresh database, the workers' models loaded), against
    ``local_warm_s`` (``analyse_video`` over the videos, the models loaded in this process).
    ``worker_rss_mb`` is each worker process's resident memory after the runs.

``same_observations``: the two engines stored the same faces, boxes and probabilities (to
1e-5) and the same students. Throughputs are video seconds per wall second. On a machine of
two cores a one-off ``analyze --engine ray`` is slower than the local engine: it starts a
cluster and loads the models once per worker, which costs more than these short videos take.
With a cluster already running and its workers' models loaded (``ray_warm_s``), two lessons
at a time can beat the local engine's one at a time (whose second core only embeds faces); the
real gain is from more machines.

Usage::

    .venv/bin/python benchmarks/ray_engine.py [VIDEO ...] [--cpus 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from emotion_core.analysis.models import configure_environment

VIDEOS_DIR = PROJECT_ROOT.parent / "shared" / "data" / "videos"
MODELS = ["--emotion-model", "classroom", "--embedding-model", "Dlib"]
GROUP = "benchmark"


def cli_seconds(videos: list[Path], db: Path, *engine: str) -> float:
    """Wall time of ``analyze VIDEOS`` in a child process, as a user runs it."""
    command = [sys.executable, "-m", "emotion_core", "analyze", *map(str, videos), "--db",
               str(db), "--group", GROUP, "--no-progress", "--json", *MODELS, *engine]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(engine) or 'local'} run failed: {done.stderr[-2000:]}")
    return seconds


def in_process(videos: list[Path], folder: Path, cpus: int) -> dict[str, Any]:
    """The Ray run split into its parts, against the local engine with its models loaded."""
    from emotion_core.analysis.engine_ray import LessonRequest, analyse_on_ray, ray_cluster
    from emotion_core.analysis.models import load_detector, load_embedder, load_emotion_model
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.store.store import Store

    settings = AnalysisSettings(emotion_model="classroom", embedding_model="Dlib")
    detector = load_detector(settings.detector)
    model = load_emotion_model(settings.emotion_model)
    embedder = load_embedder(settings.embedding_model)
    started = time.perf_counter()
    with Store(folder / "local_warm.duckdb") as store:
        for video in videos:
            analyse_video(video, store, detector, model, settings, embedder=embedder,
                          class_group=GROUP)
    local_warm_s = time.perf_counter() - started
    requests = [LessonRequest(v, settings, class_group=GROUP) for v in videos]
    started = time.perf_counter()
    with ray_cluster(num_cpus=cpus):
        cluster_start_s = time.perf_counter() - started
        times = []
        for name in ("ray_first", "ray_warm"):
            started = time.perf_counter()
            with Store(folder / f"{name}.duckdb") as store:
                outcomes = analyse_on_ray(requests, store)
            times.append(time.perf_counter() - started)
        rss = worker_rss_mb(outcomes)
    return {
        "local_warm_s": round(local_warm_s, 2), "cluster_start_s": round(cluster_start_s, 2),
        "ray_first_s": round(times[0], 2), "ray_warm_s": round(times[1], 2),
        "worker_rss_mb": rss,
        "same_observations": same_lessons(folder / "local_warm.duckdb",
                                          folder / "ray_warm.duckdb"),
    }


def worker_rss_mb(outcomes: list[Any]) -> list[int]:
    """Resident memory (MiB) of each worker process of this machine that analysed one of
    ``outcomes`` (``LessonOutcome``s), read now: the cluster must still run."""
    import psutil

    workers = sorted({int(o.worker.rsplit(":", 1)[1]) for o in outcomes if o.worker})
    return [round(psutil.Process(pid).memory_info().rss / 2**20) for pid in workers
            if psutil.pid_exists(pid)]


def same_lessons(left: Path, right: Path) -> bool:
    import pandas as pd

    from emotion_core.store.store import Store

    with Store(left, read_only=True) as a, Store(right, read_only=True) as b:
        try:
            pd.testing.assert_frame_equal(a.observations(), b.observations(),
                                          check_exact=False, rtol=1e-5, atol=1e-6)
            columns = ["student_id", "display_name", "lessons", "tracks", "observations"]
            pd.testing.assert_frame_equal(a.students()[columns], b.students()[columns])
        except AssertionError:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--cpus", type=int, default=2, help="the local cluster's CPUs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    videos = args.videos or sorted(VIDEOS_DIR.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"no videos given, and none in {VIDEOS_DIR}")
    configure_environment()
    from emotion_core.video.source import probe

    video_s = sum(probe(v).duration_s for v in videos)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        local_cli_s = cli_seconds(videos, folder / "local.duckdb")
        ray_cli_s = cli_seconds(videos, folder / "ray.duckdb", "--engine", "ray",
                                "--ray-cpus", str(args.cpus))
        parts = in_process(videos, folder, args.cpus)
        parts["same_observations_cli"] = same_lessons(folder / "local.duckdb",
                                                      folder / "ray.duckdb")
    report = {
        "videos": [v.name for v in videos], "video_s": round(video_s, 2), "cpus": args.cpus,
        "local_cli_s": round(local_cli_s, 2), "ray_cli_s": round(ray_cli_s, 2),
        "local_cli_throughput": round(video_s / local_cli_s, 3),
        "ray_cli_throughput": round(video_s / ray_cli_s, 3),
        **parts,
        "local_warm_throughput": round(video_s / parts["local_warm_s"], 3),
        "ray_warm_throughput": round(video_s / parts["ray_warm_s"], 3),
    }
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
