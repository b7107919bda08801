"""What the pages change: lessons queued for analysis, corrections, deletions, settings and
decisions on alerts, each followed by a redraw that shows it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import streamlit as st

from emotion_core.analysis.settings import AnalysisSettings
from emotion_core.core.paths import SAMPLE_VIDEO, upload_dir
from emotion_core.faces.choice import DEFAULT_DETECTOR, detector_settings
from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.store.privacy import Removal
from emotion_core.store.store import Store
from emotion_core.video.uploads import save_upload
from ui import data


def queue_jobs(videos: list[tuple[str, object]], group: str, lesson_date: date, fps: float,
               new_students: bool = True, thumbnails: bool = False,
               readability: ReadabilitySettings | None = None,
               detector: str = DEFAULT_DETECTOR) -> None:
    """Save the uploads (``(name, file)``; a file of None is the sample) and queue them, to be
    analysed with the face detector called ``detector`` (faces/choice.py)."""
    path = data.db_path()
    queue = data.job_queue(str(path))
    settings = AnalysisSettings(
        sample_fps=fps, identify_new_students=new_students, store_thumbnails=thumbnails,
        readability=readability or ReadabilitySettings(), detector=detector_settings(detector),
    )
    for name, file in videos:
        video = SAMPLE_VIDEO if file is None else save_upload(name, file, upload_dir(path))
        queue.submit(
            video, name=name, class_group=group or None, recorded_on=lesson_date,
            settings=settings,
        )


def change_data(change: Callable[..., Any], *args: Any,
                done: Callable[[Any], str] | None = None) -> None:
    """Apply one change to the stored data (a correction, a deletion, a setting), then drop
    every cached result and redraw, showing ``done(result)`` once on the redrawn page.

    A change that is refused (``RosterError``, ``LessonError``, ``SettingsError``: all
    ``ValueError``) is shown, not raised.
    """
    try:
        result = change(*args)
    except ValueError as exc:
        st.error(str(exc))
        return
    if done is not None:
        st.session_state["data_changed"] = done(result)
    st.cache_data.clear()  # renames and merges change no lesson count: the version cannot tell
    st.rerun()


def show_change() -> None:
    """The message of the latest ``change_data``, once."""
    message = st.session_state.pop("data_changed", None)
    if message:
        st.success(message)


def save_retention(store: Store, days: int | None) -> Removal:
    """Keep lessons ``days`` after their date (None: until deleted), and purge at once what is
    past it now."""
    store.set_setting("retention_days", days)
    return store.purge_expired()


def review_alert(store: Store, alert_id: int, decision: str, note: str | None) -> None:
    """Record a person's decision on an alert (``dismissed``, ``confirmed``, or ``open`` to undo
    one) and redraw."""
    store.review_alert(alert_id, decision, note)
    st.rerun()
