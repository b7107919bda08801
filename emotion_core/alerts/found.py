"""One alert as a rule found it: whom, when, the numbers that raised it and the thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from emotion_core.core.alert_settings import Guards


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


def rounded_numbers(numbers: Mapping[str, float]) -> dict[str, float | None]:
    """Numbers fit to show and to store as JSON (which has no NaN: unknown is null)."""
    def plain(value: float) -> float | None:
        if isinstance(value, float | np.floating):
            return None if math.isnan(value) else round(float(value), 3)
        return value
    return {k: plain(v) for k, v in numbers.items()}


def alert_thresholds(rule: Any, guards: Guards) -> dict[str, Any]:
    """What an alert was raised under: its rule's thresholds and the guards."""
    return {**asdict(rule), "guards": asdict(guards)}


def guards_of(thresholds: Mapping[str, Any]) -> Guards:
    """The guards an alert was raised under (``FoundAlert.thresholds``)."""
    return Guards(**thresholds.get("guards", {}))

