"""A lesson's observations on a grid of time bins per student, averaged and smoothed."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emotion_core.core.alert_settings import Guards
from emotion_core.core.labels import NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS

# The columns of a lesson's observations that the rules read.
OBSERVATION_INPUTS: tuple[str, ...] = (
    "observed_at_s", "student_id", "detection_score", *POSITIVE_EMOTIONS, *NEGATIVE_EMOTIONS,
)


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

    Observations are averaged per bin and smoothed; the rules then look for runs of bins, so
    every alert has a window and the numbers that raised it. They read the share of negative
    readings (sad, fear, anger and disgust) and the expression balance (``expression_balance``),
    on which a model's constant lean on one face cancels out of every comparison they make.

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


def window_mean(values: np.ndarray, lo: int, hi: int, min_count: int) -> np.ndarray:
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


def median_of_others(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    happy_smooth = np.where(visible, window_mean(happy, -half, half, min_count), np.nan)
    negative_smooth = np.where(visible, window_mean(negative, -half, half, min_count), np.nan)
    balance_smooth = expression_balance(happy_smooth, negative_smooth)
    class_balance, classmates = median_of_others(balance_smooth)
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
