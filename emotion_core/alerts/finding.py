"""Every alert over a set of lessons, and the same alerts paired up after another check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict

import numpy as np
import pandas as pd

from emotion_core.alerts.conditions import (
    apart_from_class,
    below_own_baseline,
    sharp_drop,
    sustained_negative,
)
from emotion_core.alerts.found import ALERT_COLUMNS, FoundAlert
from emotion_core.alerts.timeline import LessonTimeline, lesson_summaries, lesson_timeline
from emotion_core.core.alert_settings import AlertSettings, Guards


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
