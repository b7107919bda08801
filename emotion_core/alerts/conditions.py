"""The four alert rules: each finds runs of bins (or whole lessons) where its condition held."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emotion_core.alerts.found import FoundAlert, alert_thresholds, rounded_numbers
from emotion_core.alerts.rules import clock
from emotion_core.alerts.timeline import (
    BALANCE_MAX,
    LessonTimeline,
    expression_balance,
    median_of_others,
    window_mean,
)
from emotion_core.core.alert_settings import (
    ApartFromClass,
    BelowOwnBaseline,
    Guards,
    SharpDrop,
    SustainedNegative,
)

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
                rounded_numbers(numbers), alert_thresholds(rule, guards),
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
                rounded_numbers(numbers), alert_thresholds(rule, guards),
            ))
    return found


def _usual_balances(timeline: LessonTimeline, usual_balance: Mapping[int, float]) -> np.ndarray:
    """Each student's usual balance: ``usual_balance``, or without one the median of this lesson."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # students never in view long enough
        this_lesson = np.nanmedian(timeline.balance_smooth, axis=1)
    return np.array([usual_balance.get(int(s), this_lesson[row])
                     for row, s in enumerate(timeline.student_ids)])


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
        return expression_balance(window_mean(timeline.happy, lo, hi, need),
                                  window_mean(timeline.negative, lo, hi, need))

    before = balance_over(-before_bins, -1, before_bins)
    after = balance_over(0, after_bins - 1, after_bins)
    usual = _usual_balances(timeline, usual_balance)
    # unknown before (the student just came into view): no drop can be measured
    drops = np.minimum(before, usual[:, None]) - after
    class_drop, classmates = median_of_others(drops)
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
                rounded_numbers(numbers), alert_thresholds(rule, guards),
            ))
    return found


def below_own_baseline(summaries: pd.DataFrame, rule: BelowOwnBaseline,
                       guards: Guards) -> list[FoundAlert]:
    """Lessons whose balance is far below the student's other lessons (``lesson_summaries`` of
    every lesson)."""
    found = []
    # a lesson with no balance (no reading of the student in it) says nothing either way
    usable = summaries[(summaries["visible_s"] >= guards.min_lesson_visible_s)
                       & np.isfinite(summaries["balance"].astype(float))]
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
                rounded_numbers(numbers), alert_thresholds(rule, guards),
            ))
    return found
