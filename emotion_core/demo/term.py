"""The demo term: one composed class over six weeks, with events a person can find.

A first visit shows every page at work on it: the class over weeks, each student across
lessons, and an alert of each rule with its evidence. It is a synthetic term
(``demo.synthetic``, the alert benchmark's generator) with a story chosen instead of drawn:

* **Student 3**'s mood falls from week 5 on (*Far below their own usual*, lesson after lesson);
* **Student 6** does not join a class laugh on Tuesday of week 2 (*Apart from the class*);
* **Student 2** looks clearly sad for a few minutes on Thursday of week 1 (*Sustained
  negative expression*);
* **Student 5**'s mood falls at one moment on Tuesday of week 4 and stays down (*Sharp drop*);
* the whole class is tense on the test day, Thursday of week 3, which flags no one;
* **Student 12**, in the back corner, is not recognised from week 5 on and appears as a new
  student, **Student 13**, whom the Students page offers to merge back;
* the model reads Student 9 as sad, Student 4 as angry and Student 7 as happy whatever
  their faces do, as real models do with some children, and that alone flags no one.

The rows carry the sizes and poses of a real class (``demo.seating``): the back row's faces are
small, some are not read. Everything is fixed by the seed: the same term every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from emotion_core.demo.seating import FRAME_H, FRAME_W, seated
from emotion_core.demo.synthetic import SyntheticTerm, TermPlan, make_term
from emotion_core.demo.writing import lesson_record, write_lesson
from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.identity.thresholds import thresholds_for
from emotion_core.store.records import TRACK_IDENTITY_COLUMNS, TrackIdentities
from emotion_core.store.store import Store

# What the demo's analyses name as their emotion model and detector: how a demo database is
# told from any other (``demo.build``).
DEMO_MODEL = "demo (a composed class)"
# The students' reference vectors are named as the offline default embedder's, so that what the
# Students page does with them (possible duplicates, at that model's distances) works here too.
EMBEDDING_MODEL = "Dlib"
# the cosine distance between the two students Student 12 becomes: too far to be matched
# without a person, near enough to be offered as a possible duplicate (half-way between the
# two distances of identity.thresholds)
SPLIT_DISTANCE = (
    thresholds_for(EMBEDDING_MODEL).across_lessons + thresholds_for(EMBEDDING_MODEL).suggest_merge
) / 2
CLASS_GROUP = "7B (demo)"
WEEKS = 6
DAYS = ("Tuesday", "Thursday")
FIRST_TUESDAY = date(2025, 9, 9)
EMBEDDING_SIZE = 128


def lesson_of(week: int, day: str) -> int:
    """The lesson index (from 0) of ``day`` in ``week`` (from 1)."""
    return (week - 1) * len(DAYS) + DAYS.index(day)


DECLINING, APART, SAD_SPELL, DROPPING, UNRECOGNISED = 3, 6, 2, 5, 12
TEST_DAY = lesson_of(3, "Thursday")
UNRECOGNISED_FROM = lesson_of(5, "Tuesday")
# The seed is one of those whose term raises no alert that the story does not explain (the
# rules do raise some now and then: BENCHMARKS.md, alerts), so that the Alerts page shows the
# story; the decline is a little milder than the benchmark's, so that it does not also read as
# minutes of sad faces in every lesson.
PLAN = TermPlan(
    seed=2040,
    students=12,
    lessons=WEEKS * len(DAYS),
    biased_students=(9, 4, 7),
    plants=(
        ("sustained_negative", lesson_of(1, "Thursday"), SAD_SPELL),
        ("apart_from_class", lesson_of(2, "Tuesday"), APART),
        ("sharp_drop", lesson_of(4, "Tuesday"), DROPPING),
        *(("below_own_baseline", lesson, DECLINING)
          for lesson in range(lesson_of(5, "Tuesday"), WEEKS * len(DAYS))),
    ),
    test_days=(TEST_DAY,),
    test_depth=1.0,
    baseline_drop=1.4,
)


def lesson_day(lesson: int) -> date:
    week, day = divmod(lesson, len(DAYS))
    return FIRST_TUESDAY + timedelta(days=7 * week + 2 * day)


def lesson_name(lesson: int) -> str:
    week, day = divmod(lesson, len(DAYS))
    test = "_test" if lesson in PLAN.test_days else ""
    return f"demo_week{week + 1}_{DAYS[day].lower()}{test}"


@dataclass(frozen=True)
class DemoLessons:
    """The demo term's lessons as they are stored: rows with their faces' readability."""

    term: SyntheticTerm
    rows: list[pd.DataFrame]


def demo_lessons(plan: TermPlan = PLAN,
                 on_lesson: Callable[[int], None] | None = None) -> DemoLessons:
    """The term of ``plan`` with each face seated (``on_lesson(i)`` after lesson ``i``)."""
    term = make_term(plan, on_lesson)
    rng = np.random.default_rng([plan.seed, 1])
    return DemoLessons(term, [seated(rows, plan.students, rng) for rows in term.lessons])


def _identities(rows: pd.DataFrame, known: dict[int, int], lesson: int) -> TrackIdentities:
    """Who each track (one per student of the term) is: the student ``known`` names, or a new
    one; each student's reference vector is the same in every lesson but for the student who
    is not recognised from ``UNRECOGNISED_FROM`` on."""
    spans = rows.groupby("track_id")["observed_at_s"].agg(["min", "max", "count"])
    tracks = pd.DataFrame({
        "track_id": spans.index.astype("int64"),
        "person": spans.index.astype("int64"),
        "student_id": pd.array([known.get(int(t)) for t in spans.index], dtype="Int64"),
        "first_s": spans["min"].to_numpy(), "last_s": spans["max"].to_numpy(),
        "samples": np.minimum(spans["count"].to_numpy(), 3), "quality": 0.8,
        "embedding": [_embedding(int(t), changed=int(t) == UNRECOGNISED
                                 and lesson >= UNRECOGNISED_FROM) for t in spans.index],
    })
    return TrackIdentities(EMBEDDING_MODEL, tracks[list(TRACK_IDENTITY_COLUMNS)])


def _embedding(student: int, changed: bool = False) -> list[float]:
    """The student's reference vector; ``changed``: moved ``SPLIT_DISTANCE`` away from it."""
    rng = np.random.default_rng([PLAN.seed, 2, student])
    vector = rng.normal(size=EMBEDDING_SIZE)
    vector /= np.linalg.norm(vector)
    if changed:
        away = rng.normal(size=EMBEDDING_SIZE)
        away -= (away @ vector) * vector
        # the cosine distance of vector + e * away (away a unit orthogonal to it) from vector
        # is 1 - 1 / sqrt(1 + e^2)
        e = np.sqrt(1.0 / (1.0 - SPLIT_DISTANCE) ** 2 - 1.0)
        vector = vector + e * away / np.linalg.norm(away)
        vector /= np.linalg.norm(vector)
    return vector.tolist()


def write_demo(store: Store, lessons: DemoLessons,
               on_lesson: Callable[[int], None] | None = None) -> list[int]:
    """Store the demo's lessons the way an analysis stores a lesson, with its students on the
    roster under their pseudonyms ("Student 3"); the video ids, in lesson order."""
    plan = lessons.term.plan
    parameters = {"sample_fps": plan.sample_fps,
                  "readability": ReadabilitySettings().as_json(),
                  "demo": "a composed class, not real children"}
    known: dict[int, int] = {}  # the term's student -> the roster's
    video_ids = []
    for lesson, rows in enumerate(lessons.rows):
        if lesson == UNRECOGNISED_FROM:
            known.pop(UNRECOGNISED, None)  # matched no one: a new student from now on
        record = replace(lesson_record(lesson_name(lesson), lesson_day(lesson), CLASS_GROUP,
                                       plan.lesson_s), width=FRAME_W, height=FRAME_H)
        video_id = write_lesson(store, record, rows, plan.sample_fps, parameters=parameters,
                                identities=_identities(rows, known, lesson),
                                model=DEMO_MODEL)
        stored = store.observations(video_id)[["track_id", "student_id"]].drop_duplicates()
        known.update({int(t): int(s) for t, s in stored.dropna().itertuples(index=False)})
        video_ids.append(video_id)
        if on_lesson is not None:
            on_lesson(lesson)
    return video_ids
