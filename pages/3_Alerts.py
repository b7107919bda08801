"""Alerts: the students whose pattern suggests they may need help, and the evidence for each flag."""

from __future__ import annotations

import streamlit as st

import ui

st.title("Alerts")
st.caption(
    "A flag is a prompt to look, never a finding about a child: each one shows the rule and the "
    "numbers that raised it. " + ui.CAVEAT
)

store = ui.open_store()
if store is None:
    st.info(f"**No lesson has been analysed yet.** {ui.GO_ANALYSE}")
    st.stop()
st.info(
    "**No alerts.** Alert rules come with a later version of the app; once they are in, the "
    "students they flag appear here with the evidence for each flag."
)
