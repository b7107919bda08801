"""What the pages read: the server's one database and job queue, and cached query results and
models over ``emotion_core``; nothing here holds SQL or model code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from emotion_core.alerts.checks import check_alerts
from emotion_core.analysis.annotate import annotated_lesson_frames
from emotion_core.analysis.jobs import JobQueue, queue_for
from emotion_core.analysis.models import load_detector, load_emotion_model
from emotion_core.analysis.readable_share import ReadableShare
from emotion_core.analysis.readable_share import readable_share as share_of_store
from emotion_core.core.paths import SAMPLE_DIR, upload_dir
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.detector import FaceDetector
from emotion_core.store import queries
from emotion_core.store.privacy import Removal
from emotion_core.store.store import Store, StoreError, default_db_path
from emotion_core.video.uploads import find_stored_video
from ui.demo import opened_demo


def db_path() -> Path:
    """The database this session reads: the demo term while it is open (ui/demo.py), else
    the user's own."""
    return opened_demo() or default_db_path()


@st.cache_resource(show_spinner=False)
def job_queue(path: str) -> JobQueue:
    """The server's one queue (and ``Store``) for the database at ``path``, shared by sessions."""
    return queue_for(path)


def open_queue() -> JobQueue | None:
    """The job queue and its database, or None when nothing has been analysed yet (looking
    creates no file)."""
    path = db_path()
    if not path.is_file():
        return None
    try:
        queue = job_queue(str(path))
        daily_purge(str(path), date.today())
    except StoreError as exc:
        st.error(str(exc))
        st.stop()
    return queue


@st.cache_resource(show_spinner=False, max_entries=4)
def daily_purge(path: str, today: date) -> Removal:
    """Purge the lessons past the retention period (``Store.purge_expired``) the first time a
    page opens the database on ``today``; what it removed is kept for the Analyse page."""
    removal = job_queue(path).store.purge_expired(today)
    if removal.lessons:
        st.cache_data.clear()
    return removal


def open_store() -> Store | None:
    """The database, or None when nothing has been analysed yet."""
    queue = open_queue()
    return queue.store if queue is not None else None


# Query results, cached per database and data version (the underscore keeps the Store unhashed).
@st.cache_data(show_spinner=False, max_entries=64)
def lessons(
    _store: Store, path: str, version: str, group: str | None = None,
    start: date | None = None, end: date | None = None,
) -> pd.DataFrame:
    return queries.lessons(_store, group, start, end)


@st.cache_data(show_spinner=False, max_entries=16)
def class_groups(_store: Store, path: str, version: str) -> list[str]:
    return queries.class_groups(_store)


@st.cache_data(show_spinner=False, max_entries=64)
def emotion_timeline(
    _store: Store, path: str, version: str, video_ids: tuple[int, ...], bin_s: float,
    student_id: int | None = None,
) -> pd.DataFrame:
    return queries.emotion_timeline(_store, video_ids, bin_s, student_id)


@st.cache_data(show_spinner=False, max_entries=64)
def readable_share(
    _store: Store, path: str, version: str, video_ids: tuple[int, ...] | None = None,
    student_id: int | None = None,
) -> ReadableShare:
    """How many faces of these lessons (all, by default; one student's) could be read."""
    return share_of_store(_store, video_ids, student_id)


@st.cache_data(show_spinner=False, max_entries=16)
def roster(_store: Store, path: str, version: str, group: str | None) -> pd.DataFrame:
    """The students (``Store.students``) with their expression profile and mood index."""
    profiles = queries.student_profiles(_store).drop(columns="observations")
    return _store.students(group).merge(profiles, on="student_id", how="left")


@st.cache_data(show_spinner=False, max_entries=64)
def student_profile(_store: Store, path: str, version: str, student_id: int) -> pd.DataFrame:
    return queries.profile_against_class(_store, student_id)


@st.cache_data(show_spinner=False, max_entries=64)
def student_lesson_moods(_store: Store, path: str, version: str, student_id: int) -> pd.DataFrame:
    return queries.student_lesson_moods(_store, student_id)


@st.cache_data(show_spinner=False, max_entries=8)
def annotated_frames(
    _store: Store, path: str, version: str, video_id: int, video_path: str
) -> list[tuple[np.ndarray, str]]:
    return annotated_lesson_frames(_store, video_id, video_path)


@st.cache_data(ttl=60, show_spinner="Checking the lessons for alerts…")
def checked_alerts(path: str, version: str) -> str:
    """Check the alerts at most once a minute, and at once when a lesson lands (``version``):
    a check that finds nothing changed still reads a fingerprint of every observation."""
    store = open_store()
    return check_alerts(store).describe() if store is not None else ""


@st.cache_resource
def detector_and_model(emotion_model: str) -> tuple[FaceDetector, EmotionModel]:
    """The face detector and the emotion model ``emotion_model``, loaded once per server."""
    return load_detector(), load_emotion_model(emotion_model)


# Read as they are each time: what another process (the command line) changes shows at once.
def video_file(store: Store, lesson: pd.Series) -> Path | None:
    """The lesson's video on this disk (an upload or the sample), or None."""
    folders = (upload_dir(store.path), SAMPLE_DIR)
    return find_stored_video(str(lesson["file_name"]), int(lesson["size_bytes"]), folders)


def student_names(store: Store) -> dict[int, str]:
    """Each student's name on the roster (renamed there or not), by ``student_id``."""
    roster = store.students()
    return dict(zip(roster["student_id"].astype(int), roster["display_name"]))
