"""Hand-made lessons for the alert tests: calm students, and changes to one of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.synthetic_lessons import observation_rows
from emotion_core.alerts.finding import find_alerts
from emotion_core.core.alert_settings import AlertSettings
from emotion_core.core.labels import EMOTIONS

# Alters one student's lesson in place: (student id, times, probabilities, scores, in view, rng)
Change = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.random.Generator], None]


def readings(n: int, happy: float, negative: float, rng: np.random.Generator,
             noise: float = 0.03) -> np.ndarray:
    """(n, 7) probabilities with about these happy and negative shares (negative mostly sad),
    the rest neutral, jittered frame to frame."""
    shares = np.zeros((n, len(EMOTIONS)))
    shares[:, EMOTIONS.index("happy")] = happy
    shares[:, EMOTIONS.index("sad")] = negative * 0.7
    shares[:, EMOTIONS.index("angry")] = negative * 0.2
    shares[:, EMOTIONS.index("fear")] = negative * 0.1
    shares[:, EMOTIONS.index("neutral")] = 1 - happy - negative
    shares = np.clip(shares + rng.normal(0, noise, shares.shape), 1e-4, None)
    return shares / shares.sum(axis=1, keepdims=True)


@dataclass
class HandMadeLessons:
    """Lessons of ``students`` calm students (happy 0.2, negative 0.3) at 2 frames a second;
    ``change`` alters one student's readings or scores before the rows are made."""

    students: int = 10
    seconds: float = 600.0
    seed: int = 0

    def lesson(self, lesson: int = 0, change: Change | None = None) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed * 100 + lesson)
        t = np.arange(0.0, self.seconds, 0.5)
        parts = []
        for student in range(1, self.students + 1):
            probabilities = readings(len(t), 0.2, 0.3, rng)
            scores = np.full(len(t), 0.98)
            seen = np.ones(len(t), dtype=bool)
            if change is not None:
                change(student, t, probabilities, scores, seen, rng)
            parts.append(observation_rows(t[seen], student, probabilities[seen], scores[seen]))
        return pd.concat(parts, ignore_index=True).assign(video_id=lesson + 1)

    def alerts(self, lessons: list[pd.DataFrame],
               settings: AlertSettings | None = None) -> pd.DataFrame:
        return find_alerts(range(1, len(lessons) + 1), lambda v: lessons[v - 1], settings)


def sad_between(student_id: int, start: float, end: float, score: float = 0.98,
                negative: float = 0.85) -> Change:
    """The student reads clearly sad from ``start`` to ``end``, detected with ``score``."""

    def change(student: int, t: np.ndarray, probabilities: np.ndarray, scores: np.ndarray,
               seen: np.ndarray, rng: np.random.Generator) -> None:
        if student == student_id:
            stretch = (t >= start) & (t < end)
            probabilities[stretch] = readings(int(stretch.sum()), 0.02, negative, rng)
            scores[stretch] = score
    return change


