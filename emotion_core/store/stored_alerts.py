"""The alerts kept in the database: what a check reads, what it raised, and what people decided.

``StoredAlerts`` is part of ``store.Store``; its methods run on the store's connection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from emotion_core.core.labels import EMOTIONS
from emotion_core.store.schema import OBSERVATION_COLUMNS

ALERT_STATUSES: tuple[str, ...] = ("open", "dismissed", "confirmed")


class StoredAlerts:
    """Alerts: the observations a check reads, storing a check's result, listing and reviewing."""

    # provided by Store
    _cursor: Any
    _transaction: Any

    def alert_observations(self, video_id: int, columns: Sequence[str]) -> pd.DataFrame:
        """The ``columns`` of a lesson's readable observations that have a student id, in time
        order (a face that could not be read has no emotion reading to judge)."""
        unknown = set(columns) - set(OBSERVATION_COLUMNS)
        if unknown:
            raise ValueError(f"observations have no columns {sorted(unknown)}")
        with self._cursor() as cur:
            return cur.execute(
                f"SELECT {', '.join(columns)} FROM observations"
                " WHERE video_id = ? AND student_id IS NOT NULL AND readable"
                " ORDER BY observed_at_s, track_id",
                [video_id],
            ).df()

    def observations_fingerprint(self) -> str:
        """Changes whenever an observation is added, removed, read differently or given another
        student."""
        columns = ", ".join(["video_id", "frame_index", "track_id", "student_id",
                             "detection_score", "readable", *EMOTIONS])
        with self._cursor() as cur:
            count, digest = cur.execute(
                f"SELECT count(*), coalesce(sum(hash({columns})), 0) FROM observations"
            ).fetchone()
        return f"{count}:{digest}"

    def last_alert_check(self) -> str | None:
        """The ``inputs`` of the latest ``save_alert_check``."""
        with self._cursor() as cur:
            row = cur.execute("SELECT inputs FROM alert_checks").fetchone()
        return None if row is None else str(row[0])

    def save_alert_check(self, found: pd.DataFrame, gone: Sequence[int], inputs: str) -> None:
        """Store the result of a check, in one transaction.

        ``found``: one row per alert raised (the ``alerts`` table's columns from ``rule`` to
        ``thresholds``, the last two as dicts), with ``alert_id`` set where it is an alert
        already stored and missing where it is new. ``gone``: stored alerts not raised again;
        those nobody reviewed are deleted, the others kept inactive with their decision.
        """
        columns = ["rule", "video_id", "student_id", "window_start_s", "window_end_s",
                   "summary", "numbers", "thresholds"]
        batch = found[["alert_id", *columns]].copy()
        for column in ("numbers", "thresholds"):
            batch[column] = [json.dumps(value) for value in batch[column]]
        batch["alert_id"] = batch["alert_id"].astype("Int64")
        with self._transaction() as cur:
            cur.execute(
                "DELETE FROM alerts WHERE list_contains(?::INTEGER[], alert_id)"
                " AND status = 'open'",
                [list(gone)],
            )
            cur.execute(
                "UPDATE alerts SET active = false WHERE list_contains(?::INTEGER[], alert_id)",
                [list(gone)],
            )
            cur.register("found_alerts", batch)
            cur.execute(
                """
                UPDATE alerts SET window_start_s = f.window_start_s,
                    window_end_s = f.window_end_s, summary = f.summary, numbers = f.numbers,
                    thresholds = f.thresholds, active = true, checked_at = current_timestamp
                FROM found_alerts f WHERE alerts.alert_id = f.alert_id
                """
            )
            cur.execute(
                f"INSERT INTO alerts ({', '.join(columns)}) SELECT {', '.join(columns)}"
                " FROM found_alerts WHERE alert_id IS NULL"
                " ORDER BY video_id, student_id, window_start_s, rule"
            )
            cur.unregister("found_alerts")
            cur.execute("DELETE FROM alert_checks")
            cur.execute("INSERT INTO alert_checks VALUES (?, current_timestamp)", [inputs])

    def alerts(self, include_inactive: bool = False, alert_id: int | None = None) -> pd.DataFrame:
        """Stored alerts with their lesson's file name, group and date, newest lesson first;
        ``numbers`` and ``thresholds`` as dicts. Only those the latest check raised unless
        ``include_inactive``."""
        conditions, params = [], []
        if not include_inactive:
            conditions.append("a.active")
        if alert_id is not None:
            conditions.append("a.alert_id = ?")
            params.append(alert_id)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._cursor() as cur:
            frame = cur.execute(
                f"""
                SELECT a.*, v.file_name, v.class_group, v.recorded_on
                FROM alerts a LEFT JOIN videos v USING (video_id) {where}
                ORDER BY v.recorded_on DESC NULLS LAST, a.video_id DESC, a.student_id,
                    a.window_start_s, a.rule
                """,
                params,
            ).df()
        for column in ("numbers", "thresholds"):
            frame[column] = [json.loads(value) for value in frame[column]]
        return frame

    def alert(self, alert_id: int) -> dict[str, Any] | None:
        frame = self.alerts(include_inactive=True, alert_id=alert_id)
        return None if frame.empty else frame.iloc[0].to_dict()

    def review_alert(self, alert_id: int, status: str, note: str | None = None) -> None:
        """Record a person's decision: ``dismissed``, ``confirmed``, or ``open`` to undo one."""
        if status not in ALERT_STATUSES:
            raise ValueError(f"an alert's status is one of {', '.join(ALERT_STATUSES)}, not {status!r}")
        with self._transaction() as cur:
            row = cur.execute(
                """
                UPDATE alerts SET status = ?, review_note = ?,
                    reviewed_at = CASE WHEN ? = 'open' THEN NULL ELSE current_timestamp END
                WHERE alert_id = ? RETURNING alert_id
                """,
                [status, note, status, alert_id],
            ).fetchone()
        if row is None:
            raise KeyError(f"there is no alert {alert_id}")
