"""The alert benchmark's terms: the generator (``emotion_core.demo.synthetic``, which the demo
term uses too) and ``score``, which compares the alerts raised with what was planted.

What a term holds (12 students, lessons of 20 minutes, three students the model always reads
as sad, angry or happy, two anomalies of each rule planted on the others) is described in
``emotion_core/demo/synthetic.py``; ``write_term`` (``emotion_core/demo/writing.py``) stores it
the way the pipeline stores an analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from emotion_core.demo.synthetic import (  # noqa: F401 (the benchmark's and tests' names)
    RULES,
    Planted,
    SyntheticTerm,
    TermPlan,
    make_term,
    observation_rows,
)
from emotion_core.demo.writing import lesson_record, write_lesson, write_term  # noqa: F401


@dataclass(frozen=True)
class Score:
    planted: int
    found: int
    missed: list[Planted]
    clean_student_lessons: int  # with nothing planted
    false_alerts: int  # on those, or on a planted one away from what was planted
    biased_student_lessons: int  # of the students with a constant lean (nothing is planted there)
    biased_flagged: int  # alerts on those
    false_alert_rows: pd.DataFrame

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    @property
    def false_per_30(self) -> float:
        return 30.0 * self.false_alerts / self.clean_student_lessons

    def as_json(self) -> dict[str, object]:
        return {"planted": self.planted, "found": self.found, "recall": round(self.recall, 3),
                "clean_student_lessons": self.clean_student_lessons,
                "false_alerts": self.false_alerts, "false_per_30": round(self.false_per_30, 3),
                "biased_student_lessons": self.biased_student_lessons,
                "biased_flagged": self.biased_flagged}


def score(alerts: pd.DataFrame, term: SyntheticTerm, video_ids: list[int]) -> Score:
    """Planted anomalies found by their rule (window overlapping the planted stretch), and
    alerts that nothing planted explains."""
    lesson_of = {video_id: lesson for lesson, video_id in enumerate(video_ids)}
    alerts = alerts.assign(lesson=alerts["video_id"].map(lesson_of))

    def overlaps(row: pd.Series, p: Planted) -> bool:
        return bool(row["window_start_s"] <= p.end_s and row["window_end_s"] >= p.start_s)

    missed = [
        p for p in term.planted
        if not any(overlaps(row, p) for _, row in alerts[
            (alerts["rule"] == p.rule) & (alerts["lesson"] == p.lesson)
            & (alerts["student_id"] == p.student_id)].iterrows())
    ]
    by_slot = {(p.lesson, p.student_id): p for p in term.planted}
    false_rows = [
        i for i, row in alerts.iterrows()
        if (p := by_slot.get((row["lesson"], row["student_id"]))) is None or not overlaps(row, p)
    ]
    false_alerts = alerts.loc[false_rows]
    clean = term.plan.lessons * term.plan.students - len(by_slot)
    biased = false_alerts["student_id"].isin(list(term.biased)).sum()
    return Score(len(term.planted), len(term.planted) - len(missed), missed, clean,
                 len(false_alerts), term.plan.lessons * len(term.biased), int(biased),
                 false_alerts)
