"""Classroom mood: the Streamlit entry point, a thin router over the pages in pages/."""

from __future__ import annotations

import streamlit as st

import ui.frame

st.set_page_config(page_title="Classroom mood", layout="wide")
ui.frame.require_access()  # before any page: a password beyond localhost, or no app at all
pages = [
    st.Page("pages/0_Analyse.py", title="Analyse", icon=":material/video_library:", default=True),
    st.Page("pages/1_Class_overview.py", title="Class overview", icon=":material/area_chart:"),
    st.Page("pages/2_Students.py", title="Students", icon=":material/group:"),
    st.Page("pages/3_Alerts.py", title="Alerts", icon=":material/flag:"),
    st.Page("pages/4_Evaluate.py", title="Evaluate", icon=":material/fact_check:"),
]
st.navigation(pages).run()
