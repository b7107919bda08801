"""Analyse: upload lesson videos, watch them being analysed, see what the machine saw."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

import ui.changes
import ui.data
import ui.demo
import ui.frame
from emotion_core.analysis.jobs import (
    DONE,
    FAILED,
    QUEUED,
    Job,
    JobQueue,
    current_engine,
    use_engine,
)
from emotion_core.analysis.settings import EngineSettings
from emotion_core.core.paths import SAMPLE_VIDEO
from emotion_core.faces.choice import DEFAULT_DETECTOR, DETECTORS
from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.store import queries
from emotion_core.store.privacy import Removal
from emotion_core.store.settings import MAX_RETENTION_DAYS
from emotion_core.store.store import Store
from emotion_core.video.uploads import VIDEO_SUFFIXES

SAMPLE_GROUP = "Demo class"
RECENT_JOBS = 8  # shown on the page; older ones are in the lessons table


def show_job(queue: JobQueue, job: Job) -> None:
    name = ui.frame.plain(job.name)
    if job.status == DONE and job.result is not None:
        r = job.result
        st.success(
            f"**{name}**: done: {r.faces} faces in {r.frames_sampled} frames "
            f"({r.readable_faces} readable), {r.tracks} tracks, analysed in {r.seconds:.0f} s "
            f"with {r.emotion_model}."
        )
    elif job.status == FAILED:
        st.error(f"**{name}**: not analysed: {ui.frame.plain(job.error or '')}")
    elif job.status == QUEUED:
        ahead = queue.ahead_of(job.job_id)
        st.progress(0.0, text=f"{name}: waiting for {ahead} analysis(es) ahead of it")
    else:
        p = job.progress
        if p is None:
            st.progress(0.0, text=f"{name}: starting (the first time, loading the models)…")
        else:
            eta = f", about {ui.frame.minutes(p.eta_s)} left" if p.eta_s is not None else ""
            st.progress(
                p.fraction,
                text=f"{name}: {p.frames_done} of {p.frames_total} frames, "
                f"{p.faces} faces{eta}",
            )


def analyses_panel(queue: JobQueue) -> None:
    """The jobs of every session; refreshes itself while any is queued or running."""

    @st.fragment(run_every=1.0 if queue.active() else None)
    def panel() -> None:
        jobs = queue.jobs()[-RECENT_JOBS:]
        if jobs:
            st.subheader("Analyses")
        for job in reversed(jobs):
            show_job(queue, job)
        # a job finished since the page was drawn: redraw it all, so lessons and frames show it
        if st.session_state.get("jobs_finished_seen", queue.finished_count) != queue.finished_count:
            st.session_state["jobs_finished_seen"] = queue.finished_count
            st.rerun(scope="app")

    st.session_state["jobs_finished_seen"] = queue.finished_count
    panel()


def what_was_seen(store: Store, version: str, lessons: pd.DataFrame) -> None:
    """A few frames of a chosen lesson with the stored faces drawn on them."""
    lessons = lessons.assign(
        video=[ui.data.video_file(store, row) for _, row in lessons.iterrows()]
    )
    available = lessons[lessons["video"].notna()]
    st.subheader("What the machine saw")
    if available.empty:
        st.info(
            "The videos of these lessons are not among the uploads or the sample (lessons "
            "analysed from the command line stay where they were), so no frames can be shown."
        )
        return
    labels = {
        int(row.video_id): f"{row.file_name} ({row.class_group}, {row.lesson_date})"
        for row in available.itertuples()
    }
    # no key: when a new lesson lands the options change and the newest is shown first
    chosen = st.selectbox("Lesson", list(labels)[::-1], format_func=labels.__getitem__)
    video = available.set_index("video_id").loc[chosen, "video"]
    st.caption(
        "Boxes are the faces found, labelled with who it is (the student, or the track within "
        "the lesson) and the most likely expression with its probability; grey boxes are faces "
        "that could not be read. Frames are read again from the video; no frame is stored."
    )
    ui.frame.readable_faces(ui.data.readable_share(store, str(store.path), version, (chosen,)))
    frames = ui.data.annotated_frames(store, str(store.path), version, chosen, str(video))
    for column, (image, caption) in zip(st.columns(len(frames) or 1), frames):
        column.image(image, caption=caption, width="stretch")


def readability_inputs() -> ReadabilitySettings:
    """Which faces are read: the thresholds kept with each analysis (faces/readability.py)."""
    default = ReadabilitySettings()
    st.markdown("**Which faces are read**")
    st.caption(
        "A face too small, turned away or looking down carries no readable expression: it is "
        "counted and recognised but gets no reading. The defaults come from measurements "
        "(docs/app.md, *Readable faces*)."
    )
    left, middle, right = st.columns(3)
    min_face = left.number_input(
        "Smallest face read (px)", min_value=0, max_value=400, value=int(default.min_face_px),
        step=2, help="Face height in pixels of the video. The offline model reads about half of "
                     "the faces of 12-16 px right, and fewer below (docs/app.md).")
    yaw = middle.number_input(
        "Most turned to the side (°)", min_value=5, max_value=90,
        value=int(default.max_yaw_deg), step=5)
    pitch = right.number_input(
        "Most looking down (°)", min_value=5, max_value=90,
        value=int(default.max_pitch_deg), step=5,
        help="A face looking down at a desk or a book shows its forehead, not its expression.")
    return ReadabilitySettings(min_face_px=float(min_face), max_yaw_deg=float(yaw),
                               max_pitch_deg=float(pitch))


def engine_setting() -> None:
    """Where the queued analyses run: this computer, or a Ray cluster (README, "Analysing on a
    Ray cluster"). For this server process, until it restarts."""
    engine = current_engine()
    with st.expander("Where analyses run"):
        on_ray = st.radio(
            "Engine", ["This computer", "A Ray cluster"], index=int(engine.name == "ray"),
            horizontal=True, key="engine",
            help="On a Ray cluster every video queued together is analysed side by side on the "
                 "cluster's machines and written here; the results are the same.")
        address = st.text_input(
            "Cluster address", value=engine.ray_address or "", key="ray_address",
            placeholder="auto, or HOST:6379; empty starts a cluster on this computer")
        ship = st.checkbox(
            "Send the videos through Ray's object store (for machines that do not share this "
            "computer's storage)", value=engine.ship_videos, key="ship_videos")
        if st.button("Use this engine", key="use_engine"):
            use_engine(EngineSettings("ray" if on_ray == "A Ray cluster" else "local",
                                      address.strip() or None, ship))
            st.success("Analyses queued from now on run there.")


def removed(removal: Removal) -> str:
    lesson = removal.lessons[0]
    return (f"Deleted **{ui.frame.plain(lesson['file_name'])}** ({lesson['lesson_date']}): "
            f"{removal.describe().removeprefix('removed ')}.")


def purged(removal: Removal) -> str:
    if not removal.lessons:
        return "Retention period saved. No lesson is past it."
    return f"Retention period saved. {removal.describe().capitalize()} past it."


def retention_setting(store: Store) -> None:
    """Keep lessons until deleted, or purge them a number of days after their date."""
    days = store.retention_days()
    st.markdown("**How long lessons are kept**")
    purge = st.checkbox("Purge lessons after a retention period", value=days is not None,
                        key="retention_on")
    chosen = st.number_input(
        "Days a lesson is kept after its date", min_value=1, max_value=MAX_RETENTION_DAYS,
        value=days or 365, step=1, disabled=not purge, key="retention_days",
        help="Then its observations, face embeddings, thumbnails, alerts, the students seen in "
             "no other lesson and its stored video are removed, each time the app opens the "
             "database on a new day.",
    )
    wanted = int(chosen) if purge else None
    if st.button("Save retention period", disabled=wanted == days):
        ui.changes.change_data(ui.changes.save_retention, store, wanted, done=purged)


def delete_lesson(store: Store) -> None:
    """Pick a lesson, confirm, delete it with everything derived from it."""
    stored = store.stored_lessons()
    st.markdown("**Delete a lesson**")
    if stored.empty:
        st.write("No lesson is stored.")
        return
    labels = {
        int(r.video_id): f"{r.file_name} ({r.class_group or 'no class'}, {r.lesson_date}, "
                         f"{r.students} students, {r.observations} faces)"
        + (": being analysed" if r.status == "running" else "")
        for r in stored.itertuples()
    }
    chosen = st.selectbox("Lesson to delete", list(labels)[::-1],
                          format_func=labels.__getitem__, key="delete_lesson")
    st.caption("Removes the lesson's observations, face embeddings, thumbnails and alerts, the "
               "students seen in no other lesson, and its uploaded video. It cannot be undone.")
    name = stored.set_index("video_id").loc[chosen, "file_name"]
    sure = st.checkbox(f"Yes, delete {ui.frame.plain(name)} and everything derived from it",
                       key=f"delete_lesson_sure_{chosen}")
    if st.button("Delete lesson", type="primary", disabled=not sure, key="do_delete_lesson"):
        ui.changes.change_data(store.delete_lesson, chosen, done=removed)


def keeping_and_deleting(store: Store) -> None:
    removal = ui.data.daily_purge(str(store.path), date.today())
    with st.expander("Keeping and deleting lessons"):
        if removal.lessons:
            st.info(f"Today's purge {removal.describe()} past the retention period.")
        retention_setting(store)
        st.divider()
        delete_lesson(store)


st.title("Classroom mood")
ui.frame.demo_banner()
st.caption(
    "Finds the faces in a lesson video and reads each face's expression as probabilities over "
    "seven classes (angry, disgust, fear, happy, sad, surprise, neutral). " + ui.frame.CAVEAT
)
with st.container(border=True):
    st.markdown(ui.frame.WHAT_IT_INFERS)
    st.warning(ui.frame.LEGAL_NOTICE, icon=":material/gavel:")

queue = ui.data.open_queue()  # None until the first analysis creates the database
store = queue.store if queue is not None else None
version = queries.data_version(store) if store is not None else ""
lessons = ui.data.lessons(store, str(store.path), version) if store is not None else None

if queue is None or (lessons.empty and not queue.jobs()):
    st.info(
        "**No lesson has been analysed yet.** Upload one or more lesson videos below and press "
        "**Analyse**, or try the app first on a 30-second composed demo lesson (six faces from "
        "public-domain photos, not real pupils). **Open the demo term** shows every page at "
        "work on six weeks of a composed class, in a database of its own."
    )
    with st.container(horizontal=True):
        if st.button("Try the sample lesson", type="primary"):
            ui.changes.queue_jobs([(SAMPLE_VIDEO.name, None)], SAMPLE_GROUP, date.today(), 2.0)
            st.rerun()
        ui.demo.open_button()

with st.form("analyse", clear_on_submit=True):
    uploads = st.file_uploader(
        "Lesson videos", type=[s.lstrip(".") for s in VIDEO_SUFFIXES], accept_multiple_files=True
    )
    with_sample = st.checkbox(f"Also analyse the sample lesson (sample_videos/{SAMPLE_VIDEO.name})")
    left, middle, right = st.columns(3)
    group = left.text_input("Class or group", placeholder="e.g. 7B")
    lesson_date = middle.date_input("Lesson date", value=date.today())
    sample_fps = right.slider(
        "Frames analysed per second", 0.5, 10.0, 2.0, 0.5,
        help="More frames follow quick changes better and take longer to analyse.",
    )
    new_students = st.checkbox(
        "Add new students to the roster", value=True,
        help="Off: faces are recognised only as students already on the roster with "
             "identification on; anyone else is counted in the class figures anonymously and "
             "nothing that recognises them is kept. Use it for a class where not every "
             "child's consent was given.",
    )
    thumbnails = st.checkbox(
        "Keep a small face thumbnail per student", value=False,
        help="One 96-pixel picture of each student's face (never a frame), shown on the "
             "Students page; only for students whose identification is on. It is deleted with "
             "the student, when identification is turned off, and with the lesson.",
    )
    readability = readability_inputs()
    detector = st.radio(
        "Face detector", list(DETECTORS), index=list(DETECTORS).index(DEFAULT_DETECTOR),
        horizontal=True,
        help="MTCNN (the default) is the detector the emotion models and alert thresholds were "
             "tuned with; YuNet finds more of the small, turned and partly hidden faces of a "
             "real class, but its faces are read a little less well (docs/detection.md).",
    )
    submitted = st.form_submit_button("Analyse", type="primary")

if submitted:
    chosen = [(u.name, u) for u in uploads or []]
    if with_sample:
        chosen.append((SAMPLE_VIDEO.name, None))
    if not chosen:
        st.info("Choose one or more video files first (or tick the sample lesson).")
    else:
        ui.changes.queue_jobs(chosen, group, lesson_date, sample_fps, new_students, thumbnails,
                              readability, detector)
        st.rerun()

engine_setting()
ui.changes.show_change()
if queue is not None:
    analyses_panel(queue)

if store is not None:
    not_done = queries.unanalysed(store)
    failed = not_done[not_done["status"] == FAILED]
    if not failed.empty:
        with st.expander(f"Videos that could not be analysed ({len(failed)})"):
            st.dataframe(failed[["file_name", "class_group", "failure_reason"]], hide_index=True,
                         column_config={"file_name": "video", "class_group": "class",
                                        "failure_reason": "why"})

if lessons is not None and not lessons.empty:
    what_was_seen(store, version, lessons)
    st.subheader("Lessons analysed")
    st.dataframe(
        lessons[["file_name", "class_group", "lesson_date", "duration_s", "tracks",
                 "faces_per_frame", "observations", "readable_faces", "top_emotion",
                 "mood_index", "emotion_model"]],
        hide_index=True,
        column_config={
            "file_name": "video", "class_group": "class", "lesson_date": "date",
            "duration_s": st.column_config.NumberColumn("length (s)", format="%.0f"),
            "tracks": "face tracks",
            "faces_per_frame": st.column_config.NumberColumn("faces per frame", format="%.1f"),
            "observations": "faces seen", "readable_faces": "faces read",
            "top_emotion": "most common expression",
            "mood_index": st.column_config.NumberColumn(
                "mood index", format="%+.2f",
                help="mean probability of happy minus that of angry, disgust, fear and sad, "
                     "over the faces that could be read",
            ),
            "emotion_model": "emotion model",
        },
    )

if store is not None:
    keeping_and_deleting(store)
    if ui.demo.opened_demo() is None:
        with st.expander("A demo term: every page at work on a composed class"):
            st.caption("Six weeks of lessons of a made-up class, with an alert of each kind, in "
                       "a database of its own: your lessons stay as they are.")
            ui.demo.open_button(key="open_demo_later")
