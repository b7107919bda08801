"""What the alert rules get to read on real video: the readings behind the guards' defaults.

Reads a database that ``python -m emotion_core analyze`` filled (students are not known yet on
these clips, so each face track stands for a student) and prints, per lesson:

* the share read as negative (sad, fear, anger, disgust) for faces detected with a score under
  and over ``--score`` (default: the rules' ``min_detection_score``), to see whether poorly
  detected faces are read differently;
* per track with at least ``--min-frames`` frames: the mean negative share and the standard
  deviation within the track of the negative share and of the expression balance, to see how
  much the model leans one way on a face and how noisy one frame is (the clips last seconds,
  so that deviation is mostly frame-to-frame noise).

Usage::

    .venv/bin/python -m emotion_core analyze ../shared/data/videos/*.mp4 --db /tmp/real.duckdb --fps 5
    .venv/bin/python benchmarks/alert_inputs.py --db /tmp/real.duckdb [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emotion_core.alerts.timeline import expression_balance
from emotion_core.core.alert_settings import Guards
from emotion_core.core.labels import NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS
from emotion_core.store.store import Store


def describe(db: Path, score: float, min_frames: int) -> list[dict[str, object]]:
    with Store(db, read_only=True) as store:
        videos = store.videos()
        lessons = []
        for video in videos.itertuples():
            rows = store.observations(int(video.video_id))
            rows = rows[rows["readable"]]  # the faces with a reading, as the alerts read them
            negative = rows[list(NEGATIVE_EMOTIONS)].sum(axis=1)
            happy = rows[list(POSITIVE_EMOTIONS)].sum(axis=1)
            rows = rows.assign(negative=negative, balance=expression_balance(happy, negative))
            poor = rows["detection_score"] < score
            tracks = rows.groupby("track_id").filter(lambda t: len(t) >= min_frames)
            per_track = tracks.groupby("track_id").agg(
                frames=("negative", "size"), negative=("negative", "mean"),
                negative_sd=("negative", "std"), balance=("balance", "mean"),
                balance_sd=("balance", "std"))
            lessons.append({
                "file_name": video.file_name, "emotion_model": video.emotion_model,
                "faces": len(rows),
                "poor_faces": int(poor.sum()),
                "negative_share_poor": round(float(rows.loc[poor, "negative"].mean()), 3)
                if poor.any() else None,
                "negative_share_good": round(float(rows.loc[~poor, "negative"].mean()), 3),
                "tracks": len(per_track),
                "track_negative_share": [round(float(v), 2) for v in per_track["negative"]],
                "track_balance": [round(float(v), 2) for v in per_track["balance"]],
                "frame_sd_negative_median": round(float(np.median(per_track["negative_sd"])), 3),
                "frame_sd_balance_median": round(float(np.median(per_track["balance_sd"])), 3),
            })
    return lessons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--score", type=float, default=Guards().min_detection_score)
    parser.add_argument("--min-frames", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for lesson in describe(args.db, args.score, args.min_frames):
        if args.json:
            print(json.dumps(lesson))
        else:
            print(f"{lesson['file_name']} ({lesson['emotion_model']}): {lesson['faces']} faces; "
                  f"negative share {lesson['negative_share_good']} at score >= {args.score}, "
                  f"{lesson['negative_share_poor']} in the {lesson['poor_faces']} under it; "
                  f"{lesson['tracks']} tracks, mean negative share per track "
                  f"{lesson['track_negative_share']}, balance {lesson['track_balance']}, "
                  f"sd within a track: negative {lesson['frame_sd_negative_median']}, "
                  f"balance {lesson['frame_sd_balance_median']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
