"""A roster in which the same children became two students on two days, written the way the
pipeline writes lessons, with reference vectors at chosen distances (tests of possible
duplicates: tests/store/test_duplicates.py, tests/cli/test_suggest_merges.py,
tests/app/test_duplicates_page.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from support.store_rows import observations, record, summary, with_thumbnails

from emotion_core.identity.thresholds import thresholds_for
from emotion_core.store.records import TrackIdentities
from emotion_core.store.store import Store

MODEL = "Dlib"
DIMENSION = 8
# cosine distances between reference vectors, placed between the model's thresholds (whatever
# their calibration): matched under ACROSS, offered as possible duplicates under SUGGEST
ACROSS = thresholds_for(MODEL).across_lessons
SUGGEST = thresholds_for(MODEL).suggest_merge
FAY_TO_ANA = ACROSS + 0.2 * (SUGGEST - ACROSS)  # Fay: close to Ana, seen alone
ANA_SPLIT = ACROSS + 0.4 * (SUGGEST - ACROSS)  # Ana on Monday and Tuesday: two students
BEN_SPLIT = ACROSS + 0.6 * (SUGGEST - ACROSS)  # the same for Ben
TWINS = 0.6 * ACROSS  # Dee and Eve: closer still, but seen in the same frames: two children
GUS_TO_ANA = 0.8 * ACROSS  # Gus: close to Ana, but of class 8A


def unit(d: int) -> np.ndarray:
    return np.eye(DIMENSION)[d]


def near(base: int, other: int, distance: float) -> np.ndarray:
    """A unit vector ``distance`` (cosine) from ``unit(base)``, turned towards ``unit(other)``."""
    cos = 1.0 - distance
    return cos * unit(base) + np.sqrt(1.0 - cos * cos) * unit(other)


VECTORS = {
    "Ana": unit(0), "Ana2": near(0, 1, ANA_SPLIT),
    "Ben": unit(5), "Ben2": near(5, 6, BEN_SPLIT),
    "Cy": unit(7),
    "Dee": unit(3), "Eve": near(3, 4, TWINS),
    "Fay": near(0, 2, FAY_TO_ANA),
    "Gus": near(0, 7, GUS_TO_ANA),
}


def lesson(store: Store, sha: str, on: date, people: list[str], group: str = "7B",
           thumbnails: dict[str, float] | None = None, known: dict[str, int] | None = None,
           model: str = MODEL) -> dict[str, int]:
    """A lesson of two frames in which every one of ``people`` (each a track; a new student
    unless ``known`` gives their id) is seen in both frames, with their ``VECTORS`` as
    ``model``'s embeddings; returns their student ids."""
    known = known or {}
    video = record(f"{sha[:3]}.mp4", sha, class_group=group, recorded_on=on)
    video_id = store.begin_analysis(video, {"sample_fps": 2.0})
    rows = observations(video_id, 2, len(people), seed=len(people))
    store.stage_observations(rows)
    tracks = pd.DataFrame([
        {"track_id": t, "person": t, "student_id": known.get(name), "first_s": 0.0, "last_s": 0.5,
         "samples": 2, "quality": 0.8, "embedding": VECTORS[name].tolist()}
        for t, name in enumerate(people, start=1)
    ])
    tracks["student_id"] = tracks["student_id"].astype("Int64")
    ident = TrackIdentities(model, tracks)
    if thumbnails:
        ident = with_thumbnails(ident, {people.index(n) + 1: q for n, q in thumbnails.items()})
    store.finish_analysis(video_id, summary(2, len(rows), len(people)), ident)
    seen = store.observations(video_id)
    return {name: int(seen[seen["track_id"] == t]["student_id"].iloc[0])
            for t, name in enumerate(people, start=1)}


def split_roster(store: Store) -> dict[str, int]:
    """Monday: Ana, Ben, Cy; Tuesday: Ana and Ben again, as new students Ana2 and Ben2; one
    lesson of the twins Dee and Eve; Fay alone; Gus of class 8A. Ana has a thumbnail. Returns
    each one's student id."""
    ids = lesson(store, "a" * 64, date(2024, 3, 4), ["Ana", "Ben", "Cy"], thumbnails={"Ana": 0.8})
    ids |= lesson(store, "b" * 64, date(2024, 3, 5), ["Ana2", "Ben2"])
    ids |= lesson(store, "c" * 64, date(2024, 3, 6), ["Dee", "Eve"])
    ids |= lesson(store, "d" * 64, date(2024, 3, 7), ["Fay"])
    ids |= lesson(store, "e" * 64, date(2024, 3, 8), ["Gus"], group="8A")
    return ids
