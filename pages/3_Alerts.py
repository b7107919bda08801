"""Alerts: the students whose pattern suggests they may need help, and the evidence for each flag."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui.changes
import ui.charts
import ui.data
import ui.frame
from emotion_core.alerts.checks import alert_evidence, current_alerts
from emotion_core.alerts.rules import BALANCE_WORDS, RULES, clock
from emotion_core.store import queries

st.set_page_config(page_title="Alerts · Classroom mood", layout="wide")


def student_name(student_id: int) -> str:
    """The student's name on the roster (renamed there or not), as on the Students page."""
    return NAMES.get(int(student_id), f"Student {student_id}")


def alert_label(alert: pd.Series) -> str:
    return (f"#{alert['alert_id']} · {student_name(alert['student_id'])} · {alert['title']} · "
            f"{alert['file_name']} {clock(alert['window_start_s'])}–"
            f"{clock(alert['window_end_s'])} · {alert['status']}")


st.title("Alerts")
ui.frame.demo_banner()
st.caption(
    "A flag is a prompt to look, never a finding about a child: each one shows the rule and the "
    "numbers that raised it. A facial expression is not an inner feeling, and the models were "
    "trained on adults. Dismiss what you know to be harmless: it stays dismissed when the lesson "
    "is analysed again."
)

store = ui.data.open_store()  # the server's one database connection, shared with the other pages
if store is None:
    st.info("**No lesson has been analysed yet.** Analyse a lesson video first; the students "
            "the alert rules flag then appear here with the evidence for each flag.")
    st.stop()

version = queries.data_version(store)
ui.data.checked_alerts(str(store.path), version)
ui.frame.readable_faces(ui.data.readable_share(store, str(store.path), version))
NAMES = ui.data.student_names(store)
settings = store.alert_settings()  # the thresholds kept in the database
show_dismissed = st.toggle("Show dismissed alerts")
alerts = current_alerts(store, include_dismissed=show_dismissed)

with st.expander("How students are flagged"):
    st.markdown(BALANCE_WORDS)
    for rule in RULES.values():
        st.markdown(f"**{rule.title}.** {rule.explain(settings)}")
    st.caption(
        "These are the thresholds kept in this database. Change one with `python -m "
        "emotion_core alerts --set RULE.THRESHOLD=VALUE` (`--rules` lists them, "
        "`--reset-thresholds` returns to the defaults); why the defaults are what they are: "
        "docs/alerts.md."
    )

if alerts.empty:
    st.success("**No alerts.** No student's readings matched any of the rules below in the "
               "lessons analysed so far.")
    st.stop()

table = alerts.assign(
    student=alerts["student_id"].map(student_name),
    recorded_on=pd.to_datetime(alerts["recorded_on"]).dt.date,
    when=[f"{clock(a)}–{clock(b)}" for a, b in zip(alerts["window_start_s"], alerts["window_end_s"])],
)
st.dataframe(
    table[["alert_id", "status", "student", "title", "file_name", "class_group", "recorded_on",
           "when", "summary"]].rename(columns={
               "alert_id": "alert", "title": "rule", "file_name": "lesson", "class_group": "class",
               "recorded_on": "date"}),
    hide_index=True,
)

labels = {int(row["alert_id"]): alert_label(row) for _, row in alerts.iterrows()}
chosen = st.selectbox("Look at", list(labels), format_func=labels.__getitem__)
evidence = alert_evidence(store, int(chosen))
alert = evidence.alert
st.subheader(f"{student_name(int(alert['student_id']))}: {evidence.rule.title}")
st.write(alert["summary"])
st.altair_chart(ui.charts.evidence_chart(evidence), width="stretch")
st.caption(f"{evidence.rule.explain(settings)} The shaded stretch is the alert's window.")
with st.expander("The numbers behind this alert"):
    st.json({"numbers": alert["numbers"], "thresholds": alert["thresholds"]})

if alert["status"] != "open":
    note = f": {alert['review_note']}" if not pd.isna(alert["review_note"]) else ""
    st.info(f"Marked **{alert['status']}**{note}")
note = st.text_input("Note (optional)", key=f"note_{chosen}")
dismiss, confirm, reopen = st.columns(3)
decision = None
if dismiss.button("Dismiss", disabled=alert["status"] == "dismissed",
                  help="Harmless or already known; stays dismissed when the lesson is analysed again"):
    decision = "dismissed"
if confirm.button("Confirm", disabled=alert["status"] == "confirmed",
                  help="Worth following up"):
    decision = "confirmed"
if reopen.button("Reopen", disabled=alert["status"] == "open"):
    decision = "open"
if decision is not None:
    ui.changes.review_alert(store, int(chosen), decision, note or None)
