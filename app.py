"""Classroom mood — Analyse: upload a lesson video and turn it into a per-face emotion time series."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from emotion_core.pipeline import AnalysisSettings, analyse_video
from emotion_core.store import Store, default_db_path
from emotion_core.types import Progress
from emotion_core.uploads import VIDEO_SUFFIXES, save_upload
from emotion_core.video import VideoError

st.set_page_config(page_title="Classroom mood", layout="wide")


@st.cache_resource
def open_store() -> Store:
    return Store(default_db_path())


@st.cache_resource
def models(emotion_model: str):  # type: ignore[no-untyped-def]
    from emotion_core.models import load_detector, load_emotion_model

    return load_detector(), load_emotion_model(emotion_model)


st.title("Classroom mood")
st.caption(
    "Finds the faces in a lesson video and reads each face's expression as probabilities over "
    "seven classes. A facial expression is not an inner feeling, and the models were trained on "
    "adults: read the numbers as trends, never as a verdict about a child. Everything stays on "
    "this computer."
)

with st.form("analyse"):
    uploads = st.file_uploader(
        "Lesson videos", type=[s.lstrip(".") for s in VIDEO_SUFFIXES], accept_multiple_files=True
    )
    left, middle, right = st.columns(3)
    group = left.text_input("Class or group", placeholder="e.g. 7B")
    lesson_date = middle.date_input("Lesson date", value=date.today())
    sample_fps = right.slider("Frames analysed per second", 0.5, 10.0, 2.0, 0.5)
    submitted = st.form_submit_button("Analyse", type="primary")

if submitted and not uploads:
    st.info("Choose one or more video files first.")
elif submitted:
    store = open_store()
    with st.spinner("Loading the models (the first time takes a few seconds)…"):
        detector, emotion_model = models("auto")
    st.write(f"Emotion model: **{emotion_model.description}**")
    for upload in uploads:
        path = save_upload(upload.name, upload, Path("data") / "uploads")
        bar = st.progress(0.0, text=f"{upload.name}: starting…")

        def show(progress: Progress, name: str = upload.name, bar=bar) -> None:
            eta = f", about {progress.eta_s:.0f} s left" if progress.eta_s is not None else ""
            bar.progress(
                progress.fraction,
                text=f"{name}: {progress.frames_done}/{progress.frames_total} frames, "
                f"{progress.faces} faces{eta}",
            )

        try:
            result = analyse_video(
                path, store, detector, emotion_model, AnalysisSettings(sample_fps=sample_fps),
                class_group=group or None, recorded_on=lesson_date, on_progress=show,
            )
        except VideoError as exc:
            bar.empty()
            st.error(str(exc))
            continue
        bar.progress(1.0, text=f"{upload.name}: done")
        st.success(
            f"{result.file_name}: {result.faces} faces in {result.frames_sampled} frames, "
            f"{result.tracks} tracks, {result.seconds:.1f} s."
        )

st.subheader("Lessons analysed")
if not default_db_path().is_file():
    st.info("No lesson has been analysed yet. Upload a lesson video above and press Analyse.")
else:
    lessons = open_store().videos()
    if lessons.empty:
        st.info("No lesson has been analysed yet. Upload a lesson video above and press Analyse.")
    else:
        st.dataframe(
            lessons[["video_id", "file_name", "class_group", "recorded_on", "status",
                     "failure_reason", "duration_s", "faces", "tracks", "emotion_model"]],
            hide_index=True,
        )
