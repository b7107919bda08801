"""Memory benchmark: the analysis's peak memory must not grow with the length of the video.

Re-encodes a short clip (default: the classroom CCTV clip) once and looped ``--times`` times
(default 10) with PyAV into a temporary folder outside the repository, then analyses each in a
fresh process with the command line a user runs::

    python -m emotion_core analyze VIDEO --db TMP.duckdb --json --no-progress

The child's peak resident memory comes from the kernel (``os.wait4``'s ``ru_maxrss``, exact,
nothing missed between samples); its resident memory is also sampled every ``--interval`` s, so
the report shows the level at each quarter of the run. Both videos are encoded the same way, so
only their length differs. Target: ``ratio`` = long peak / short peak <= 1.2. The analysis's
embedding helper (a child process, ``emotion_core/identity/worker.py``) is sampled too:
``helper_peak_rss_mb``, and ``ratio_with_helper`` for the two processes' peaks added up.

Usage::

    .venv/bin/python benchmarks/memory.py [--video PATH] [--times 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = PROJECT_ROOT.parent / "shared" / "data" / "videos" / "classroom_children_cctv.mp4"
TARGET_RATIO = 1.2


def loop_video(source: Path, out: Path, times: int) -> float:
    """Write ``source``'s picture ``times`` times in a row to ``out`` (H.264); returns seconds."""
    with av.open(str(source)) as probe:
        stream = probe.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25).limit_denominator(1001)
        width, height = stream.codec_context.width, stream.codec_context.height
    written = 0
    with av.open(str(out), mode="w") as container:
        encoder = container.add_stream("libx264", rate=rate)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.options = {"crf": "23", "preset": "veryfast"}
        for _ in range(times):
            with av.open(str(source)) as clip:
                for frame in clip.decode(video=0):
                    picture = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), "rgb24")
                    picture.pts = written
                    picture.time_base = 1 / rate
                    container.mux(encoder.encode(picture))
                    written += 1
        container.mux(encoder.encode())
    return float(written / rate)


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def analyse_in_child(video: Path, db: Path, interval_s: float) -> dict[str, Any]:
    """Analyse ``video`` in a fresh Python process; its peak RSS, samples and JSON result."""
    command = [
        sys.executable, "-m", "emotion_core", "analyze", str(video), "--db", str(db),
        "--json", "--no-progress",
    ]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    samples: list[tuple[float, float]] = []
    helper_peak = [0.0]  # the analysis's own child processes (the embedding helper), sampled
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval_s):
            rss = _rss_mb(child.pid)
            if rss is not None:
                samples.append((time.perf_counter() - started, rss))
            helpers = sum(_rss_mb(pid) or 0.0 for pid in _children(child.pid))
            helper_peak[0] = max(helper_peak[0], helpers)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = _drain(child)
    # wait4 reports this child's own peak, not the largest of all children so far
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    wall_s = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"analysis of {video.name} failed ({child.returncode}): {stderr[-2000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    return {
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kB on Linux
        "helper_peak_rss_mb": round(helper_peak[0], 1),
        "rss_mb_at_quarters": _quarters(samples),
        "wall_s": round(wall_s, 2),
        "analysis_s": result["seconds"],
        "frames_sampled": result["frames_sampled"],
        "faces": result["faces"],
    }


def _children(pid: int) -> list[int]:
    """The process's children (Linux ``/proc``)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for task in tasks for c in (task / "children").read_text().split()]
    except OSError:
        return []


def _drain(child: subprocess.Popen[str]) -> tuple[str, str]:
    """Read both pipes to the end without reaping the child (``os.wait4`` does that)."""
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True)
    reader.start()
    out = child.stdout.read()
    reader.join()
    return out, errors[0] if errors else ""


def _quarters(samples: list[tuple[float, float]]) -> list[float]:
    """RSS at 25, 50, 75 and 100 % of the run (the last sample before each point)."""
    if not samples:
        return []
    end = samples[-1][0]
    levels = []
    for fraction in (0.25, 0.5, 0.75, 1.0):
        before = [rss for t, rss in samples if t <= fraction * end] or [samples[0][1]]
        levels.append(round(before[-1], 1))
    return levels


def run(video: Path, times: int, interval_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="classroom-memory-") as tmp:
        folder = Path(tmp)
        report: dict[str, Any] = {"source": video.name, "times": times}
        for name, repeats in (("short", 1), ("long", times)):
            path = folder / f"{name}.mp4"
            seconds = loop_video(video, path, repeats)
            measured = analyse_in_child(path, folder / f"{name}.duckdb", interval_s)
            report[name] = {"video_s": round(seconds, 2), **measured}
    report["ratio"] = round(report["long"]["peak_rss_mb"] / report["short"]["peak_rss_mb"], 3)
    # the analysis and its embedding helper together (the helper's peak is sampled)
    both = {name: report[name]["peak_rss_mb"] + report[name]["helper_peak_rss_mb"]
            for name in ("short", "long")}
    report["ratio_with_helper"] = round(both["long"] / both["short"], 3)
    report["target_ratio"] = TARGET_RATIO
    report["flat"] = report["ratio"] <= TARGET_RATIO
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="the short clip")
    parser.add_argument("--times", type=int, default=10, help="the long video is this many loops")
    parser.add_argument("--interval", type=float, default=0.2, help="RSS sampling period, s")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.video.is_file():
        parser.error(f"no video at {args.video}")
    if args.times < 2:
        parser.error("--times must be at least 2")
    report = run(args.video, args.times, args.interval)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name in ("short", "long"):
            r = report[name]
            print(
                f"{name}: {r['video_s']} s of video, {r['frames_sampled']} frames, {r['faces']} "
                f"faces, peak RSS {r['peak_rss_mb']} MB (at quarters {r['rss_mb_at_quarters']})"
            )
        print(f"ratio long/short {report['ratio']} (target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
