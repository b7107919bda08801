"""Identity benchmark: are students told apart and found again, within a lesson and across three?

What it does
------------
1. Composes three classroom "lessons" with ``compose_classroom`` (the same 10 JAFFE people,
   faces 20-120 px wide, everyone leaving once and coming back, two people crossing each other
   and swapping seats): lesson A with ``--seed``, and lessons B and C with the same room and
   ``seat_permutation_seed`` ``--seats-seed`` (1) and ``--seats-seed-c`` (3), so everybody sits
   somewhere else each time, at another face size (with 3 nobody sits in C where they sat in A
   or B; with 2, two people would). Or takes ``--videos A B [C]`` with their ``.truth.csv``
   beside them.
2. Analyses A, then B, then C into one fresh DuckDB with the real pipeline (``analyse_video``
   at the default settings; identification on), so B is matched against the students A
   created and C against those of A and B.
3. Matches the stored observations to the truth frame by frame (as ``detection.py`` does: IoU
   >= 0.4, one detection per face) and scores the student ids the faces were given.
4. Replays the stored tracks (their embeddings, and which tracks were seen together) in every
   order of the lessons into an empty roster, as the pipeline would have labelled them had the
   lessons been analysed in that order (``orders``).

The numbers
-----------
* ``id_purity``: over all lessons, for each student id the share of its matched faces that
  belong to the person most of them belong to, weighted by faces. 1.0: no student mixes people.
  ``id_purity_by_lesson``: the same within each lesson alone.
* ``id_switches``: for each person and lesson, the number of times the student id changes
  between consecutive matched sightings that carry an id (absences, gaps and faces left
  anonymous do not count; a change to another student does). ``identified``, below, says how
  many faces were left anonymous.
* ``reid_accuracy``: the share of the later lessons' matched faces (B's and C's) whose student
  id is the one their person has in the first lesson analysed (A: the id most of the person's
  faces in A got); ``reid_accuracy_by_lesson`` per later lesson. ``persons_reidentified``
  counts the people whose main id in every later lesson is their main id in the first.
  ``reid_misses``: for each person and later lesson not fully re-identified, the ids given and
  the person's face width (median, px) there and in the first lesson.
* ``off_main_id_tracks``: the tracks behind the switches: for each lesson, a person's tracks
  whose faces carry another id than the person's main one there (faces, id, width in px).
* ``students_per_person``: distinct student ids per person over all lessons (1 is ideal).
* ``identified``: the share of matched faces that carry a student id at all.
* ``emotion_accuracy``: the share of matched faces whose ``top_emotion`` is the posed emotion.
* ``orders``: for every order of the lessons (``"CAB"``: C first), the stored tracks replayed
  into an empty roster in that order, with what the pipeline does at the end of a lesson: its
  tracks joined into people and matched to the roster (``emotion_core.identity.people.identify``), new
  students for the unmatched, written with ``Store.finish_analysis`` into a scratch database,
  whose ``Store.reference_embeddings`` is the next lesson's roster. Scored as above, the first
  lesson of the order being the reference; ``orders_worst`` is the worst value of each number
  over the orders, and the order it comes from (the first, on a tie). ``replay_matches_pipeline``
  compares, track by track, the ids the replay of the order analysed (A, B, C) gives with the
  ids the pipeline stored: they should be the same.
* ``sweep`` (with ``--sweep D ...``): the first four numbers again for other same-person
  distances, computed from the same tracks (their stored embeddings) replayed in the analysed
  order, without analysing again. ``sweep_newcomers`` replays the same tracks as if the first
  ``--newcomers`` people (2) had missed lesson A and the last two missed lesson B: the
  newcomers must get new ids in B although two roster students are away
  (``newcomers_given_a_known_id`` should be 0); with a lesson C, where everybody is back,
  ``reid_accuracy_in_c`` is the share of C's faces under the id their person got in the first
  lesson they attended (A, or B for the newcomers).
* ``realtime_factor``: video seconds / analysis seconds per lesson, and ``faces_embedded``:
  chips embedded per lesson (the cost of identity, bounded per track).

Usage::

    .venv/bin/python benchmarks/identity.py --json [--seed 0] [--seats-seed 1]
        [--seats-seed-c 3] [--duration 60] [--compose-dir DIR] [--videos A.mp4 B.mp4 [C.mp4]]
        [--embedding-model auto] [--threshold D] [--sweep D ...] [--newcomers 2] [--db PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.detection import DEFAULT_MIN_IOU, load_truth, match_frame, truth_csv_of

BOX = ["x1", "y1", "x2", "y2"]
LABELS = "ABC"  # the lessons, in the order they are analysed

# A lesson's stored tracks: their embeddings, and the pairs of track ids seen in one frame.
Video = tuple[list[Any], set[tuple[int, int]]]


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def compose_lessons(
    folder: Path, seed: int, seats_seeds: Sequence[int], duration_s: float
) -> list[Path]:
    """Lesson A, and one more lesson per seat permutation seed (B, C); reused when already
    composed in ``folder``."""
    from benchmarks.compose_classroom import compose_classroom

    specs = {f"lesson_a_seed{seed}_{duration_s:g}s.mp4": None}
    for label, seats in zip(LABELS[1:], seats_seeds, strict=True):
        specs[f"lesson_{label.lower()}_seed{seed}_seats{seats}_{duration_s:g}s.mp4"] = seats
    paths = []
    for name, seats in specs.items():
        video = folder / name
        if not (video.is_file() and truth_csv_of(video).is_file()):
            _note(f"composing {video} ...")
            compose_classroom(
                video, seed=seed, duration_s=duration_s, crossing=True,
                seat_permutation_seed=seats,
            )
        paths.append(video)
    return paths


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
    """Changes of student id between consecutive matched sightings of one person that carry a
    student id (a face left anonymous is no other student: it counts against ``identified``
    and ``reid_accuracy`` instead)."""
    switches = 0
    for _, rows in matched.sort_values("frame_index").groupby("person"):
        ids = rows["student_id"].dropna().tolist()
        switches += sum(1 for a, b in itertools.pairwise(ids) if a != b)
    return switches


def main_ids(matched: pd.DataFrame) -> dict[str, Any]:
    """Each person's most frequent student id."""
    return {
        person: Counter(rows["student_id"].tolist()).most_common(1)[0][0]
        for person, rows in matched.groupby("person")
    }


def purity(faces: pd.DataFrame) -> float | None:
    """For each student id, the share of its faces that are its main person, weighted."""
    named = faces.dropna(subset=["student_id"])
    majority = sum(
        Counter(rows["person"]).most_common(1)[0][1] for _, rows in named.groupby("student_id")
    )
    return round(majority / len(named), 4) if len(named) else None


def _share(hits: pd.Series) -> float | None:
    return round(float(hits.mean()), 4) if len(hits) else None


def _width(faces: pd.DataFrame) -> float | None:
    return round(float(faces["width"].median()), 1) if len(faces) else None


def score(*lessons: pd.DataFrame, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """The identity numbers of lessons analysed (or replayed) in the order given; the first is
    the reference the later ones are re-identified against. ``labels`` name the lessons (A, B,
    C by default)."""
    labels = list(labels or LABELS[:len(lessons)])
    if len(labels) != len(lessons) or len(lessons) < 2:
        raise ValueError("score needs two lessons or more, one label each")
    by_label = dict(zip(labels, lessons))
    every = pd.concat([faces.assign(lesson=label) for label, faces in by_label.items()])
    named = every.dropna(subset=["student_id"])
    main = {label: main_ids(faces) for label, faces in by_label.items()}
    first, later = main[labels[0]], labels[1:]

    def reidentified(faces: pd.DataFrame) -> pd.Series:
        return faces["student_id"] == faces["person"].map(first)

    misses = []
    for label in later:
        for person, rows in by_label[label].groupby("person"):
            hits = reidentified(rows)
            if hits.all():
                continue
            misses.append({
                "lesson": label, "person": person, "faces": len(rows), "right": int(hits.sum()),
                "id_in_first": first.get(person),
                "ids_given": {str(k): v for k, v in Counter(rows["student_id"].tolist()).items()},
                "width": _width(rows),
                "width_in_first": _width(
                    by_label[labels[0]][by_label[labels[0]]["person"] == person]
                ),
            })
    # the tracks behind the switches: a person's faces, by track, under another id than the
    # person's main one in that lesson
    off_main_id = [
        {"lesson": label, "person": person, "track_id": int(track), "faces": len(rows),
         "student_id": Counter(rows["student_id"].tolist()).most_common(1)[0][0],
         "main_id": main[label][person], "width": _width(rows)}
        for label, faces in by_label.items()
        for (person, track), rows in faces.groupby(["person", "track_id"])
        if Counter(rows["student_id"].tolist()).most_common(1)[0][0] != main[label][person]
    ]
    per_person = {
        person: {
            **{f"student_{label.lower()}": main[label].get(person) for label in labels},
            "students": sorted({int(s) for s in rows["student_id"].dropna()}),
            "faces": len(rows),
            "width": {label: _width(r) for label, r in rows.groupby("lesson")},
        }
        for person, rows in every.groupby("person")
    }
    switches = {label: id_switches(faces) for label, faces in by_label.items()}
    return {
        "id_purity": purity(every),
        "id_purity_by_lesson": {label: purity(faces) for label, faces in by_label.items()},
        "id_switches": sum(switches.values()),
        "id_switches_by_lesson": switches,
        "reid_accuracy": _share(pd.concat([reidentified(by_label[x]) for x in later])),
        "reid_accuracy_by_lesson": {x: _share(reidentified(by_label[x])) for x in later},
        "persons_reidentified": sum(
            1 for p, sid in first.items()
            if sid is not None and any(p in main[x] for x in later)
            and all(main[x].get(p, sid) == sid for x in later)
        ),
        "persons_reidentified_by_lesson": {
            x: sum(1 for p, sid in main[x].items() if sid is not None and first.get(p) == sid)
            for x in later
        },
        "reid_misses": misses,
        "off_main_id_tracks": off_main_id,
        "persons": len(per_person),
        "students_per_person": round(
            float(np.mean([len(p["students"]) for p in per_person.values()])), 3
        ),
        "students": int(named["student_id"].nunique()),
        "identified": round(len(named) / len(every), 4) if len(every) else None,
        "emotion_accuracy": round(float((every["top_emotion"] == every["emotion"]).mean()), 4),
        "matched_faces": {label: len(faces) for label, faces in by_label.items()},
        "per_person": per_person,
    }


def stored_tracks(store: Any, video_id: int) -> Video:
    """A video's tracks as ``identify`` saw them, rebuilt from the database: their stored
    embeddings, the frames each was seen in, and the pairs of tracks seen in one frame.

    Only tracks with a stored embedding can be replayed: those the analysis left anonymous
    (somebody new seen in too few frames to become a student) have none, and stay anonymous in
    every replay."""
    from emotion_core.identity.sampling import TrackEmbedding

    with store._cursor() as cur:
        rows = cur.execute(
            "SELECT e.track_id, e.first_s, e.last_s, e.samples, e.quality, e.embedding,"
            " (SELECT count(*) FROM observations o WHERE o.video_id = e.video_id"
            "  AND o.track_id = e.track_id) AS frames"
            " FROM face_embeddings e WHERE e.video_id = ? ORDER BY e.track_id", [video_id],
        ).fetchall()
        pairs = cur.execute(
            "SELECT DISTINCT a.track_id, b.track_id FROM observations a JOIN observations b"
            " ON a.video_id = b.video_id AND a.frame_index = b.frame_index"
            " AND a.track_id < b.track_id WHERE a.video_id = ?", [video_id],
        ).fetchall()
    tracks = [
        TrackEmbedding(int(t), float(f), float(last), int(frames), np.asarray(e, np.float32),
                       int(n), float(q))
        for t, f, last, n, q, e, frames in rows
    ]
    return tracks, {(int(a), int(b)) for a, b in pairs}


def stored_students(store: Any, video_id: int) -> dict[int, int]:
    """The student each track of a video was given, from its stored reference embedding."""
    with store._cursor() as cur:
        rows = cur.execute(
            "SELECT track_id, student_id FROM face_embeddings WHERE video_id = ?", [video_id]
        ).fetchall()
    return {int(t): int(s) for t, s in rows}


def replay_students(videos: Sequence[Video], thresholds: Any, model: str = "replay"
                    ) -> list[dict[int, int]]:
    """The student each stored track would get had the lessons been analysed in the order of
    ``videos`` into an empty database at ``thresholds`` (``IdentityThresholds``): per lesson, what ``analyse_video`` does
    once its frames are done (the roster read with ``Store.reference_embeddings``, the tracks
    joined and matched by ``identify``, the result written by ``Store.finish_analysis``, which
    creates the new students), in a scratch database."""
    from emotion_core.analysis.rows import track_identity_rows
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.identity.people import RosterReferences, identify, students_of
    from emotion_core.store.records import AnalysisSummary, TrackIdentities, VideoRecord
    from emotion_core.store.store import Store

    students = []
    with tempfile.TemporaryDirectory(prefix="identity-replay-") as tmp, \
            Store(Path(tmp) / "replay.duckdb") as store:
        for n, (tracks, together) in enumerate(videos):
            record = VideoRecord(f"lesson {n + 1}", f"replay-{n + 1}", 0, 0.0, 0.0, 0, 0)
            video_id = store.begin_analysis(record, {})
            student_ids, centroids = store.reference_embeddings(model, None)
            roster = RosterReferences(model, student_ids, centroids)
            defaults = AnalysisSettings()
            people = students_of(identify(tracks, together, roster, thresholds), tracks,
                                 defaults.identify_new_students, defaults.min_new_student_frames)
            store.finish_analysis(
                video_id, AnalysisSummary(0, 0, len(tracks), 0.0, "replay", "replay"),
                TrackIdentities(model, track_identity_rows(tracks, people)),
            )
            students.append(stored_students(store, video_id))
    return students


def replay(videos: Sequence[Video], lessons: Sequence[pd.DataFrame], thresholds: Any,
           model: str = "replay") -> list[pd.DataFrame]:
    """The lessons' matched faces relabelled as ``analyse_video`` would label their stored
    tracks at ``thresholds``, the lessons analysed in the order given into an empty database
    (``replay_students``; student ids numbered anew)."""
    return [
        seen.assign(student_id=seen["track_id"].map(student_of))
        for seen, student_of in zip(lessons, replay_students(videos, thresholds, model))
    ]


def orders(videos: Sequence[Video], lessons: Sequence[pd.DataFrame], thresholds: Any,
           model: str = "replay") -> dict[str, Any]:
    """Every order of the lessons replayed into an empty roster and scored, the first lesson of
    the order being the reference; and the worst of each number over the orders."""
    keys = ("id_purity", "id_switches", "reid_accuracy", "students_per_person", "students",
            "id_switches_by_lesson", "reid_accuracy_by_lesson", "reid_misses",
            "off_main_id_tracks")
    by_order = {}
    for order in itertools.permutations(range(len(lessons))):
        labels = [LABELS[i] for i in order]
        relabelled = replay([videos[i] for i in order], [lessons[i] for i in order],
                            thresholds, model)
        scored = score(*relabelled, labels=labels)
        by_order["".join(labels)] = {k: scored[k] for k in keys}
    worst = {}
    for key, pick in (("id_purity", min), ("id_switches", max), ("reid_accuracy", min),
                      ("students_per_person", max)):
        scored_orders = [o for o in by_order if by_order[o][key] is not None]
        if not scored_orders:  # nobody identified in any order
            worst[key] = {"value": None, "order": None}
            continue
        order = pick(scored_orders, key=lambda o: by_order[o][key])
        worst[key] = {"value": by_order[order][key], "order": order}
    return {"by_order": by_order, "worst": worst}


def replay_matches_pipeline(videos: Sequence[Video], stored: Sequence[dict[int, int]],
                            thresholds: Any, model: str = "replay") -> dict[str, Any]:
    """Track by track, the ids the replay of the analysed order gives against those the
    pipeline stored (both databases number students from 1 in order of creation)."""
    replayed = replay_students(videos, thresholds, model)
    differing = [
        {"lesson": LABELS[n], "track_id": t, "stored": s, "replayed": again.get(t)}
        for n, (was, again) in enumerate(zip(stored, replayed))
        for t, s in sorted(was.items()) if again.get(t) != s
    ]
    return {
        "tracks": sum(len(was) for was in stored),
        "same_id": sum(len(was) for was in stored) - len(differing),
        "differing": differing,
    }


def sweep(videos: Sequence[Video], lessons: Sequence[pd.DataFrame], base: Any,
          distances: list[float], model: str = "replay") -> dict[str, Any]:
    """The scores the same tracks would get with other same-person distances (``base``'s
    thresholds with one distance for joining and matching)."""
    out = {}
    for threshold in distances:
        scored = score(*replay(videos, lessons, base.at_distance(threshold), model))
        out[f"{threshold:g}"] = {
            k: scored[k] for k in ("id_purity", "id_switches", "reid_accuracy", "students")
        }
    return out


def without(video: Video, seen: pd.DataFrame, people: set[str]) -> tuple[Video, pd.DataFrame]:
    """A lesson as if ``people`` had not been there: their tracks (by the person most of a
    track's faces are) and faces removed."""
    owner = seen.groupby("track_id")["person"].agg(lambda p: Counter(p).most_common(1)[0][0])
    gone = set(owner[owner.isin(people)].index)
    tracks, together = video
    kept = [t for t in tracks if t.track_id not in gone]
    return (kept, together), seen[~seen["track_id"].isin(gone)]


def sweep_newcomers(videos: Sequence[Video], lessons: Sequence[pd.DataFrame], base: Any,
                    distances: list[float], n: int, model: str = "replay") -> dict[str, Any]:
    """New people while known ones are away: lesson A without the first ``n`` people, lesson
    B without the last ``n``, lesson C (if any) with everybody. The first ``n`` are new in B
    and must get new ids although ``n`` roster students are missing from B; everybody else
    must get their id from A; in C everybody must have the id of the first lesson they were
    in."""
    persons = sorted(set(lessons[0]["person"]) & set(lessons[1]["person"]))
    newcomers, away = set(persons[:n]), set(persons[-n:])
    a, seen_a = without(videos[0], lessons[0], newcomers)
    b, seen_b = without(videos[1], lessons[1], away)
    out = {}
    for threshold in distances:
        relabelled = replay([a, b, *videos[2:]], [seen_a, seen_b, *lessons[2:]],
                            base.at_distance(threshold), model)
        in_a, in_b = main_ids(relabelled[0]), main_ids(relabelled[1])
        known_b = relabelled[1][~relabelled[1]["person"].isin(newcomers)]
        out[f"{threshold:g}"] = {
            "newcomers_given_a_known_id": sum(
                1 for p in newcomers if in_b.get(p) in set(in_a.values())
            ),
            "reid_accuracy_of_the_others": _share(
                known_b["student_id"] == known_b["person"].map(in_a)
            ),
        }
        if len(relabelled) > 2:
            seen_c = relabelled[2]
            first_id = {**in_a, **{p: in_b[p] for p in newcomers if p in in_b}}
            out[f"{threshold:g}"]["reid_accuracy_in_c"] = _share(
                seen_c["student_id"] == seen_c["person"].map(first_id)
            )
    return {"newcomers": sorted(newcomers), "away_in_b": sorted(away), "by_distance": out}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from emotion_core.analysis.models import (
        configure_environment,
        load_detector,
        load_embedder,
        load_emotion_model,
    )

    configure_environment()
    from emotion_core.analysis.pipeline import analyse_video
    from emotion_core.analysis.settings import AnalysisSettings
    from emotion_core.store.store import Store

    embedder = load_embedder(args.embedding_model)
    thresholds = embedder.thresholds
    if args.threshold is not None:
        thresholds = thresholds.at_distance(args.threshold)
    settings = AnalysisSettings(
        embedding_model=args.embedding_model, identity_thresholds=thresholds
    )
    detector = load_detector(settings.detector)
    emotion_model = load_emotion_model(settings.emotion_model)
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        if args.videos:
            videos = list(args.videos)
        else:
            folder = args.compose_dir or Path(tmp)
            videos = compose_lessons(
                folder, args.seed, [args.seats_seed, args.seats_seed_c], args.duration
            )
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
            students = [stored_students(store, r.video_id) for r in results]
    model = results[0].embedding_model
    report = score(*lessons)
    _note("replaying the stored tracks in every order ...")
    report["replay_matches_pipeline"] = replay_matches_pipeline(stored, students, thresholds,
                                                                model)
    every_order = orders(stored, lessons, thresholds, model)
    report["orders"], report["orders_worst"] = every_order["by_order"], every_order["worst"]
    if args.sweep:
        report["sweep"] = sweep(stored, lessons, thresholds, args.sweep, model)
        report["sweep_newcomers"] = sweep_newcomers(
            stored, lessons, thresholds, args.sweep, args.newcomers, model
        )
    report.update({
        "videos": [v.name for v in videos],
        "embedding_model": model,
        "embedding_model_description": embedder.description,
        "within_lesson_distance": thresholds.within_lesson,
        "cross_lesson_distance": thresholds.across_lessons,
        "min_face_px": thresholds.min_face_px,
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
    ap.add_argument("--seats-seed-c", type=int, default=3, help="lesson C's seat permutation (3)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per lesson (60)")
    ap.add_argument("--compose-dir", type=Path, help="keep (and reuse) the composed lessons here")
    ap.add_argument("--videos", type=Path, nargs="+", metavar="LESSON",
                    help="two or three composed lessons (A B [C]) with their .truth.csv beside"
                    " them, analysed in this order")
    ap.add_argument("--embedding-model", default="auto", help="auto | VGG-Face | Dlib")
    ap.add_argument("--db", type=Path, help="keep the database here (replaced if there)")
    ap.add_argument("--threshold", type=float,
                    help="same-person cosine distance (default: the model's calibrated one)")
    ap.add_argument("--sweep", type=float, nargs="+", metavar="D",
                    help="also score the same tracks joined and matched at these distances")
    ap.add_argument("--newcomers", type=int, default=2,
                    help="with --sweep: people new in lesson B while as many known ones are away")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.videos is not None and not 2 <= len(args.videos) <= len(LABELS):
        ap.error(f"--videos takes 2 to {len(LABELS)} lessons, not {len(args.videos)}")
    return args


def summary(report: dict[str, Any]) -> str:
    lines = [
        (f"embedding model: {report['embedding_model']} ({report['embedding_model_description']}),"
        f" same person under {report['within_lesson_distance']} within a lesson,"
        f" {report['cross_lesson_distance']} across lessons; faces under"
        f" {report['min_face_px']:g} px not identified"),
        (f"id_purity {report['id_purity']}, id_switches {report['id_switches']} "
        f"{report['id_switches_by_lesson']}, reid_accuracy {report['reid_accuracy']} "
        f"{report['reid_accuracy_by_lesson']} "
        f"({report['persons_reidentified']}/{report['persons']} people)"),
        (f"students {report['students']}, per person {report['students_per_person']}, "
        f"identified {report['identified']}, emotion_accuracy {report['emotion_accuracy']}"),
        (f"analysis {report['analysis_seconds']} s, realtime x{report['realtime_factor']}, "
        f"faces {report['faces']}, tracks {report['tracks']}, "
        f"embedded {report['faces_embedded']} in {report['identity_seconds']} s"),
        (f"replay of the analysed order: {report['replay_matches_pipeline']['same_id']}/"
        f"{report['replay_matches_pipeline']['tracks']} tracks with the stored id"),
    ]
    for order, o in report["orders"].items():
        lines.append(
            f"order {order}: id_purity {o['id_purity']}, id_switches {o['id_switches']}, "
            f"reid_accuracy {o['reid_accuracy']} {o['reid_accuracy_by_lesson']}, "
            f"students per person {o['students_per_person']}"
        )
    lines.append("worst over the orders: " + ", ".join(
        f"{k} {w['value']} ({w['order']})" for k, w in report["orders_worst"].items()
    ))
    return "\n".join(lines)


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
