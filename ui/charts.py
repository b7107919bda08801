"""The pages' Altair charts: expressions over lesson time, mood across lessons, a student
against the class, an alert's evidence, and an evaluation's confusion matrix."""

from __future__ import annotations

import altair as alt
import pandas as pd

from emotion_core.alerts.checks import AlertEvidence
from emotion_core.analysis.annotate import EMOTION_COLOURS
from emotion_core.core.labels import EMOTIONS
from emotion_core.evaluation.runner import EvaluationReport
from ui.frame import minutes

EMOTION_SCALE = alt.Scale(
    domain=list(EMOTIONS), range=["#{:02x}{:02x}{:02x}".format(*c) for c in EMOTION_COLOURS]
)

# Charts fill the page's width, their axes and legend included; the height is the plot's own.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


MINUTES_SECONDS = (
    "floor(datum.value / 60) + ':' + (datum.value % 60 < 10 ? '0' : '') + floor(datum.value % 60)"
)


def timeline_chart(timeline: pd.DataFrame, title: str) -> alt.VConcatChart:
    """Stacked shares of ``queries.emotion_timeline`` over lesson time, hover for the numbers;
    brushing the small chart below zooms the large one."""
    data = timeline.assign(
        middle_s=(timeline["bin_start_s"] + timeline["bin_end_s"]) / 2,
        window=[f"{minutes(a)}–{minutes(b)}"
                for a, b in zip(timeline["bin_start_s"], timeline["bin_end_s"])],
        emotion=timeline["emotion"].astype(str),
        order=timeline["emotion"].cat.codes,
    )
    brush = alt.selection_interval(encodings=["x"], name="time")
    colour = alt.Color(
        "emotion:N", scale=EMOTION_SCALE, sort=list(EMOTIONS), title="expression",
        legend=alt.Legend(orient="top"),
    )
    share = alt.Y("share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share of faces")
    tooltip = [
        alt.Tooltip("window:N", title="lesson time"),
        alt.Tooltip("emotion:N", title="expression"),
        alt.Tooltip("share:Q", title="share", format=".1%"),
        alt.Tooltip("observations:Q", title="faces seen in this window"),
        alt.Tooltip("lessons:Q", title="lessons"),
    ]
    # lesson time in seconds, labelled m:ss
    axis = alt.Axis(labelExpr=MINUTES_SECONDS, title="time into the lesson (min:s)")
    zoomed = alt.X("middle_s:Q", axis=axis, scale=alt.Scale(domain=brush, nice=False, zero=False))
    area = alt.Chart(data).mark_area(clip=True).encode(
        x=zoomed, y=share, color=colour, order="order:Q"
    )
    # invisible bars over the area, one per window and expression, carry the exact numbers
    bars = alt.Chart(data).mark_bar(opacity=0, clip=True).encode(
        x=alt.X("bin_start_s:Q", scale=alt.Scale(domain=brush, nice=False, zero=False)),
        x2="bin_end_s:Q", y=share, color=colour, order="order:Q", tooltip=tooltip,
    )
    detail = (area + bars).properties(
        width="container", height=320, title=title
    )
    overview = (
        alt.Chart(data)
        .mark_area()
        .encode(
            x=alt.X(
                "middle_s:Q", scale=alt.Scale(nice=False, zero=False),
                axis=alt.Axis(labelExpr=MINUTES_SECONDS,
                              title="drag across this strip to zoom into a stretch of the lesson"),
            ),
            y=alt.Y("share:Q", stack="normalize", axis=None), color=colour, order="order:Q",
        )
        .add_params(brush)
        .properties(width="container", height=60)
    )
    return alt.vconcat(detail, overview).properties(autosize=FIT_WIDTH)


def index_chart(lessons: pd.DataFrame) -> alt.LayerChart:
    """The mood index of each lesson, in the order they were held."""
    data = lessons.assign(lesson=[
        f"{r.lesson_date:%d %b %Y} · {r.file_name}" for r in lessons.itertuples()
    ])
    points = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=80)).encode(
        x=alt.X("lesson:N", sort=None, title=None, axis=alt.Axis(labelAngle=-20, labelLimit=240)),
        y=alt.Y("mood_index:Q", title="positive minus negative", scale=alt.Scale(domain=[-1, 1])),
        tooltip=[
            alt.Tooltip("lesson_date:T", title="date"),
            alt.Tooltip("file_name:N", title="video"),
            alt.Tooltip("mood_index:Q", title="mood index", format="+.2f"),
            alt.Tooltip("happy:Q", title="happy", format=".1%"),
            alt.Tooltip("tracks:Q", title="face tracks"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="grey", strokeDash=[4, 4]).encode(
        y="y:Q"
    )
    return (zero + points).properties(
        height=260, title="Mood index over lessons", autosize=FIT_WIDTH
    )


def lessons_chart(moods: pd.DataFrame, name: str) -> alt.Chart:
    """The student's mood index in each of their lessons, against the class's."""
    data = moods.assign(lesson=[f"{r.lesson_date:%d %b %Y} · {r.file_name}"
                                for r in moods.itertuples()]).melt(
        id_vars=["lesson", "lesson_date", "file_name"],
        value_vars=["mood_index", "class_mood_index"], var_name="who", value_name="index",
    ).replace({"who": {"mood_index": name, "class_mood_index": "class"}})
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("lesson:N", sort=None, title=None, axis=alt.Axis(labelAngle=-20, labelLimit=240)),
        y=alt.Y("index:Q", scale=alt.Scale(domain=[-1, 1]), title="mood index"),
        color=alt.Color("who:N", sort=[name, "class"], title=None,
                        scale=alt.Scale(range=["#2f6f9f", "#b8c4ce"]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("lesson:N"), alt.Tooltip("who:N"),
                 alt.Tooltip("index:Q", title="mood index", format="+.2f")],
    ).properties(height=240, title="Mood index across lessons", autosize=FIT_WIDTH)


def profile_chart(profile: pd.DataFrame) -> alt.Chart:
    """The student's mean probability of each expression, beside the class's."""
    return alt.Chart(profile.assign(emotion=profile["emotion"].astype(str))).mark_bar().encode(
        x=alt.X("emotion:N", sort=list(EMOTIONS), title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("who:N", sort=["student", "class"]),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="mean probability"),
        color=alt.Color("who:N", sort=["student", "class"], title=None,
                        scale=alt.Scale(range=["#2f6f9f", "#b8c4ce"]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("who:N"), alt.Tooltip("emotion:N"),
                 alt.Tooltip("share:Q", format=".1%")],
    ).properties(
        height=260, title="Expressions: this student against the class", autosize=FIT_WIDTH
    )


def evidence_chart(evidence: AlertEvidence) -> alt.LayerChart:
    """The student's smoothed series over the lesson, the alert's window shaded; the share of
    negative readings for the sustained-negative rule, the expression balance (and the class's)
    for the others."""
    series = evidence.series.assign(minute=evidence.series["t_s"] / 60)
    start, end = evidence.window
    window = alt.Chart(pd.DataFrame({"start": [start / 60], "end": [end / 60]})).mark_rect(
        color="#f0a202", opacity=0.2
    ).encode(x="start:Q", x2="end:Q")
    minute = alt.X("minute:Q", title="minutes into the lesson")
    if evidence.rule.name == "sustained_negative":
        lines = alt.Chart(series).mark_line(color="#b03a2e").encode(
            minute, alt.Y("negative_share:Q", title="share read as negative",
                          scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=["minute:Q", alt.Tooltip("negative_share:Q", format=".0%")],
        )
        threshold = evidence.alert["numbers"].get("threshold")
        if threshold is not None:
            lines += alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
                strokeDash=[4, 4], color="#b03a2e").encode(y="threshold:Q")
    else:
        whose = {"balance": "this student", "class_balance": "the rest of the class"}
        long = series.melt(id_vars=["minute"], value_vars=list(whose), var_name="whose",
                           value_name="value").replace({"whose": whose})
        lines = alt.Chart(long).mark_line().encode(
            minute, alt.Y("value:Q", title="expression balance"),
            color=alt.Color("whose:N", title=None, legend=alt.Legend(orient="bottom"),
                            scale=alt.Scale(domain=list(whose.values()),
                                            range=["#2f6f9f", "#9a9a9a"])),
            strokeDash=alt.StrokeDash("whose:N", legend=None,
                                      scale=alt.Scale(domain=list(whose.values()),
                                                      range=[[1, 0], [4, 3]])),
            tooltip=["minute:Q", "whose:N", alt.Tooltip("value:Q", format="+.1f")],
        )
    return (window + lines).properties(height=260)


def confusion_chart(report: EvaluationReport) -> alt.LayerChart:
    """The confusion matrix (rows: the label, columns: what the model read), shaded by the share
    of each label, with the counts written in."""
    cells_chart = alt.Chart(report.confusion_table()).encode(
        x=alt.X("predicted:N", sort=list(report.labels), title="model read"),
        y=alt.Y("true:N", sort=list(report.labels), title="label"),
    )
    heat = cells_chart.mark_rect().encode(
        color=alt.Color("share_of_true:Q", title="share of the label",
                        scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[
            alt.Tooltip("true:N", title="label"),
            alt.Tooltip("predicted:N", title="model read"),
            alt.Tooltip("count:Q", title="photos"),
            alt.Tooltip("share_of_true:Q", title="share of the label", format=".1%"),
        ],
    )
    counts = cells_chart.mark_text().encode(
        text="count:Q",
        color=alt.condition(alt.datum.share_of_true > 0.5, alt.value("white"), alt.value("black")),
    )
    return (heat + counts).properties(height=360)
