"""Writing a lesson analysed elsewhere (a Ray worker): its people matched to the roster, its
rows landed in the store at once.

The store lets one process write a database file, so this runs in the process that holds it
(the command line, or the app's job queue). As ``analyse_video`` does, it registers the lesson
(``begin_analysis``), stages its observations and lands them with who is who in one
transaction (``finish_analysis``): readers never see half a lesson, and a writer killed on the
way leaves the lesson failed (or its earlier analysis in place) for a rerun to replace.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

from emotion_core.analysis.lesson_people import (
    Identified,
    identified,
    lesson_roster,
    match_people,
)
from emotion_core.analysis.lesson_result import AnalysedLesson
from emotion_core.analysis.pipeline import analysis_result, failure_recorded, result_summary
from emotion_core.analysis.settings import AnalysisResult
from emotion_core.store.store import Store


def write_lesson(
    store: Store,
    lesson: AnalysedLesson,
    *,
    class_group: str | None = None,
    recorded_on: date | None = None,
) -> AnalysisResult:
    """Store ``lesson`` (replacing an earlier analysis of the same content) and say what it
    found, as ``analyse_video`` would have."""
    started = time.perf_counter()
    record = replace(lesson.record, class_group=class_group, recorded_on=recorded_on)
    video_id = store.begin_analysis(record, lesson.parameters)
    with failure_recorded(store, video_id):
        store.stage_observations(lesson.observation_rows(video_id))
        found = (
            _identify(store, video_id, class_group, lesson) if lesson.people is not None
            else None
        )
    result = analysis_result(
        video_id, record, lesson.counts, lesson.tracks, lesson.emotion_model, lesson.detector,
        round(lesson.seconds + time.perf_counter() - started, 3), found,
    )
    store.finish_analysis(
        video_id, result_summary(result), found.identities if found is not None else None
    )
    return result


def _identify(
    store: Store, video_id: int, class_group: str | None, lesson: AnalysedLesson
) -> Identified:
    """The lesson's people matched to the roster as it stands now."""
    people = lesson.people
    assert people is not None
    matching_started = time.perf_counter()
    everyone = match_people(people, lesson_roster(store, video_id, class_group, people.model))
    return identified(
        everyone, people.tracks, people.model, lesson.settings, people.faces_embedded,
        people.seconds + time.perf_counter() - matching_started,
    )
