"""Identity benchmark: are students told apart and found again, within a lesson and across two?

What it does
------------
1. Composes two classroom "lessons" with ``compose_classroom`` (the same 10 JAFFE people, faces
   20-120 px wide, everyone leaving once and coming back, two people crossing each other and
   swapping seats): lesson A with ``--seed`` and lesson B with the same room and
   ``seat_permutation_seed=--seats-seed``, so everybody sits somewhere else and has another
   face size. Or takes ``--videos A B`` with their ``.truth.csv`` beside them.
2. Analyses A, then B, into one fresh DuckDB with the real pipeline (``analyse_video`` at the
   default settings; identification on), so B is matched against the students A created.
3. Matches the stored observations to the truth frame by frame (as ``detection.py`` does: IoU
   >= 0.4, one detection per face) and scores the student ids the faces were given.

The numbers
-----------
* ``id_purity``: over both lessons, for each student id the share of its matched faces that
  belong to the person most of them belong to, weighted by faces. 1.0: no student mixes people.
* ``id_switches``: for each person and lesson, the number of times the student id changes
  between consecutive matched sightings (absences and gaps do not count; a change does).
* ``reid_accuracy``: the share of lesson B's matched faces whose student id is the one their
  person has in lesson A (the id most of the person's faces in A got). ``persons_reidentified``
  counts the people whose main id in B is their main id in A.
* ``students_per_person``: distinct student ids per person over both lessons (1 is ideal).
* ``identified``: the share of matched faces that carry a student id at all.
* ``emotion_accuracy``: the share of matched faces whose ``top_emotion`` is the posed emotion.
* ``sweep`` (with ``--sweep D ...``): the first four numbers again for other same-person
  distances, computed from the same tracks (their stored embeddings), without analysing again.
  ``sweep_newcomers`` replays the same tracks as if the first ``--newcomers`` people (2) had
  missed lesson A and the last two missed lesson B: the newcomers must get new ids although
  two roster students are away (``newcomers_given_a_known_id`` should be 0).
* ``realtime_factor``: video seconds / analysis seconds per lesson, and ``faces_embedded``:
  chips embedded per lesson (the cost of identity, bounded per track).

Usage::

    .venv/bin/python benchmarks/identity.py --json [--seed 0] [--seats-seed 1] [--duration 60]
        [--compose-dir DIR] [--videos A.mp4 B.mp4] [--embedding-model auto] [--threshold D]
        [--sweep D ...] [--newcomers 2] [--db PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.detection import DEFAULT_MIN_IOU, load_truth, match_frame, truth_csv_of

BOX = ["x1", "y1", "x2", "y2"]


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def compose_lessons(
    folder: Path, seed: int, seats_seed: int, duration_s: float
) -> tuple[Path, Path]:
    """Lessons A and B (reused when already composed in ``folder``)."""
    from benchmarks.compose_classroom import compose_classroom

    specs = {
        f"lesson_a_seed{seed}_{duration_s:g}s.mp4": {"seat_permutation_seed": None},
        f"lesson_b_seed{seed}_seats{seats_seed}_{duration_s:g}s.mp4": {
            "seat_permutation_seed": seats_seed
        },
    }
    paths = []
    for name, options in specs.items():
        video = folder / name
        if not (video.is_file() and truth_csv_of(video).is_file()):
            _note(f"composing {video} ...")
            compose_classroom(video, seed=seed, duration_s=duration_s, crossing=True, **options)
        paths.append(video)
    return paths[0], paths[1]


def matched_faces(
    truth: pd.DataFrame, observations: pd.DataFrame, min_iou: float = DEFAULT_MIN_IOU
) -> pd.DataFrame:
    """One row per truth face matched to an observation: frame, person, emotion, student,
    track, top emotion; only frames the pipeline sampled (those in ``observations``, or with
    no face found)."""
    rows = []
    by_frame = dict(tuple(observations.groupby("frame_index")))
    for frame_index, faces in truth.groupby("frame_index"):
        found = by_frame.get(frame_index)
        if found is None:
            continue
        match = match_frame(faces[BOX].to_numpy(), found[BOX].to_numpy(), min_iou)
        for t, d in enumerate(match.truth_matched.tolist()):
            if d < 0:
                continue
            obs = found.iloc[d]
            rows.append({
                "frame_index": int(frame_index),
                "person": faces["person"].iloc[t],
                "emotion": faces["emotion"].iloc[t],
                "width": float(faces["x2"].iloc[t] - faces["x1"].iloc[t]),
                "student_id": None if pd.isna(obs["student_id"]) else int(obs["student_id"]),
                "track_id": int(obs["track_id"]),
                "top_emotion": obs["top_emotion"],
            })
    return pd.DataFrame(rows)


def id_switches(matched: pd.DataFrame) -> int:
    """Changes of student id between consecutive matched sightings of one person."""
    switches = 0
    for _, rows in matched.sort_values("frame_index").groupby("person"):
        ids = rows["student_id"].tolist()
        switches += sum(1 for a, b in itertools.pairwise(ids) if a != b)
    return switches


def main_ids(matched: pd.DataFrame) -> dict[str, Any]:
    """Each person's most frequent student id."""
    return {
        person: Counter(rows["student_id"].tolist()).most_common(1)[0][0]
        for person, rows in matched.groupby("person")
    }


def score(lesson_a: pd.DataFrame, lesson_b: pd.DataFrame) -> dict[str, Any]:
    both = pd.concat([lesson_a.assign(lesson="A"), lesson_b.assign(lesson="B")])
    named = both.dropna(subset=["student_id"])
    majority = sum(
        Counter(rows["person"]).most_common(1)[0][1] for _, rows in named.groupby("student_id")
    )
    in_a, in_b = main_ids(lesson_a), main_ids(lesson_b)
    expected = lesson_b["person"].map(in_a)
    per_person = {
        person: {
            "student_a": in_a.get(person), "student_b": in_b.get(person),
            "students": sorted({int(s) for s in rows["student_id"].dropna()}),
            "faces": len(rows),
        }
        for person, rows in both.groupby("person")
    }
    return {
        "id_purity": round(majority / len(named), 4) if len(named) else None,
        "id_switches": id_switches(lesson_a) + id_switches(lesson_b),
        "id_switches_by_lesson": {"A": id_switches(lesson_a), "B": id_switches(lesson_b)},
        "reid_accuracy": round(float((lesson_b["student_id"] == expected).mean()), 4),
        "persons_reidentified": sum(
            1 for p in in_b if in_a.get(p) is not None and in_a.get(p) == in_b[p]
        ),
        "persons": len(per_person),
        "students_per_person": round(
            float(np.mean([len(p["students"]) for p in per_person.values()])), 3
        ),
        "students": int(named["student_id"].nunique()),
        "identified": round(len(named) / len(both), 4) if len(both) else None,
        "emotion_accuracy": round(float((both["top_emotion"] == both["emotion"]).mean()), 4),
        "matched_faces": {"A": len(lesson_a), "B": len(lesson_b)},
        "per_person": per_person,
    }


def stored_tracks(store: Any, video_id: int) -> tuple[list[Any], set[tuple[int, int]]]:
    """A video's tracks as ``identify`` saw them, rebuilt from the database: their stored
    embeddings, and the pairs of tracks seen in one frame."""
    from emotion_core.identity import TrackEmbedding

    with store._cursor() as cur:
        rows = cur.execute(
            "SELECT track_id, first_s, last_s, samples, quality, embedding FROM face_embeddings"
            " WHERE video_id = ? ORDER BY track_id", [video_id],
        ).fetchall()
        pairs = cur.execute(
            "SELECT DISTINCT a.track_id, b.track_id FROM observations a JOIN observations b"
            " ON a.video_id = b.video_id AND a.frame_index = b.frame_index"
            " AND a.track_id < b.track_id WHERE a.video_id = ?", [video_id],
        ).fetchall()
    tracks = [
        TrackEmbedding(int(t), float(f), float(last), 0, np.asarray(e, np.float32), int(n), float(q))
        for t, f, last, n, q, e in rows
    ]
    return tracks, {(int(a), int(b)) for a, b in pairs}


def replay(videos: list[tuple[list[Any], set[tuple[int, int]]]], lessons: list[pd.DataFrame],
           threshold: float) -> list[pd.DataFrame]:
    """The lessons' matched faces relabelled as ``analyse_video`` would label their stored
    tracks at ``threshold``: lesson A joined into people who become the roster, lesson B joined
    and matched to it (student ids numbered anew)."""
    from emotion_core.embedding import unit_rows
    from emotion_core.identity import RosterReferences, identify

    roster = RosterReferences.empty("replay")
    sums: dict[int, np.ndarray] = {}  # per student: embeddings times samples, summed
    relabelled = []
    for (tracks, together), seen in zip(videos, lessons):
        people = identify(tracks, together, roster, threshold)
        by_id = {t.track_id: t for t in tracks}
        student_of = {}
        for person in people:
            sid = person.student_id if person.student_id is not None else len(sums) + 1
            total = sum(by_id[t].embedding * by_id[t].samples for t in person.track_ids)
            sums[sid] = sums.get(sid, 0) + total
            student_of.update(dict.fromkeys(person.track_ids, sid))
        ids = sorted(sums)
        roster = RosterReferences("replay", np.array(ids), unit_rows(np.stack([sums[i] for i in ids])))
        relabelled.append(seen.assign(student_id=seen["track_id"].map(student_of)))
    return relabelled


def sweep(videos: list[tuple[list[Any], set[tuple[int, int]]]], lessons: list[pd.DataFrame],
          thresholds: list[float]) -> dict[str, Any]:
    """The scores the same tracks would get with other same-person distances."""
    out = {}
    for threshold in thresholds:
        scored = score(*replay(videos, lessons, threshold))
        out[f"{threshold:g}"] = {
            k: scored[k] for k in ("id_purity", "id_switches", "reid_accuracy", "students")
        }
    return out


def without(video: tuple[list[Any], set[tuple[int, int]]], seen: pd.DataFrame,
            people: set[str]) -> tuple[tuple[list[Any], set[tuple[int, int]]], pd.DataFrame]:
    """A lesson as if ``people`` had not been there: their tracks (by the person most of a
    track's faces are) and faces removed."""
    owner = seen.groupby("track_id")["person"].agg(lambda p: Counter(p).most_common(1)[0][0])
    gone = set(owner[owner.isin(people)].index)
    tracks, together = video
    kept = [t for t in tracks if t.track_id not in gone]
    return (kept, together), seen[~seen["track_id"].isin(gone)]


def sweep_newcomers(videos: list[tuple[list[Any], set[tuple[int, int]]]],
                    lessons: list[pd.DataFrame], thresholds: list[float], n: int
                    ) -> dict[str, Any]:
    """New people while known ones are away: lesson A without the first ``n`` people, lesson
    B without the last ``n``. The first ``n`` are new in B and must get new ids although ``n``
    roster students are missing from B; everybody else must get their id from A."""
    persons = sorted(set(lessons[0]["person"]) & set(lessons[1]["person"]))
    newcomers, away = set(persons[:n]), set(persons[-n:])
    a, seen_a = without(videos[0], lessons[0], newcomers)
    b, seen_b = without(videos[1], lessons[1], away)
    out = {}
    for threshold in thresholds:
        relabelled_a, relabelled_b = replay([a, b], [seen_a, seen_b], threshold)
        in_a, in_b = main_ids(relabelled_a), main_ids(relabelled_b)
        known_b = relabelled_b[~relabelled_b["person"].isin(newcomers)]
        out[f"{threshold:g}"] = {
            "newcomers_given_a_known_id": sum(
                1 for p in newcomers if in_b.get(p) in set(in_a.values())
            ),
            "reid_accuracy_of_the_others": round(
                float((known_b["student_id"] == known_b["person"].map(in_a)).mean()), 4
            ),
        }
    return {"newcomers": sorted(newcomers), "away_in_b": sorted(away), "by_distance": out}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from emotion_core.models import (
        configure_environment,
        load_detector,
        load_embedder,
        load_emotion_model,
    )

    configure_environment()
    from emotion_core.pipeline import AnalysisSettings, analyse_video
    from emotion_core.store import Store

    settings = AnalysisSettings(
        embedding_model=args.embedding_model, same_person_distance=args.threshold
    )
    detector = load_detector(settings.detector)
    emotion_model = load_emotion_model(settings.emotion_model)
    embedder = load_embedder(settings.embedding_model)
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        if args.videos:
            videos = tuple(args.videos)
        else:
            folder = args.compose_dir or Path(tmp)
            videos = compose_lessons(folder, args.seed, args.seats_seed, args.duration)
        lessons, results = [], []
        db = args.db or Path(tmp) / "identity.duckdb"
        db.unlink(missing_ok=True)
        with Store(db) as store:
            for video in videos:
                _note(f"analysing {video.name} ...")
                result = analyse_video(
                    video, store, detector, emotion_model, settings, embedder=embedder
                )
                results.append(result)
                lessons.append(matched_faces(load_truth(video), store.observations(result.video_id)))
            duration = {r.video_id: store.video(r.video_id)["duration_s"] for r in results}
            stored = [stored_tracks(store, r.video_id) for r in results]
    report = score(*lessons)
    if args.sweep:
        report["sweep"] = sweep(stored, lessons, args.sweep)
        report["sweep_newcomers"] = sweep_newcomers(stored, lessons, args.sweep, args.newcomers)
    report.update({
        "videos": [v.name for v in videos],
        "embedding_model": results[0].embedding_model,
        "embedding_model_description": embedder.description,
        "same_person_distance": settings.same_person_distance or embedder.same_person_distance,
        "emotion_model": results[0].emotion_model,
        "analysis_seconds": [r.seconds for r in results],
        "realtime_factor": [round(duration[r.video_id] / r.seconds, 2) for r in results],
        "faces": [r.faces for r in results],
        "tracks": [r.tracks for r in results],
        "faces_embedded": [r.faces_embedded for r in results],
        "identity_seconds": [r.identity_seconds for r in results],
        "students_in_lesson": [r.students for r in results],
        "new_students": [r.new_students for r in results],
    })
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of the composed lessons (default 0)")
    ap.add_argument("--seats-seed", type=int, default=1, help="lesson B's seat permutation (1)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per lesson (60)")
    ap.add_argument("--compose-dir", type=Path, help="keep (and reuse) the composed lessons here")
    ap.add_argument("--videos", type=Path, nargs=2, metavar=("A", "B"),
                    help="two composed lessons with their .truth.csv beside them")
    ap.add_argument("--embedding-model", default="auto", help="auto | VGG-Face | Dlib")
    ap.add_argument("--db", type=Path, help="keep the database here (replaced if there)")
    ap.add_argument("--threshold", type=float,
                    help="same-person cosine distance (default: the model's calibrated one)")
    ap.add_argument("--sweep", type=float, nargs="+", metavar="D",
                    help="also score the same tracks joined and matched at these distances")
    ap.add_argument("--newcomers", type=int, default=2,
                    help="with --sweep: people new in lesson B while as many known ones are away")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args(argv)


def summary(report: dict[str, Any]) -> str:
    return "\n".join([
        (f"embedding model: {report['embedding_model']} ({report['embedding_model_description']}),"
        f" same person under {report['same_person_distance']}"),
        (f"id_purity {report['id_purity']}, id_switches {report['id_switches']} "
        f"{report['id_switches_by_lesson']}, reid_accuracy {report['reid_accuracy']} "
        f"({report['persons_reidentified']}/{report['persons']} people)"),
        (f"students {report['students']}, per person {report['students_per_person']}, "
        f"identified {report['identified']}, emotion_accuracy {report['emotion_accuracy']}"),
        (f"analysis {report['analysis_seconds']} s, realtime x{report['realtime_factor']}, "
        f"faces {report['faces']}, tracks {report['tracks']}, "
        f"embedded {report['faces_embedded']} in {report['identity_seconds']} s"),
    ])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
