"""Class overview: how a class's expressions were spread over lesson time and over lessons."""

from __future__ import annotations

import streamlit as st

import ui.charts
import ui.data
import ui.frame
from emotion_core.core.labels import EMOTIONS
from emotion_core.store import queries

st.title("Class overview")
ui.frame.demo_banner()
st.caption(
    "The share of each expression among the faces that could be read, over lesson time and "
    "from lesson to lesson. " + ui.frame.CAVEAT
)


store = ui.data.open_store()
if store is None:
    st.info(f"**No lesson has been analysed yet.** {ui.frame.GO_ANALYSE}")
    st.stop()
path, version = str(store.path), queries.data_version(store)
groups = ui.data.class_groups(store, path, version)
if not groups:
    st.info(f"**No analysis has finished yet.** {ui.frame.GO_ANALYSE}")
    st.stop()

left, right = st.columns(2)
group = left.selectbox("Class", groups)
of_group = ui.data.lessons(store, path, version, group)
first, last = of_group["lesson_date"].min(), of_group["lesson_date"].max()
picked = right.date_input("Lessons from … to", value=(first, last))
start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (first, last)
lessons = ui.data.lessons(store, path, version, group, start, end)
if lessons.empty:
    st.info("No lesson of this class falls in these dates: widen the date range.")
    st.stop()

st.subheader("Over lesson time")
everything = f"all {len(lessons)} lessons together" if len(lessons) > 1 else "the one lesson"
choices = {0: everything} | {
    int(r.video_id): f"{r.lesson_date}: {r.file_name}" for r in lessons.itertuples()
}
shown = st.selectbox("Lesson", list(choices), format_func=choices.__getitem__)
video_ids = tuple(int(v) for v in lessons["video_id"]) if shown == 0 else (shown,)
ui.frame.readable_faces(ui.data.readable_share(store, path, version, video_ids))
duration = float(lessons.set_index("video_id").loc[list(video_ids), "duration_s"].max())
bin_s = queries.bin_seconds(duration)
timeline = ui.data.emotion_timeline(store, path, version, video_ids, bin_s)
if timeline.empty:
    st.info("No face that could be read was found in these lessons, so there is nothing to "
            "show over time.")
else:
    st.altair_chart(ui.charts.timeline_chart(timeline, "Expressions over lesson time"),
                    width="stretch")
    st.caption(
        f"Each band is the mean probability of one expression over every readable face seen in "
        f"a {bin_s:.0f}-second window; hover for the exact numbers."
    )

st.subheader("Lesson by lesson")
st.dataframe(
    lessons[["lesson_date", "file_name", "duration_s", "faces_per_frame", "observations",
             "readable_faces", "top_emotion", "mood_index", *EMOTIONS]],
    hide_index=True,
    column_config={
        "lesson_date": "date", "file_name": "video",
        "duration_s": st.column_config.NumberColumn("length (s)", format="%.0f"),
        "faces_per_frame": st.column_config.NumberColumn("faces per frame", format="%.1f"),
        "observations": "faces seen", "readable_faces": "faces read",
        "top_emotion": "most common expression",
        "mood_index": st.column_config.NumberColumn("mood index", format="%+.2f"),
    } | {
        e: st.column_config.ProgressColumn(e, format="percent", min_value=0.0, max_value=1.0)
        for e in EMOTIONS
    },
)
st.altair_chart(ui.charts.index_chart(lessons), width="stretch")
st.caption(
    "Mood index: the mean probability of *happy* minus that of *angry, disgust, fear* and *sad* "
    "over the readable faces of a lesson, from -1 to +1."
)
