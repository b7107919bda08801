"""A term of synthetic lessons with known anomalies planted in it: the alert benchmark's test bed
and the demo term's source.

What is generated
-----------------
One class of ``students`` seen in ``lessons`` lessons of ``lesson_s`` seconds, sampled at
``sample_fps`` frames a second: the rows the pipeline would store, student ids filled in.

Each frame's seven probabilities are a softmax over logits made of:

* a typical resting face (mostly neutral, some sad and happy), plus a small offset of each
  student's own, plus, for the **biased** students, a large constant one: the model always reads
  one as sad, one as angry, one as happy (on the real CCTV clip the offline model reads nearly
  every child as sad most of the time; see docs/alerts.md);
* a slow **mood** (an Ornstein-Uhlenbeck process, so minutes of drift, plus a shift for the
  day) that moves probability between happy and the negative classes;
* class events: one or two **laughs** that everyone joins (each to their own degree), in
  some lessons a class-wide **dip** (a test handed out), and on the plan's ``test_days`` a
  test written for most of the lesson, which makes every face tense;
* per-frame noise, as a classifier's readings jump from frame to frame.

Students are out of view now and then (turned away, hidden), faces are missed in some frames,
a few percent of detections are poor and read at random, and some students spend minutes
**looking down** at their desks: poor detections (scores 0.80-0.90) that the model reads as sad.
One student-lesson sees a student for only a few seconds, strongly negative.

Planted anomalies (``Planted``), on students without a constant bias: ``plants_per_rule`` of
each rule where they go at random (the benchmark), or those the plan names (the demo):

* ``sustained_negative``: 2.5-4 minutes of a clearly sad face;
* ``below_own_baseline``: a whole lesson in a lower mood;
* ``apart_from_class``: a student who does not join a class laugh of at least 60 s;
* ``sharp_drop``: the mood falls at one moment and stays down for at least 5 minutes.

The rows are those of 30-px frontal faces, all readable; ``demo.seating`` gives them the sizes
and poses of a real class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emotion_core.core.labels import EMOTIONS

RULES = ("sustained_negative", "below_own_baseline", "apart_from_class", "sharp_drop")

_E = {name: i for i, name in enumerate(EMOTIONS)}
# logits of a typical resting face: neutral first, then sad, happy
RESTING = np.array([0.0, -1.5, -0.3, 0.3, 0.6, -0.5, 1.2])
# how one unit of mood moves the logits
MOOD = np.zeros(len(EMOTIONS))
MOOD[[_E["happy"], _E["sad"], _E["angry"], _E["fear"], _E["disgust"]]] = [
    1.0, -0.8, -0.4, -0.4, -0.3]
# constant offsets of the students the model reads wrongly all the time
BIASES = {"sad": (_E["sad"], 2.2), "angry": (_E["angry"], 2.0), "happy": (_E["happy"], 1.6)}
# a test written on a test day: from this second of the lesson to this one, and how it moves
# the logits (times ``test_depth``): tense faces, read as more fearful and sad, no fewer smiles
# than that makes; a class-wide change the lesson's mood index shows more than any one
# student's expression balance does
TEST_S = (240.0, 1020.0)
TEST_TENSION = np.zeros(len(EMOTIONS))
TEST_TENSION[[_E["fear"], _E["sad"]]] = [0.8, 0.5]


@dataclass(frozen=True)
class Planted:
    """An anomaly put into one student-lesson; its effect lasts from ``start_s`` to ``end_s``."""

    rule: str
    lesson: int
    student_id: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class TermPlan:
    seed: int = 0
    students: int = 12
    lessons: int = 6
    lesson_s: float = 1200.0
    sample_fps: float = 2.0
    frame_noise: float = 0.7  # sd of each logit, frame to frame
    mood_sd: float = 0.35  # of the slow drift
    mood_tau_s: float = 90.0
    day_sd: float = 0.2  # of each student-lesson's shift
    plants_per_rule: int = 2
    # 1: the anomalies described above; smaller values plant weaker ones (the mood shifts, and
    # how little the apart student joins the laugh, scale with it)
    plant_strength: float = 1.0
    # the anomalies to plant, as (rule, lesson, student), instead of ``plants_per_rule`` of each
    # rule at random; the times within the lesson are still drawn
    plants: tuple[tuple[str, int, int], ...] | None = None
    # the students the model always reads as sad, angry, happy (in ``BIASES`` order) instead of
    # three drawn at random
    biased_students: tuple[int, int, int] | None = None
    # lessons with a test written over ``TEST_S``, which makes the whole class tense by this
    test_days: tuple[int, ...] = ()
    test_depth: float = 1.0
    # how far a ``below_own_baseline`` plant lowers the mood over the lesson (at strength 1)
    baseline_drop: float = 1.5


@dataclass
class SyntheticTerm:
    plan: TermPlan
    lessons: list[pd.DataFrame]  # observation rows per lesson (video_id filled in when written)
    planted: list[Planted]
    biased: dict[int, str]  # student id -> the class the model always leans to
    decoys: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, lesson, student)

    @property
    def student_ids(self) -> list[int]:
        return list(range(1, self.plan.students + 1))


@dataclass(frozen=True)
class _ClassEvents:
    laughs: list[list[tuple[float, float]]]  # per lesson
    dips: list[list[tuple[float, float]]]


def _ou(rng: np.random.Generator, n: int, dt: float, sd: float, tau: float) -> np.ndarray:
    """An Ornstein-Uhlenbeck path of ``n`` steps, stationary sd ``sd``, time constant ``tau``."""
    a = np.exp(-dt / tau)
    steps = rng.normal(0.0, sd * np.sqrt(1 - a * a), n)
    path = np.empty(n)
    path[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        path[i] = a * path[i - 1] + steps[i]
    return path


def _bump(t: np.ndarray, start: float, end: float, ramp_s: float = 5.0) -> np.ndarray:
    """1 inside [start, end], with linear ramps of ``ramp_s`` at both ends; 0 outside."""
    up = np.clip((t - start) / ramp_s + 1, 0, 1)
    down = np.clip((end - t) / ramp_s + 1, 0, 1)
    return np.minimum(up, down)


def _quiet_start(rng: np.random.Generator, events: list[tuple[float, float]], length: float,
                 lesson_s: float) -> float | None:
    """A start for an episode of ``length`` that overlaps none of the class's events (with a
    minute to spare before it, for the rules that compare with the minute before)."""
    for _ in range(1000):
        start = rng.uniform(90, lesson_s - length)
        if all(start + length < s - 10 or start - 70 > e for s, e in events):
            return start
    return None


def _placed(rng: np.random.Generator, rule: str, slot: tuple[int, int], events: _ClassEvents,
            plan: TermPlan) -> Planted | None:
    """An anomaly of ``rule`` in the student-lesson ``slot``: when in the lesson it lasts."""
    lesson, student = slot
    if rule == "below_own_baseline":
        return Planted(rule, lesson, student, 0.0, plan.lesson_s)
    if rule == "apart_from_class":
        start, end = events.laughs[lesson][0]
        return Planted(rule, lesson, student, start, end)
    length = rng.uniform(150, 240) if rule == "sustained_negative" else rng.uniform(300, 600)
    quiet = events.laughs[lesson] + events.dips[lesson]
    if lesson in plan.test_days:
        quiet = quiet + [TEST_S]
    start = _quiet_start(rng, quiet, length, plan.lesson_s)
    return None if start is None else Planted(rule, lesson, student, start, start + length)


def _plant(rng: np.random.Generator, rule: str, slot: tuple[int, int], planted: list[Planted],
           events: _ClassEvents, plan: TermPlan) -> Planted | None:
    """An anomaly of ``rule`` in this student-lesson, or None where it cannot go."""
    student = slot[1]
    if any((p.lesson, p.student_id) == slot for p in planted):
        return None
    if rule == "below_own_baseline" and any(
            p.rule == rule and p.student_id == student for p in planted):
        return None
    return _placed(rng, rule, slot, events, plan)


def _class_events(rng: np.random.Generator, plan: TermPlan) -> _ClassEvents:
    laughs, dips = [], []
    for _ in range(plan.lessons):
        starts = rng.uniform(60, plan.lesson_s - 200, size=rng.integers(1, 3))
        lesson_laughs = [(s, s + rng.uniform(60, 90)) for s in np.sort(starts)]
        laughs.append(lesson_laughs)
        dip_start = rng.uniform(60, plan.lesson_s - 200)
        dips.append([(dip_start, dip_start + rng.uniform(60, 120))] if rng.random() < 0.5 else [])
    return _ClassEvents(laughs, dips)


def _placements(rng: np.random.Generator, plan: TermPlan, unbiased: list[int],
                events: _ClassEvents) -> tuple[list[Planted], tuple[int, int]]:
    """What is planted where, and the student-lesson of the student seen only briefly.

    At random: distinct student-lessons of unbiased students, a whole-lesson low mood on
    distinct students (two such lessons of one student would hide each other), and episodes
    within a lesson away from the class's own events, so that each plant tests its own rule.
    """
    slots = [(lesson, s) for lesson in range(plan.lessons) for s in unbiased]
    slots = [slots[i] for i in rng.permutation(len(slots))]
    if plan.plants is not None:
        chosen = {(lesson, student) for _, lesson, student in plan.plants}
        slots = [slot for slot in slots if slot not in chosen]
    brief_slot = slots.pop()  # a student seen for seconds only: must not raise anything
    planted: list[Planted] = []
    if plan.plants is not None:
        for rule, lesson, student in plan.plants:
            placed = _placed(rng, rule, (lesson, student), events, plan)
            if placed is None:
                raise ValueError(f"no room for {rule} in lesson {lesson} of student {student}")
            planted.append(placed)
        return planted, brief_slot
    for rule in RULES:
        for _ in range(plan.plants_per_rule):
            planted.append(next(
                p for slot in slots if (p := _plant(rng, rule, slot, planted, events, plan))
            ))
    return planted, brief_slot


def _biased_students(rng: np.random.Generator, plan: TermPlan,
                     faces: np.ndarray) -> dict[int, str]:
    """Who the model always reads as sad, angry, happy; their offsets added to ``faces``."""
    rows = (np.array(plan.biased_students) - 1 if plan.biased_students is not None
            else rng.choice(plan.students, size=len(BIASES), replace=False))
    biased: dict[int, str] = {}
    for row, (name, (column, offset)) in zip(rows, BIASES.items()):
        faces[row, column] += offset
        biased[int(row) + 1] = name
    return biased


def make_term(plan: TermPlan | None = None,
              on_lesson: Callable[[int], None] | None = None) -> SyntheticTerm:
    """The term of ``plan``; ``on_lesson(i)`` after lesson ``i`` (from 0) is made."""
    plan = plan or TermPlan()
    rng = np.random.default_rng(plan.seed)
    faces = RESTING + rng.normal(0.0, 0.3, (plan.students, len(EMOTIONS)))
    biased = _biased_students(rng, plan, faces)
    unbiased = [s for s in range(1, plan.students + 1) if s not in biased]
    events = _class_events(rng, plan)
    planted, brief_slot = _placements(rng, plan, unbiased, events)
    by_slot = {(p.lesson, p.student_id): p for p in planted}

    lessons: list[pd.DataFrame] = []
    decoys: list[tuple[str, int, int]] = [("seen_briefly", brief_slot[0], brief_slot[1])]
    students = np.arange(1, plan.students + 1)
    for lesson in range(plan.lessons):
        looking_down = set(rng.choice(students, size=min(4, plan.students), replace=False).tolist())
        parts = []
        for row, student in enumerate(students.tolist()):
            slot = (lesson, student)
            down = student in looking_down and slot not in by_slot
            if down:
                decoys.append(("looking_down", lesson, student))
            parts.append(_student_lesson(rng, plan, events, slot, faces[row], by_slot.get(slot),
                                         slot == brief_slot, down))
        lessons.append(pd.concat(parts, ignore_index=True).sort_values(
            ["frame_index", "track_id"], ignore_index=True))
        if on_lesson is not None:
            on_lesson(lesson)
    return SyntheticTerm(plan, lessons, planted, biased, decoys)


def _student_lesson(rng: np.random.Generator, plan: TermPlan, events: _ClassEvents,
                    slot: tuple[int, int], face: np.ndarray, planted_here: Planted | None,
                    brief: bool, looking_down: bool) -> pd.DataFrame:
    """One student's rows in one lesson."""
    lesson, student = slot
    t = np.arange(0.0, plan.lesson_s, 1.0 / plan.sample_fps)
    mood = rng.normal(0.0, plan.day_sd) + _ou(rng, len(t), 1.0 / plan.sample_fps, plan.mood_sd,
                                               plan.mood_tau_s)
    joins = np.ones(len(t)) * rng.uniform(0.7, 1.2)
    laugh = sum((_bump(t, s, e) for s, e in events.laughs[lesson]), np.zeros(len(t)))
    dip = sum((_bump(t, s, e, 10.0) for s, e in events.dips[lesson]), np.zeros(len(t)))
    if planted_here is not None:
        p, strength = planted_here, plan.plant_strength
        if p.rule == "sustained_negative":
            mood = mood - 2.5 * strength * _bump(t, p.start_s, p.end_s, 10.0)
        elif p.rule == "below_own_baseline":
            mood = mood - plan.baseline_drop * strength
        elif p.rule == "apart_from_class":
            joins = np.where(_bump(t, p.start_s, p.end_s) > 0, joins * (1 - strength), joins)
        else:
            mood = mood - 2.5 * strength * (t >= p.start_s) * (t <= p.end_s)
    mood = mood + 3.0 * laugh * joins - 0.8 * dip
    logits = face + mood[:, None] * MOOD + rng.normal(0.0, plan.frame_noise,
                                                      (len(t), len(EMOTIONS)))
    if lesson in plan.test_days:
        logits = logits + plan.test_depth * _bump(t, *TEST_S, 30.0)[:, None] * TEST_TENSION
    score = 0.9 + 0.1 * rng.beta(5.0, 1.0, len(t))
    seen = _visibility(rng, t)
    if planted_here is not None:  # what cannot be seen cannot be found
        seen |= (t >= planted_here.start_s) & (t <= planted_here.end_s) & (
            rng.random(len(t)) > 0.05)
    if brief:
        start = rng.uniform(60, plan.lesson_s - 60)
        seen = (t >= start) & (t < start + 15.0)
        logits = logits - 2.5 * MOOD
    if looking_down:
        start = rng.uniform(0, plan.lesson_s - 180)
        down = (t >= start) & (t < start + rng.uniform(60, 180))
        logits[down, _E["sad"]] += 2.5
        score[down] = rng.uniform(0.80, 0.90, int(down.sum()))
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    # poor detections read at random
    poor = rng.random(len(t)) < 0.03
    probabilities[poor] = rng.dirichlet(np.ones(len(EMOTIONS)), int(poor.sum()))
    score[poor] = rng.uniform(0.80, 0.90, int(poor.sum()))
    return observation_rows(t[seen], student, probabilities[seen], score[seen])


def _visibility(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """In view for stretches of about two minutes, out of view for a few seconds between."""
    seen = np.zeros(len(t), dtype=bool)
    now, visible = 0.0, rng.random() < 0.9
    while now < t[-1] + 1:
        length = rng.exponential(120.0) if visible else rng.exponential(8.0) + 1.0
        seen[(t >= now) & (t < now + length)] = visible
        now, visible = now + length, not visible
    return seen & (rng.random(len(t)) > 0.05)  # and the detector misses a face now and then


def observation_rows(t: np.ndarray, student: int, probabilities: np.ndarray,
                     score: np.ndarray | float = 0.99) -> pd.DataFrame:
    """Stored observation rows of one student seen at times ``t`` (s) with (n, 7) emotion
    ``probabilities`` and detection ``score``; ``video_id`` 0 until written."""
    n = len(t)
    x1 = np.full(n, 40.0 * student, dtype=np.float32)
    return pd.DataFrame({
        "video_id": 0,
        "frame_index": np.round(t * 25).astype(np.int64),  # a 25 fps video
        "observed_at_s": t,
        "track_id": student,
        "student_id": pd.array(np.full(n, student), dtype="Int64"),
        "x1": x1, "y1": np.float32(100.0), "x2": x1 + 30, "y2": np.float32(130.0),
        "detection_score": np.broadcast_to(np.asarray(score, dtype=np.float32), (n,)),
        **{e: probabilities[:, i].astype(np.float32) for i, e in enumerate(EMOTIONS)},
        "top_emotion": np.asarray(EMOTIONS)[probabilities.argmax(axis=1)],
        # 30-px frontal faces: all readable (faces/readability.py)
        "face_height_px": np.float32(30.0), "yaw_deg": np.float32(0.0),
        "pitch_deg": np.float32(0.0), "sharpness": np.float32(0.1), "readable": True,
    })
