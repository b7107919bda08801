"""The Students page's possible duplicates: two students who may be one child, side by side,
merged when a person confirms it (``emotion_core.store.duplicates``)."""

from __future__ import annotations

import streamlit as st

import ui.changes
import ui.frame
from emotion_core.identity.thresholds import thresholds_for
from emotion_core.store.duplicates import PossibleDuplicate, possible_duplicates
from emotion_core.store.store import Store
from ui.data import student_names

SHOWN = 5  # pairs drawn at once; the next ones show as these are merged or the list is widened
EXPLAIN = (
    "Each pair below may be one child whom the app did not recognise on another day: their "
    "faces are close, though not close enough to be matched without a person, and they were "
    "never seen in the same frame. Look at both, and merge them only if they are the same "
    "child. The name you keep stays; the other student's lessons become theirs."
)


def suggest_under(model: str) -> float:
    return thresholds_for(model).suggest_merge


def possible_duplicates_section(store: Store, group: str | None) -> None:
    """Nothing when no pair is close enough; else an expander with the nearest pairs. Read
    afresh each time (a merge made on the command line shows at once)."""
    try:
        pairs = possible_duplicates(store, suggest_under, group)
    except ValueError as exc:  # a stored embedding model with no thresholds
        st.error(f"Possible duplicates cannot be looked for: {exc}")
        return
    if not pairs:
        return
    names = student_names(store)
    with st.expander(f"Possible duplicates ({len(pairs)})", expanded=True):
        st.caption(EXPLAIN)
        shown = st.number_input("Pairs shown", 1, len(pairs), min(SHOWN, len(pairs)),
                                key="duplicates_shown") if len(pairs) > SHOWN else len(pairs)
        for pair in pairs[:int(shown)]:
            _pair(store, pair, names)


def _pair(store: Store, pair: PossibleDuplicate, names: dict[int, str]) -> None:
    st.divider()
    limits = thresholds_for(pair.model)
    st.caption(f"Face distance {pair.distance:.3f} ({pair.model}: the same child is recognised "
               f"under {limits.across_lessons:g}, offered here under {limits.suggest_merge:g}).")
    ids = (pair.first_id, pair.second_id)
    key = f"{pair.first_id}_{pair.second_id}"
    sure = st.checkbox(
        f"Yes, {names[ids[0]]} and {names[ids[1]]} are the same child", key=f"dup_sure_{key}"
    )
    for column, keep, merged in zip(st.columns(2), ids, ids[::-1]):
        with column:
            _student(store, keep, names[keep])
            if st.button(f"Merge, keeping {names[keep]}", key=f"dup_keep_{key}_{keep}",
                         disabled=not sure):
                ui.changes.change_data(store.merge_students, keep, merged)


def _student(store: Store, student_id: int, name: str) -> None:
    """The thumbnail where one was kept, and when and where the student was seen."""
    st.markdown(f"**{ui.frame.plain(name)}**")
    held = store.student_thumbnail(student_id)
    if held is not None:
        st.image(held["jpeg"], width=96, caption=f"{name}, from {held['file_name']}")
    lessons = store.student_lessons(student_id)
    for lesson in lessons.itertuples():
        st.caption(
            f"{lesson.lesson_on:%d %b %Y}: {ui.frame.plain(str(lesson.file_name))}, "
            f"{ui.frame.minutes(lesson.first_seen_s)}–{ui.frame.minutes(lesson.last_seen_s)}"
            f" ({lesson.observations} faces)"
        )
    if lessons.empty:
        st.caption("Not seen in a lesson.")
