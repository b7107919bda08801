"""Students: the roster under pseudonymous names, each one's expressions against the class."""

from __future__ import annotations

import streamlit as st

import ui

st.title("Students")
st.caption(
    "Each student appears under a pseudonymous name (\"Student 7\") that you can change. "
    + ui.CAVEAT
)

store = ui.open_store()
if store is None:
    st.info(f"**No lesson has been analysed yet.** {ui.GO_ANALYSE}")
    st.stop()
st.info(
    "**No students are known yet.** This version follows each face within a lesson (a *track*) "
    "but does not yet recognise the same student across lessons, so there is no roster to "
    "show. The **Class overview** shows the class as a whole meanwhile."
)
