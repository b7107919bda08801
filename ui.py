"""What the Streamlit pages share: the database and job queue, cached queries, colours, wording.

Pages call ``emotion_core`` through here and draw; nothing here holds SQL or model code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit.errors import Error as StreamlitError

from emotion_core import queries
from emotion_core.analysis.annotate import EMOTION_COLOURS, annotated_lesson_frames
from emotion_core.analysis.jobs import JobQueue, queue_for
from emotion_core.cli.access import Access, configured_password, decide, password_matches
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.paths import SAMPLE_DIR, upload_dir
from emotion_core.store.privacy import Removal
from emotion_core.store.store import Store, StoreError, default_db_path
from emotion_core.video.uploads import find_stored_video

CAVEAT = (
    "A facial expression is not an inner feeling, and the models were trained on adults: read "
    "the numbers as trends, never as a verdict about a child. Everything stays on this computer."
)
GO_ANALYSE = (
    "Open **Analyse** in the sidebar and upload a lesson video, or press **Try the sample "
    "lesson** there to see the app with a short composed demo."
)
EMOTION_SCALE = alt.Scale(
    domain=list(EMOTIONS), range=["#{:02x}{:02x}{:02x}".format(*c) for c in EMOTION_COLOURS]
)


# What the app infers and what it does not, and the law a school must check: shown on the first
# page and in the README.
WHAT_IT_INFERS = (
    "**What this app infers, and what it does not.** It finds faces in lesson videos, tells "
    "the students apart under pseudonyms, and reads each face's *expression* as probabilities "
    "over seven classes (angry, disgust, fear, happy, sad, surprise, neutral). It does **not** "
    "read feelings, thoughts, attention, personality or health: an expression is not an inner "
    "state, the models were trained on adults and are less accurate on children, and a flag "
    "is a prompt for a person to look, never a finding about a child."
)
LEGAL_NOTICE = (
    "**Check your legal basis before using it with pupils.** In the European Union the AI Act "
    "(Regulation (EU) 2024/1689, Article 5(1)(f)) prohibits AI systems that infer the emotions "
    "of a natural person in education institutions, except where the system is intended for "
    "medical or safety reasons. Whoever deploys this app must establish that their use is "
    "lawful where they are (and have a basis under data-protection law for processing "
    "children's biometric data) before analysing any lesson."
)
SIGNED_IN = "signed_in"


def require_access() -> None:
    """Let the session in, ask for the password, or refuse (``emotion_core.cli.access``); stops the
    script unless the session may see the app."""
    try:
        secrets = dict(st.secrets)
    except FileNotFoundError:  # no secrets file: Streamlit's own kind of FileNotFoundError
        secrets = {}
    except StreamlitError as exc:  # a secrets file that cannot be read: fail closed
        st.error(f"The app's secrets (.streamlit/secrets.toml) cannot be read: {exc}")
        st.stop()
    password = configured_password(secrets)
    decision = decide(st.get_option("server.address"), password)
    if decision.access is Access.OPEN or st.session_state.get(SIGNED_IN):
        if decision.access is Access.PASSWORD and st.sidebar.button("Sign out"):
            st.session_state[SIGNED_IN] = False
            st.rerun()
        return
    st.title("Classroom mood")
    if decision.access is Access.REFUSED:
        st.error(f"**Not served on this address.** {decision.reason}")
        st.stop()
    with st.form("sign_in"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if password is not None and password_matches(given, password):
            st.session_state[SIGNED_IN] = True
            st.rerun()
        time.sleep(1.0)  # a wrong guess costs a second
        st.error("That is not the password.")
    st.stop()


_MARKDOWN_SPECIAL = "\\`*_[]$<>~|"


def plain(text: str) -> str:
    """``text`` shown as it is where Streamlit reads Markdown (a file name like ``a*b*.mp4``
    or ``$x$.mp4`` would otherwise turn into emphasis or a formula)."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in text)


def db_path() -> Path:
    return default_db_path()


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


@st.cache_data(show_spinner=False, max_entries=8)
def annotated_frames(
    _store: Store, path: str, version: str, video_id: int, video_path: str
) -> list[tuple[np.ndarray, str]]:
    return annotated_lesson_frames(_store, video_id, video_path)


def video_file(store: Store, lesson: pd.Series) -> Path | None:
    """The lesson's video on this disk (an upload or the sample), or None."""
    folders = (upload_dir(store.path), SAMPLE_DIR)
    return find_stored_video(str(lesson["file_name"]), int(lesson["size_bytes"]), folders)


# Charts fill the page's width, their axes and legend included; the height is the plot's own.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


MINUTES_SECONDS = (
    "floor(datum.value / 60) + ':' + (datum.value % 60 < 10 ? '0' : '') + floor(datum.value % 60)"
)


def timeline_chart(timeline: pd.DataFrame, title: str) -> alt.VConcatChart:
    """Stacked shares of ``queries.emotion_timeline`` over lesson time, hover for the numbers;
    brushing the small chart below zooms the large one."""
    data = timeline.assign(
        middle_s=(timeline["bin_start_s"] + timeline["bin_end_s"]) / 2,
        window=[f"{minutes(a)}–{minutes(b)}"
                for a, b in zip(timeline["bin_start_s"], timeline["bin_end_s"])],
        emotion=timeline["emotion"].astype(str),
        order=timeline["emotion"].cat.codes,
    )
    brush = alt.selection_interval(encodings=["x"], name="time")
    colour = alt.Color(
        "emotion:N", scale=EMOTION_SCALE, sort=list(EMOTIONS), title="expression",
        legend=alt.Legend(orient="top"),
    )
    share = alt.Y("share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share of faces")
    tooltip = [
        alt.Tooltip("window:N", title="lesson time"),
        alt.Tooltip("emotion:N", title="expression"),
        alt.Tooltip("share:Q", title="share", format=".1%"),
        alt.Tooltip("observations:Q", title="faces seen in this window"),
        alt.Tooltip("lessons:Q", title="lessons"),
    ]
    # lesson time in seconds, labelled m:ss
    axis = alt.Axis(labelExpr=MINUTES_SECONDS, title="time into the lesson (min:s)")
    zoomed = alt.X("middle_s:Q", axis=axis, scale=alt.Scale(domain=brush, nice=False, zero=False))
    area = alt.Chart(data).mark_area(clip=True).encode(
        x=zoomed, y=share, color=colour, order="order:Q"
    )
    # invisible bars over the area, one per window and expression, carry the exact numbers
    bars = alt.Chart(data).mark_bar(opacity=0, clip=True).encode(
        x=alt.X("bin_start_s:Q", scale=alt.Scale(domain=brush, nice=False, zero=False)),
        x2="bin_end_s:Q", y=share, color=colour, order="order:Q", tooltip=tooltip,
    )
    detail = (area + bars).properties(
        width="container", height=320, title=title
    )
    overview = (
        alt.Chart(data)
        .mark_area()
        .encode(
            x=alt.X(
                "middle_s:Q", scale=alt.Scale(nice=False, zero=False),
                axis=alt.Axis(labelExpr=MINUTES_SECONDS,
                              title="drag across this strip to zoom into a stretch of the lesson"),
            ),
            y=alt.Y("share:Q", stack="normalize", axis=None), color=colour, order="order:Q",
        )
        .add_params(brush)
        .properties(width="container", height=60)
    )
    return alt.vconcat(detail, overview).properties(autosize=FIT_WIDTH)
