"""``analyze --engine ray``: the videos analysed on a Ray cluster and written here, with one
progress bar over all of them and one line per lesson."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from emotion_core.cli.analyze import describe_result
from emotion_core.cli.common import open_store, print_error

if TYPE_CHECKING:
    from emotion_core.analysis.engine_ray import LessonOutcome, LessonRequest, RunProgress
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.core.types import VideoInfo


def analyse_on_cluster(
    args: argparse.Namespace, settings: AnalysisSettings, videos: list[tuple[Path, VideoInfo]]
) -> int:
    """Analyse ``videos`` (checked, with what they hold) on the cluster ``args`` name; the
    number of lessons that failed."""
    from emotion_core.analysis.engine_ray import LessonRequest, analyse_on_ray, ray_cluster

    requests = [
        LessonRequest(path, settings, class_group=args.group, recorded_on=args.date,
                      duration_s=info.duration_s)
        for path, info in videos
    ]
    display = _RunDisplay(args, requests)
    try:
        # the cluster first: it takes seconds to start, and the database stays free meanwhile
        with ray_cluster(args.ray_address, num_cpus=args.ray_cpus), open_store(args) as store:
            outcomes = analyse_on_ray(
                requests, store, ship_videos=args.ship_videos,
                on_progress=display.progress, on_outcome=display.outcome,
            )
    finally:
        display.close()
    return sum(o.error is not None for o in outcomes)


class _RunDisplay:
    """One bar over all the lessons (video seconds done, lessons done, time left), or one JSON
    line per lesson on stderr; the lessons' result lines on stdout."""

    def __init__(self, args: argparse.Namespace, requests: list[LessonRequest]) -> None:
        from tqdm import tqdm

        self.as_json = args.json
        self.progress_json = args.progress_json
        self.lessons = len(requests)
        self.latest: RunProgress | None = None  # heard before each outcome
        self.bar = tqdm(
            total=round(sum(r.duration_s or 0.0 for r in requests), 1), desc="lessons",
            unit="video s", disable=args.no_progress or args.progress_json, file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} video s "
                       "[{elapsed}<{remaining}{postfix}]",
        )
        self.bar.set_postfix_str(f"0/{self.lessons} lessons", refresh=False)

    def progress(self, progress: RunProgress) -> None:
        self.latest = progress
        self.bar.n = round(min(progress.video_s_done, self.bar.total), 1)
        self.bar.set_postfix_str(f"{progress.lessons_done}/{self.lessons} lessons",
                                 refresh=False)
        self.bar.refresh()

    def outcome(self, outcome: LessonOutcome) -> None:
        result = outcome.result
        if result is None:
            self.bar.clear()
            print_error(outcome.error)
        else:
            line = json.dumps(result.as_json()) if self.as_json else describe_result(result)
            self.bar.write(line, file=sys.stdout)
            sys.stdout.flush()
        if self.progress_json and self.latest is not None:
            latest = self.latest
            print(json.dumps({
                "file_name": outcome.request.label,
                "status": "done" if result is not None else "failed",
                "lessons_done": latest.lessons_done, "lessons_total": latest.lessons_total,
                "video_s_done": round(latest.video_s_done, 3),
                "video_s_total": round(latest.video_s_total, 3),
                "elapsed_s": round(latest.elapsed_s, 3),
                "eta_s": round(latest.eta_s, 3) if latest.eta_s is not None else None,
            }), file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()
