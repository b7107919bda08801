"""Classroom mood: the Streamlit entry point, a thin router over the pages in pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# written with the alert rules (issue 5); the app runs without it until those land
ALERTS_PAGE = Path(__file__).resolve().parent / "pages" / "3_Alerts.py"

st.set_page_config(page_title="Classroom mood", layout="wide")
pages = [
    st.Page("pages/0_Analyse.py", title="Analyse", icon=":material/video_library:", default=True),
    st.Page("pages/1_Class_overview.py", title="Class overview", icon=":material/area_chart:"),
    st.Page("pages/2_Students.py", title="Students", icon=":material/group:"),
]
if ALERTS_PAGE.is_file():
    pages.append(st.Page("pages/3_Alerts.py", title="Alerts", icon=":material/flag:"))
pages.append(st.Page("pages/4_Evaluate.py", title="Evaluate", icon=":material/fact_check:"))
st.navigation(pages).run()
