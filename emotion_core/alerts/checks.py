"""Running the alert rules over the database; the alerts, evidence and decisions people see."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pandas as pd

from emotion_core.alerts.finding import find_alerts, match_alerts
from emotion_core.alerts.found import guards_of
from emotion_core.alerts.rules import RULES, RULES_VERSION, Rule
from emotion_core.alerts.timeline import OBSERVATION_INPUTS, lesson_timeline
from emotion_core.core.alert_settings import AlertSettings
from emotion_core.store.store import Store

# One check at a time in this process (DuckDB lets no other process write meanwhile): two pages
# checking at once would both store the alerts they found new.
_CHECKING = threading.Lock()


@dataclass(frozen=True)
class CheckResult:
    checked: bool  # False: nothing had changed since the last check, which stands
    raised: int  # alerts new in this check
    kept: int  # raised before and again (ids and decisions carried over)
    cleared: int  # raised before, not any more

    def describe(self) -> str:
        if not self.checked:
            return "alerts: nothing changed since the last check"
        return (f"alerts checked: {self.raised} new, {self.kept} as before, "
                f"{self.cleared} no longer raised")


def check_alerts(store: Store, settings: AlertSettings | None = None,
                 force: bool = False) -> CheckResult:
    """Run every rule over every lesson and store the result.

    ``settings``: the thresholds stored in the database (``Store.alert_settings``) unless given.
    Skipped (``checked=False``) when neither the observations nor the settings changed since
    the last check. An alert found again keeps its id and whatever a person decided about it
    (``alerts.match_alerts`` says when an alert is "the same"), so a dismissed alert stays
    dismissed after its lesson is analysed again.
    """
    settings = settings or store.alert_settings()
    with _CHECKING:
        inputs = json.dumps({"rules": RULES_VERSION,
                             "observations": store.observations_fingerprint(),
                             "settings": settings.as_json()}, sort_keys=True)
        if not force and store.last_alert_check() == inputs:
            return CheckResult(False, 0, 0, 0)
        video_ids = [int(v) for v in store.videos()["video_id"]]
        found = find_alerts(video_ids, lambda v: store.alert_observations(v, OBSERVATION_INPUTS),
                            settings)
        matched, gone = match_alerts(store.alerts(include_inactive=True), found)
        store.save_alert_check(matched, gone, inputs)
    kept = int(matched["alert_id"].notna().sum())
    return CheckResult(True, len(matched) - kept, kept, len(gone))


def current_alerts(store: Store, include_dismissed: bool = False) -> pd.DataFrame:
    """The alerts the latest check raised, with their lesson's file name, group and date, and
    the rule's ``title``; dismissed ones only when asked for."""
    frame = store.alerts()
    if not include_dismissed:
        frame = frame[frame["status"] != "dismissed"]
    return frame.assign(title=frame["rule"].map(lambda name: RULES[name].title)).reset_index(
        drop=True)


@dataclass(frozen=True)
class AlertEvidence:
    """What an alert's page shows: the alert, its rule, and the student's series over the
    lesson (``LessonTimeline.student`` plus ``in_window``), computed as when it was raised."""

    alert: dict[str, object]
    rule: Rule
    series: pd.DataFrame  # t_s, frames, balance, negative_share, class_balance, classmates, in_window

    @property
    def window(self) -> tuple[float, float]:
        return float(self.alert["window_start_s"]), float(self.alert["window_end_s"])


def alert_evidence(store: Store, alert_id: int) -> AlertEvidence:
    """One alert's evidence. ``KeyError`` when there is no such alert."""
    alert = store.alert(alert_id)
    if alert is None:
        raise KeyError(f"there is no alert {alert_id}")
    video_id, student_id = int(alert["video_id"]), int(alert["student_id"])
    timeline = lesson_timeline(video_id, store.alert_observations(video_id, OBSERVATION_INPUTS),
                               guards_of(alert["thresholds"]))
    if timeline is None or student_id not in timeline.student_ids:
        series = pd.DataFrame(columns=["t_s", "frames", "balance", "negative_share",
                                       "class_balance", "classmates", "in_window"])
    else:
        series = timeline.student(student_id)
        start, end = float(alert["window_start_s"]), float(alert["window_end_s"])
        series["in_window"] = (series["t_s"] >= start) & (series["t_s"] < end)
    return AlertEvidence(alert, RULES[str(alert["rule"])], series)
