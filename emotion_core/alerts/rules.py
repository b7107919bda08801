"""Alert rules over the per-student emotion time series, and the evidence behind each flag.

Everything here is computation over pandas frames and NumPy arrays; nothing reads or writes the
database (``find_alerts`` is handed a function that loads a lesson's observations). Running
the rules over a ``Store`` and keeping people's decisions is ``alert_checks``.

Observations are first put on a grid of time bins per lesson and student (``LessonTimeline``),
averaged and smoothed; the rules then look for runs of bins, so every alert has a window and
the numbers that raised it. They read the share of negative readings (sad, fear, anger and
disgust) and the **expression balance**, log2 of the happy share over the negative share: a
positive-minus-negative index on a log scale, so that a model's constant lean on one face
cancels out of every comparison the rules make (``expression_balance``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from emotion_core.core.alert_settings import (
    AlertSettings,
    ApartFromClass,
    BelowOwnBaseline,
    Guards,
    SharpDrop,
    SustainedNegative,
)
from emotion_core.core.labels import NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS

# Raise when a rule changes what it finds, so that stored alerts are checked again.
RULES_VERSION = 1

# The columns of a lesson's observations that the rules read.
OBSERVATION_INPUTS: tuple[str, ...] = (
    "observed_at_s", "student_id", "detection_score", *POSITIVE_EMOTIONS, *NEGATIVE_EMOTIONS,
)


# -- the rules, in words ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    explanation: str  # formatted with the rule's thresholds

    def explain(self, settings: AlertSettings) -> str:
        return self.explanation.format(**asdict(getattr(settings, self.name)))


BALANCE_WORDS = (
    "The expression balance compares how likely the model finds a happy face with how likely a "
    "sad, fearful, angry or disgusted one: 0 when both are equally likely, each step of 1 "
    "doubles (or, below 0, halves) the odds of happy against negative."
)

RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "sustained_negative",
            "Sustained negative expression",
            "For at least {min_visible_s:.0f} seconds in view, the face was read as sad, fearful, "
            "angry or disgusted most of the time: the share of those readings, averaged over a "
            "few seconds, stayed at or above {negative_share:.0%} and well above what is usual "
            "for this student (odds at least {odds_ratio:g} times their usual odds: a usual 40% "
            "needs 67%, a usual 80% needs 92%), so a face the model always reads as sad is not "
            "flagged for that alone.",
        ),
        Rule(
            "below_own_baseline",
            "Far below their own usual",
            "Over the whole lesson the student's expression balance was far below the median of "
            "their other lessons: by at least {min_drop:g} (odds of happy against negative at "
            "most a third of their usual) and by at least {robust_z:g} times the usual spread "
            "between their lessons. Needs {min_other_lessons} other lessons with the student in "
            "view for a while. Each student is compared only with themself.",
        ),
        Rule(
            "apart_from_class",
            "Apart from the class",
            "For at least {min_visible_s:.0f} seconds in view the student's expression was far "
            "less positive than the rest of the class at the same moments (everyone laughs, one "
            "student does not): the balance was {gap:g} further below the class's median than "
            "this student usually is in the lesson, with at least {min_classmates} classmates "
            "in view.",
        ),
        Rule(
            "sharp_drop",
            "Sharp drop",
            "The student's expression became far more negative at one moment and stayed so: the "
            "balance over the {after_s:.0f} seconds after it was at least {drop:g} below both "
            "the balance over the {before_s:.0f} seconds before and the student's usual "
            "balance. A drop the whole class shows at that moment is taken off first, and coming "
            "back from a laugh to one's usual self is no drop.",
        ),
    )
}


@dataclass(frozen=True)
class FoundAlert:
    """One flag: which rule, whom, when, and the numbers that raised it."""

    rule: str
    video_id: int
    student_id: int
    window_start_s: float
    window_end_s: float
    summary: str
    numbers: dict[str, float]
    thresholds: dict[str, Any]


ALERT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(FoundAlert))


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) into the lesson."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _rounded(numbers: Mapping[str, float]) -> dict[str, float | None]:
    """Numbers fit to show and to store as JSON (which has no NaN: unknown is null)."""
    def plain(value: float) -> float | None:
        if isinstance(value, float | np.floating):
            return None if math.isnan(value) else round(float(value), 3)
        return value
    return {k: plain(v) for k, v in numbers.items()}


def _thresholds(rule: Any, guards: Guards) -> dict[str, Any]:
    """What an alert was raised under: its rule's thresholds and the guards."""
    return {**asdict(rule), "guards": asdict(guards)}


def guards_of(thresholds: Mapping[str, Any]) -> Guards:
    """The guards an alert was raised under (``FoundAlert.thresholds``)."""
    return Guards(**thresholds.get("guards", {}))


# -- a lesson on a grid of time bins -------------------------------------------------------------

# Keeps the balance finite when a share is 0; a share this small is "hardly ever" either way.
BALANCE_FLOOR = 0.01
# The top of the scale: read happy every time, never negative (about +6.7).
BALANCE_MAX = float(np.log2((1 + BALANCE_FLOOR) / BALANCE_FLOOR))


def expression_balance(happy: np.ndarray | float, negative: np.ndarray | float) -> np.ndarray:
    """log2 of (happy share / negative share): 0 when the model finds happy and negative faces
    equally likely, +1 when happy is twice as likely, -2 when negative is four times as likely.

    A constant lean of the model on one face (always a little sad) shifts it by a constant, so
    changes of the balance mean the same for every student, and they do not shrink for a face
    already read as negative most of the time the way a difference of probabilities does.
    """
    return np.log2((np.asarray(happy) + BALANCE_FLOOR) / (np.asarray(negative) + BALANCE_FLOOR))


@dataclass(frozen=True)
class LessonTimeline:
    """One lesson's students on a common grid of time bins.

    Arrays are (students, bins), aligned with ``student_ids``; a bin where a student was not seen
    (or seen only in low-quality detections) holds 0 frames and NaN values.
    """

    video_id: int
    bin_s: float
    student_ids: np.ndarray  # (S,) int64
    frames: np.ndarray  # (S, B) int: frames seen in the bin
    happy: np.ndarray  # (S, B) mean happy share of the bin
    negative: np.ndarray  # (S, B) mean share of sad, fear, anger and disgust
    negative_smooth: np.ndarray  # (S, B) centred moving average, NaN where not in view
    balance_smooth: np.ndarray  # (S, B) expression balance of the smoothed shares
    class_balance: np.ndarray  # (S, B) median smoothed balance of the others in view
    classmates: np.ndarray  # (S, B) int: how many others that median is over

    @property
    def visible(self) -> np.ndarray:
        return self.frames > 0

    def row(self, student_id: int) -> int:
        rows = np.flatnonzero(self.student_ids == student_id)
        if not len(rows):
            raise KeyError(f"student {student_id} was not seen in lesson {self.video_id}")
        return int(rows[0])

    def student(self, student_id: int) -> pd.DataFrame:
        """The student's bins in view: the series an alert's evidence shows."""
        row = self.row(student_id)
        seen = self.visible[row]
        return pd.DataFrame({
            "t_s": np.flatnonzero(seen) * self.bin_s,
            "frames": self.frames[row, seen],
            "balance": self.balance_smooth[row, seen],
            "negative_share": self.negative_smooth[row, seen],
            "class_balance": self.class_balance[row, seen],
            "classmates": self.classmates[row, seen],
        })


def _window_mean(values: np.ndarray, lo: int, hi: int, min_count: int) -> np.ndarray:
    """Mean over bins ``i+lo .. i+hi`` (inclusive, clipped to the lesson) of each row, ignoring
    NaN; NaN where fewer than ``min_count`` bins hold a value."""
    present = ~np.isnan(values)
    n_bins = values.shape[1]
    sums = np.zeros((values.shape[0], n_bins + 1))
    counts = np.zeros((values.shape[0], n_bins + 1))
    np.cumsum(np.where(present, values, 0.0), axis=1, out=sums[:, 1:])
    np.cumsum(present, axis=1, out=counts[:, 1:])
    index = np.arange(n_bins)
    start = np.clip(index + lo, 0, n_bins)
    stop = np.clip(index + hi + 1, 0, n_bins)
    total = sums[:, stop] - sums[:, start]
    count = counts[:, stop] - counts[:, start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= max(min_count, 1), total / count, np.nan)


def _median_of_others(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the per-column median of the other rows (NaN ignored) and how many values
    that median is over; NaN where there are none.

    Each column is sorted once; the others of a row are the sorted values with the row's own
    value taken out, so their middle is found by shifting positions past the row's rank.
    """
    rows, columns = values.shape
    present = ~np.isnan(values)
    order = np.argsort(values, axis=0)  # NaN sort last
    ordered = np.take_along_axis(values, order, axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(rows)[:, None], (rows, columns)),
                      axis=0)
    counts = present.sum(axis=0)[None, :] - present

    def others_at(position: np.ndarray) -> np.ndarray:
        shifted = position + (position >= rank)  # a row's own value is skipped
        return np.take_along_axis(ordered, np.clip(shifted, 0, rows - 1), axis=0)

    medians = (others_at((counts - 1) // 2) + others_at(counts // 2)) / 2
    return np.where(counts > 0, medians, np.nan), counts


def sampling_interval_s(observed_at_s: pd.Series) -> float:
    """The typical time between sampled frames of a lesson (0 when there is only one)."""
    times = np.unique(observed_at_s.to_numpy(dtype=float))
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.0


def lesson_timeline(video_id: int, observations: pd.DataFrame, guards: Guards) -> LessonTimeline | None:
    """Put one lesson's observations (``OBSERVATION_INPUTS``) on a grid of time bins per student.

    Rows with no student id or a detection score under the guard are left out; ``None`` when
    nothing is left. Two faces of one student in one frame (an identity mistake) are averaged.
    """
    # the bins are at least as wide as the sampling interval, so a student in view fills each
    bin_s = max(guards.bin_s, sampling_interval_s(observations["observed_at_s"]))
    rows = observations[
        observations["student_id"].notna()
        & (observations["detection_score"] >= guards.min_detection_score)
    ]
    if rows.empty:
        return None
    student_ids, student_row = np.unique(rows["student_id"].to_numpy(dtype=np.int64),
                                         return_inverse=True)
    bins = np.floor(rows["observed_at_s"].to_numpy(dtype=float) / bin_s).astype(np.int64)
    shape = (len(student_ids), int(bins.max()) + 1)
    cell = np.ravel_multi_index((student_row, bins), shape)
    frames = np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape)

    def bin_means(columns: tuple[str, ...]) -> np.ndarray:
        share = rows[list(columns)].sum(axis=1).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(cell, share, shape[0] * shape[1]).reshape(shape) / frames

    happy, negative = bin_means(POSITIVE_EMOTIONS), bin_means(NEGATIVE_EMOTIONS)
    half = max(round(guards.smoothing_s / bin_s / 2), 0)
    # a smoothed value needs a third of its window in view, and only exists where the student is
    min_count = max(1, (2 * half + 1) // 3)
    visible = frames > 0
    happy_smooth = np.where(visible, _window_mean(happy, -half, half, min_count), np.nan)
    negative_smooth = np.where(visible, _window_mean(negative, -half, half, min_count), np.nan)
    balance_smooth = expression_balance(happy_smooth, negative_smooth)
    class_balance, classmates = _median_of_others(balance_smooth)
    return LessonTimeline(
        video_id=int(video_id), bin_s=bin_s, student_ids=student_ids, frames=frames,
        happy=happy, negative=negative,
        negative_smooth=negative_smooth, balance_smooth=balance_smooth,
        class_balance=class_balance, classmates=classmates,
    )


SUMMARY_COLUMNS = ("video_id", "student_id", "visible_s", "frames", "first_s", "last_s",
                   "balance", "negative")


def lesson_summaries(timeline: LessonTimeline) -> pd.DataFrame:
    """One row per student of the lesson: time in view and the medians of the smoothed balance
    and negative share (medians: a laugh or a bad five minutes do not move them)."""
    rows = []
    for row, student_id in enumerate(timeline.student_ids):
        bins = np.flatnonzero(timeline.visible[row])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN smoothed shares
            negative = float(np.nanmedian(timeline.negative_smooth[row, bins]))
            balance = float(np.nanmedian(timeline.balance_smooth[row, bins]))
        rows.append((
            timeline.video_id, int(student_id), len(bins) * timeline.bin_s,
            int(timeline.frames[row].sum()), float(bins[0] * timeline.bin_s),
            float((bins[-1] + 1) * timeline.bin_s), balance, negative,
        ))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


# -- runs of bins --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Bins ``first``..``last`` of one student where a condition held."""

    first: int
    last: int
    bins: np.ndarray  # the visible bins of the run where the condition held

    def visible_s(self, bin_s: float) -> float:
        return len(self.bins) * bin_s


def condition_runs(condition: np.ndarray, visible: np.ndarray, bin_s: float,
                   max_gap_s: float) -> list[Run]:
    """Runs of visible bins where ``condition`` holds, for one student's row.

    A run ends where the condition stops holding, or the student is out of view, for longer
    than ``max_gap_s``; shorter lapses are bridged (and do not count as time in the run).
    """
    bins = np.flatnonzero(visible & condition)
    if not len(bins):
        return []
    breaks = np.flatnonzero((np.diff(bins) - 1) * bin_s > max_gap_s) + 1
    return [Run(int(part[0]), int(part[-1]), part) for part in np.split(bins, breaks)]


# -- the rules -----------------------------------------------------------------------------------


def _long_enough(run: Run, timeline: LessonTimeline, row: int, min_visible_s: float,
                 guards: Guards) -> bool:
    return (run.visible_s(timeline.bin_s) >= min_visible_s
            and int(timeline.frames[row, run.bins].sum()) >= guards.min_frames)


def odds_times(share: float, ratio: float) -> float:
    """The share whose odds are ``ratio`` times the odds of ``share``."""
    if share >= 1.0:
        return 1.0
    odds = ratio * share / (1.0 - share)
    return odds / (1.0 + odds)


def sustained_negative(timeline: LessonTimeline, usual_negative: Mapping[int, float],
                       rule: SustainedNegative, guards: Guards) -> list[FoundAlert]:
    """Runs where the smoothed negative share is high, and high for this student."""
    found = []
    for row, student_id in enumerate(timeline.student_ids):
        usual = usual_negative.get(int(student_id), math.nan)
        threshold = rule.negative_share
        if not math.isnan(usual):
            threshold = max(threshold, odds_times(usual, rule.odds_ratio))
        smooth = timeline.negative_smooth[row]
        with np.errstate(invalid="ignore"):
            condition = smooth >= threshold
        for run in condition_runs(condition, timeline.visible[row], timeline.bin_s, rule.max_gap_s):
            if not _long_enough(run, timeline, row, rule.min_visible_s, guards):
                continue
            start, end = run.first * timeline.bin_s, (run.last + 1) * timeline.bin_s
            share = float(np.mean(timeline.negative[row, run.bins]))
            numbers = {
                "negative_share": share, "peak_smoothed_share": float(np.max(smooth[run.bins])),
                "usual_share": usual, "threshold": threshold,
                "visible_s": run.visible_s(timeline.bin_s),
                "frames": int(timeline.frames[row, run.bins].sum()),
            }
            usual_words = (f"usually {usual:.0%}" if not math.isnan(usual)
                           else "no usual level known yet")
            found.append(FoundAlert(
                "sustained_negative", timeline.video_id, int(student_id), start, end,
                f"From {clock(start)} to {clock(end)} the readings were {share:.0%} sad, "
                f"fearful, angry or disgusted ({numbers['visible_s']:.0f} s in view; "
                f"{usual_words}, threshold {threshold:.0%}).",
                _rounded(numbers), _thresholds(rule, guards),
            ))
    return found


def apart_from_class(timeline: LessonTimeline, rule: ApartFromClass,
                     guards: Guards) -> list[FoundAlert]:
    """Runs where the student is much further below the class than usual in this lesson."""
    found = []
    for row, student_id in enumerate(timeline.student_ids):
        with_class = timeline.classmates[row] >= rule.min_classmates
        deviation = np.where(with_class, timeline.balance_smooth[row]
                             - timeline.class_balance[row], np.nan)
        if np.all(np.isnan(deviation)):
            continue
        # how far from the class this face usually reads, model's lean included ...
        usual_gap = float(np.nanmedian(deviation))
        # ... but no face can read happier than the top of the scale, so when everyone laughs,
        # one that usually reads far happier than the class is not expected to stay that far
        # above it
        expected = np.minimum(timeline.class_balance[row] + usual_gap, BALANCE_MAX)
        shortfall = np.where(with_class, timeline.balance_smooth[row] - expected, np.nan)
        with np.errstate(invalid="ignore"):
            condition = shortfall <= -rule.gap
        for run in condition_runs(condition, timeline.visible[row] & with_class,
                                  timeline.bin_s, rule.max_gap_s):
            if not _long_enough(run, timeline, row, rule.min_visible_s, guards):
                continue
            start, end = run.first * timeline.bin_s, (run.last + 1) * timeline.bin_s
            own = float(np.mean(timeline.balance_smooth[row, run.bins]))
            of_class = float(np.mean(timeline.class_balance[row, run.bins]))
            numbers = {
                "student_balance": own, "class_balance": of_class, "usual_gap": usual_gap,
                "gap": own - of_class,
                "beyond_usual": float(np.mean(shortfall[run.bins])),
                "classmates": float(np.median(timeline.classmates[row, run.bins])),
                "visible_s": run.visible_s(timeline.bin_s),
                "frames": int(timeline.frames[row, run.bins].sum()),
            }
            found.append(FoundAlert(
                "apart_from_class", timeline.video_id, int(student_id), start, end,
                f"From {clock(start)} to {clock(end)} the expression balance was {own:+.1f} "
                f"while the class's was {of_class:+.1f}; in this lesson the student is usually "
                f"{round(usual_gap, 1) + 0.0:+.1f} from the class ({numbers['visible_s']:.0f} s in view).",
                _rounded(numbers), _thresholds(rule, guards),
            ))
    return found


def sharp_drop(timeline: LessonTimeline, usual_balance: Mapping[int, float], rule: SharpDrop,
               guards: Guards) -> list[FoundAlert]:
    """Moments after which the student's balance stays well below both where it was just
    before and where it usually is (``usual_balance``; without one, the median of this lesson).

    Falling from a laugh back to one's usual self is therefore no drop; falling from one's usual
    self to well below it is.
    """
    before_bins = max(round(rule.before_s / timeline.bin_s), 1)
    after_bins = max(round(rule.after_s / timeline.bin_s), 1)

    def balance_over(lo: int, hi: int, length: int) -> np.ndarray:
        need = math.ceil(length * rule.min_in_view)
        return expression_balance(_window_mean(timeline.happy, lo, hi, need),
                                  _window_mean(timeline.negative, lo, hi, need))

    before = balance_over(-before_bins, -1, before_bins)
    after = balance_over(0, after_bins - 1, after_bins)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # students never in view long enough
        this_lesson = np.nanmedian(timeline.balance_smooth, axis=1)
    usual = np.array([usual_balance.get(int(s), this_lesson[row])
                      for row, s in enumerate(timeline.student_ids)])
    # unknown before (the student just came into view): no drop can be measured
    drops = np.minimum(before, usual[:, None]) - after
    class_drop, classmates = _median_of_others(drops)
    with_class = classmates >= rule.min_classmates
    # a drop of the whole class (a scolding, a test handed out) is no one student's drop
    effective = np.where(with_class, drops - np.fmax(np.nan_to_num(class_drop, nan=0.0), 0.0),
                         drops)
    found = []
    for row, student_id in enumerate(timeline.student_ids):
        with np.errstate(invalid="ignore"):
            condition = effective[row] >= rule.drop
        # over every bin where the drop is measured, in view or not; the pieces noise cuts one
        # drop into are still one drop
        for run in condition_runs(condition, ~np.isnan(effective[row]), timeline.bin_s,
                                  max_gap_s=rule.before_s):
            at = int(run.bins[np.argmax(effective[row, run.bins])])
            first, last = max(at - before_bins, 0), min(at + after_bins, timeline.frames.shape[1])
            frames = int(timeline.frames[row, first:last].sum())
            if frames < guards.min_frames:
                continue
            numbers = {
                "before_balance": float(before[row, at]), "after_balance": float(after[row, at]),
                "usual_balance": float(usual[row]), "drop": float(drops[row, at]),
                "class_drop": float(class_drop[row, at]) if with_class[row, at] else math.nan,
                "beyond_class": float(effective[row, at]), "at_s": at * timeline.bin_s,
                "frames": frames,
            }
            class_words = (f"the class's own drop was {numbers['class_drop']:+.1f}"
                           if with_class[row, at] else "too few classmates in view to compare")
            found.append(FoundAlert(
                "sharp_drop", timeline.video_id, int(student_id), first * timeline.bin_s,
                last * timeline.bin_s,
                f"At {clock(at * timeline.bin_s)} the expression balance fell from "
                f"{numbers['before_balance']:+.1f} (the {rule.before_s:.0f} s before; usually "
                f"{usual[row]:+.1f}) to {numbers['after_balance']:+.1f} (the {rule.after_s:.0f} s "
                f"after); {class_words}.",
                _rounded(numbers), _thresholds(rule, guards),
            ))
    return found


def below_own_baseline(summaries: pd.DataFrame, rule: BelowOwnBaseline,
                       guards: Guards) -> list[FoundAlert]:
    """Lessons whose balance is far below the student's other lessons (``lesson_summaries`` of
    every lesson)."""
    found = []
    usable = summaries[summaries["visible_s"] >= guards.min_lesson_visible_s]
    for student_id, lessons in usable.groupby("student_id"):
        if len(lessons) < rule.min_other_lessons + 1:
            continue
        values = lessons["balance"].to_numpy()
        for i, lesson in enumerate(lessons.itertuples(index=False)):
            others = np.delete(values, i)
            median = float(np.median(others))
            spread = max(1.4826 * float(np.median(np.abs(others - median))), rule.min_spread)
            difference = lesson.balance - median
            z = difference / spread
            if z > -rule.robust_z or difference > -rule.min_drop:
                continue
            numbers = {
                "lesson_balance": lesson.balance, "usual_balance": median, "spread": spread,
                "robust_z": z, "other_lessons": len(others), "visible_s": lesson.visible_s,
                "frames": lesson.frames,
            }
            found.append(FoundAlert(
                "below_own_baseline", int(lesson.video_id), int(student_id),
                float(lesson.first_s), float(lesson.last_s),
                f"Over the lesson the expression balance was {lesson.balance:+.1f}, against "
                f"{median:+.1f} in the student's {len(others)} other lessons (robust z {z:.1f}).",
                _rounded(numbers), _thresholds(rule, guards),
            ))
    return found


def usual_levels(summaries: pd.DataFrame, guards: Guards) -> pd.DataFrame:
    """What is usual for each student (index: student id): the median over their lessons of
    each lesson's ``balance`` and median smoothed ``negative`` share, from lessons where they
    were in view for ``min_lesson_visible_s`` or more."""
    usable = summaries[summaries["visible_s"] >= guards.min_lesson_visible_s]
    return usable.groupby("student_id")[["balance", "negative"]].median()


def lesson_alerts(timeline: LessonTimeline, usual: pd.DataFrame,
                  settings: AlertSettings) -> list[FoundAlert]:
    """The rules that look inside one lesson; ``usual`` comes from ``usual_levels``."""
    guards = settings.guards
    return [
        *sustained_negative(timeline, usual["negative"].dropna().to_dict(),
                            settings.sustained_negative, guards),
        *apart_from_class(timeline, settings.apart_from_class, guards),
        *sharp_drop(timeline, usual["balance"].dropna().to_dict(), settings.sharp_drop, guards),
    ]


def find_alerts(video_ids: Iterable[int], load_observations: Callable[[int], pd.DataFrame],
                settings: AlertSettings | None = None) -> pd.DataFrame:
    """Every alert over the given lessons, one row per alert (``ALERT_COLUMNS``).

    ``load_observations(video_id)`` returns a lesson's observations (``OBSERVATION_INPUTS``).
    Only one lesson is held in memory at a time: a first pass summarises each lesson for the
    rules that compare lessons, a second looks inside each lesson.
    """
    settings = settings or AlertSettings()
    video_ids = list(video_ids)
    summaries = []
    for video_id in video_ids:
        timeline = lesson_timeline(video_id, load_observations(video_id), settings.guards)
        if timeline is not None:
            summaries.append(lesson_summaries(timeline))
    if not summaries:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    every_lesson = pd.concat(summaries, ignore_index=True)
    usual = usual_levels(every_lesson, settings.guards)
    found = below_own_baseline(every_lesson, settings.below_own_baseline, settings.guards)
    for video_id in every_lesson["video_id"].unique():
        timeline = lesson_timeline(int(video_id), load_observations(int(video_id)), settings.guards)
        assert timeline is not None  # it was not the first time
        found.extend(lesson_alerts(timeline, usual, settings))
    frame = pd.DataFrame([asdict(alert) for alert in found], columns=list(ALERT_COLUMNS))
    return frame.sort_values(["video_id", "student_id", "window_start_s", "rule"],
                             ignore_index=True)


# -- the same alert after another check ----------------------------------------------------------


def match_alerts(stored: pd.DataFrame, found: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """Pair newly found alerts with stored ones, so ids and people's decisions carry over.

    A found alert is the same as a stored one when rule, lesson and student are equal and their
    windows overlap: a re-analysis replaces every observation row and may shift a window by a
    few seconds, but the episode is still the one a person looked at. Pairs are made greedily,
    largest overlap first, one to one. Returns ``found`` with an ``alert_id`` column (missing
    for new alerts) and the ids of the stored alerts that were not found again.
    """
    found = found.reset_index(drop=True).copy()
    found["alert_id"] = pd.array([None] * len(found), dtype="Int64")
    taken: set[int] = set()
    key = ["rule", "video_id", "student_id"]
    if not stored.empty and not found.empty:
        candidates = found.reset_index().merge(stored[[*key, "alert_id", "window_start_s",
                                                       "window_end_s"]],
                                               on=key, suffixes=("", "_stored"))
        candidates["overlap"] = (
            np.minimum(candidates["window_end_s"], candidates["window_end_s_stored"])
            - np.maximum(candidates["window_start_s"], candidates["window_start_s_stored"])
        )
        candidates = candidates[candidates["overlap"] > 0].sort_values("overlap", ascending=False)
        paired: set[int] = set()
        for pair in candidates.itertuples(index=False):
            if pair.index in paired or pair.alert_id_stored in taken:
                continue
            found.loc[pair.index, "alert_id"] = int(pair.alert_id_stored)
            paired.add(pair.index)
            taken.add(int(pair.alert_id_stored))
    gone = sorted(int(i) for i in stored["alert_id"] if int(i) not in taken) if not stored.empty else []
    return found, gone
