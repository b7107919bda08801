"""Students: the roster under pseudonymous names, each one's expressions against the class."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui.changes
import ui.charts
import ui.data
import ui.duplicates
import ui.frame
from emotion_core.core.labels import EMOTIONS
from emotion_core.identity.thresholds import SMALLEST_IDENTIFIED_PX
from emotion_core.store import queries

st.title("Students")
ui.frame.demo_banner()
st.caption(
    "Each student appears under a pseudonymous name (\"Student 7\") that you can change. "
    + ui.frame.CAVEAT
)
ALL_CLASSES = "all classes"
TURN_OFF = (
    "Turning identification off for **{name}** deletes their face embeddings and thumbnail and "
    "the alerts about them, at once and for good. Their faces stay in the class figures, "
    "anonymously: no lesson will show them as {name} again, not even the past ones. The "
    "register keeps their name, marked off, so you can see it was done. With no embedding kept "
    "the app cannot recognise {name}: a later lesson analysed with *Add new students to the "
    "roster* on makes them a new pseudonymous student (turn that off, or identification as a "
    "whole, for a class whose consent is not collected)."
)
TURN_ON = (
    "Turning identification on again for **{name}** only affects lessons analysed from now on; "
    "nothing deleted comes back. No embedding of them is kept, so the next lesson analysed with "
    "*Add new students to the roster* on makes them a new pseudonymous student: merge that "
    "student into {name} here to keep one record."
)


def corrections(store, student: pd.Series, roster: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """Rename, merge, split off a track, delete: each asks for confirmation first."""
    sid, name = int(student["student_id"]), str(student["display_name"])
    rename, merge, split, delete = st.tabs(["Rename", "Merge", "Split off a sighting", "Delete"])
    roster = roster[roster["identification"].astype(bool)]  # the others cannot be merged
    with rename:
        new_name = st.text_input("New name", value=name, key=f"rename_{sid}")
        if st.button("Rename", key=f"do_rename_{sid}"):
            ui.changes.change_data(store.rename_student, sid, new_name)
    with merge:
        others = roster[roster["student_id"] != sid]
        if not student["identification"]:
            st.write(f"Identification is off for {name}: turn it on before merging.")
        elif others.empty:
            st.write("There is no other student (with identification on) to merge with.")
        else:
            labels = dict(zip(others["student_id"].astype(int), others["display_name"]))
            other = st.selectbox("The same person as", list(labels),
                                 format_func=labels.__getitem__, key=f"merge_with_{sid}")
            sure = st.checkbox(f"Yes, {labels[other]} is {name}: make them one student",
                               key=f"merge_sure_{sid}")
            if st.button("Merge", key=f"do_merge_{sid}", disabled=not sure):
                ui.changes.change_data(store.merge_students, sid, other)
    with split:
        tracks = store.student_tracks(sid)
        labels = {
            (int(r.video_id), int(r.track_id)):
                f"{r.file_name}, {r.first_seen_s:.0f}–{r.last_seen_s:.0f} s (track {r.track_id})"
            for r in tracks.itertuples()
        }
        st.caption("A sighting that is someone else becomes a new student, who can then be "
                   "merged with the right one.")
        chosen = st.selectbox("Sighting", list(labels), format_func=labels.__getitem__,
                              key=f"split_{sid}")
        if st.button("Split off", key=f"do_split_{sid}", disabled=len(labels) < 2):
            ui.changes.change_data(store.split_track, *chosen)
    with delete:
        st.caption("Removes the student with everything stored about them: every observation, "
                   "face embedding, thumbnail and alert, and their row in the consent register. "
                   "It cannot be undone.")
        sure = st.checkbox(f"Yes, delete {name} and all their data", key=f"delete_sure_{sid}")
        if st.button("Delete", key=f"do_delete_{sid}", type="primary", disabled=not sure):
            ui.changes.change_data(store.delete_student, sid)


def consent(store, student: pd.Series) -> None:  # type: ignore[no-untyped-def]
    """The student's line in the consent register: a toggle, and a confirmation that says what
    changing it does before anything changes."""
    sid, name = int(student["student_id"]), str(student["display_name"])
    on = bool(student["identification"])
    changed_at, note = student["identification_changed_at"], student["identification_note"]
    if not pd.isna(changed_at):
        said = f" ({note})" if isinstance(note, str) and note else ""
        st.caption(f"Identification turned {'on' if on else 'off'} on {changed_at:%d %b %Y}{said}.")
    wanted = st.toggle(
        "Identification", value=on, key=f"identification_{sid}",
        help="Whether this student may be recognised and followed across lessons.",
    )
    if wanted == on:
        return
    st.warning((TURN_ON if wanted else TURN_OFF).format(name=name))
    why = st.text_input("Note for the register (who asked, when)", key=f"consent_note_{sid}")
    sure = st.checkbox("I have read what this does", key=f"consent_sure_{sid}")
    label = f"Turn identification {'on' if wanted else 'off'} for {name}"
    if st.button(label, key=f"do_consent_{sid}", type="primary", disabled=not sure):
        ui.changes.change_data(store.set_identification, sid, wanted, why)


def thumbnail(store, student: pd.Series) -> None:  # type: ignore[no-untyped-def]
    held = store.student_thumbnail(int(student["student_id"]))
    if held is not None:
        st.image(held["jpeg"], width=96, caption=(
            f"{student['display_name']}, from {held['file_name']} at "
            f"{ui.frame.minutes(held['observed_at_s'] or 0.0)}"
        ))


store = ui.data.open_store()
if store is None:
    st.info(f"**No lesson has been analysed yet.** {ui.frame.GO_ANALYSE}")
    st.stop()

path, version = str(store.path), queries.data_version(store)
groups = [g for g in ui.data.class_groups(store, path, version) if g != queries.NO_GROUP]
group = st.selectbox("Class", [ALL_CLASSES, *groups])
roster = ui.data.roster(store, path, version, None if group == ALL_CLASSES else group)
if roster.empty:
    st.info(
        "**No students are known yet.** Students appear here once a lesson has been analysed "
        f"with identification on, from faces at least {SMALLEST_IDENTIFIED_PX:g} px high: "
        "smaller faces are counted and "
        "read in the class's figures but are too small to tell children apart, so they belong "
        f"to no student. {ui.frame.GO_ANALYSE}"
    )
    st.stop()

st.dataframe(
    roster[["display_name", "class_group", "identification", "lessons", "seconds_seen",
            "first_seen_on", "last_seen_on", "mood_index", *EMOTIONS]],
    hide_index=True,
    column_config={
        "display_name": "student", "class_group": "class",
        "identification": st.column_config.CheckboxColumn(
            "identification", help="the consent register: off, nothing that recognises the "
            "student is kept and their faces count in the class figures anonymously"),
        "seconds_seen": st.column_config.NumberColumn("seen for (s)", format="%.0f"),
        "first_seen_on": st.column_config.DateColumn("first seen"),
        "last_seen_on": st.column_config.DateColumn("last seen"),
        "mood_index": st.column_config.NumberColumn("mood index", format="%+.2f"),
    } | {
        e: st.column_config.ProgressColumn(e, format="percent", min_value=0.0, max_value=1.0)
        for e in EMOTIONS
    },
)
ui.duplicates.possible_duplicates_section(store, None if group == ALL_CLASSES else group)

names = dict(zip(roster["student_id"].astype(int), roster["display_name"]))
chosen = st.selectbox("Student", list(names), format_func=names.__getitem__)
student = roster.set_index("student_id").loc[chosen].copy()
student["student_id"] = chosen
st.subheader(str(student["display_name"]))
thumbnail(store, student)
if student["lessons"]:
    ui.frame.readable_faces(ui.data.readable_share(store, path, version, None, chosen))
st.download_button(
    f"Download everything stored about {student['display_name']}",
    data=lambda: store.student_export_bytes(chosen), file_name=f"student_{chosen}.zip",
    mime="application/zip", on_click="ignore", key=f"export_{chosen}",
    help="A subject access export: one zip with the student's row, every observation of them "
         "with its lesson, the alerts about them with what was decided, and their face "
         "embeddings. The embeddings can recognise the child: keep the file safe.",
)
consent(store, student)
if not student["identification"]:
    st.info(
        f"Identification is off for {student['display_name']}: nothing that recognises them is "
        "kept, and their faces count in the class figures anonymously."
    )
elif not student["lessons"]:
    st.info(f"{student['display_name']} has not been seen in a lesson since identification was "
            "turned on again.")
if not student["identification"] or not student["lessons"]:
    with st.expander("Correct who is who"):
        corrections(store, student, roster)
    st.stop()

left, right = st.columns(2)
profile = ui.data.student_profile(store, path, version, chosen)
left.altair_chart(ui.charts.profile_chart(profile), width="stretch")
moods = ui.data.student_lesson_moods(store, path, version, chosen)
right.altair_chart(ui.charts.lessons_chart(moods, str(student["display_name"])), width="stretch")

lesson_names = {int(r.video_id): f"{r.lesson_date}: {r.file_name}" for r in moods.itertuples()}
lesson = st.selectbox("Lesson", list(lesson_names)[::-1], format_func=lesson_names.__getitem__)
lessons = ui.data.lessons(store, path, version)
duration = float(lessons.set_index("video_id").loc[lesson, "duration_s"])
timeline = ui.data.emotion_timeline(store, path, version, (lesson,),
                                    queries.bin_seconds(duration), chosen)
st.altair_chart(ui.charts.timeline_chart(timeline, "Within the lesson"), width="stretch")

with st.expander("Correct who is who"):
    corrections(store, student, roster)
