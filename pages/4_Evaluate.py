"""Classroom mood — Evaluate: how well an emotion model reads labelled photos a user brings."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

import ui.charts
import ui.data
import ui.frame
from emotion_core.analysis.models import EMOTION_MODEL_CHOICES
from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.model import EmotionModelUnavailable
from emotion_core.evaluation.photos import LabelsError, photos_from, read_labels, unpack_zip
from emotion_core.evaluation.runner import EvaluationReport, evaluate

st.set_page_config(page_title="Classroom mood — Evaluate", layout="wide")


st.title("Evaluate an emotion model")
ui.frame.demo_banner()
st.caption(
    "Bring photos whose expression you know, and see how often a model reads them the same way. "
    "Faces are found and cut exactly as in lesson analysis. Give either a zip or the path of a "
    "folder: with a CSV of `path,emotion` (paths relative to the CSV), or with one sub-folder per "
    f"emotion ({', '.join(EMOTIONS)}). Other labels, such as contempt, are listed apart."
)

with st.form("evaluate"):
    upload = st.file_uploader("Labelled photos (zip)", type=["zip"])
    local_path = st.text_input(
        "…or a folder, CSV or zip on this computer", placeholder="/path/to/photos/labels.csv"
    )
    model_name = st.selectbox(
        "Emotion model", EMOTION_MODEL_CHOICES,
        help="auto: DeepFace's model where its weights are present, else the offline default",
    )
    submitted = st.form_submit_button("Evaluate", type="primary")


def run(model_name: str, workdir: Path) -> EvaluationReport | None:
    """Read the photos, load the model and evaluate with a progress bar; None after an error."""
    try:
        if upload is not None:
            photos = read_labels(unpack_zip(upload, workdir), within=workdir)
        else:
            photos = photos_from(local_path.strip(), workdir)
    except LabelsError as exc:
        st.error(f"Cannot read the labelled photos: {exc}")
        return None
    try:
        with st.spinner("Loading the models (the first time takes a few seconds)…"):
            detector, model = ui.data.detector_and_model(model_name)
    except EmotionModelUnavailable as exc:
        st.error(str(exc))
        return None
    bar = st.progress(0.0, text=f"{len(photos)} photos")

    def show(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done}/{total} photos with {model.name}")

    report = evaluate(model, detector, photos, on_progress=show)
    bar.empty()
    return report


if submitted and upload is None and not local_path.strip():
    st.info("Choose a zip of labelled photos, or type the path of a folder or CSV.")
elif submitted:
    with tempfile.TemporaryDirectory(prefix="evaluate-") as workdir:
        st.session_state["evaluation"] = run(model_name, Path(workdir))

report: EvaluationReport | None = st.session_state.get("evaluation")
if report is not None:
    st.subheader(f"{report.model}: {report.n} photos scored")
    cells = st.columns(5)
    cells[0].metric("Accuracy", f"{report.accuracy:.1%}")
    cells[1].metric("Macro-F1", f"{report.macro_f1:.3f}", help="F1 averaged over the classes present")
    cells[2].metric("No face found", report.no_face)
    cells[3].metric("Read whole", report.whole_photo,
                    help="tight face crops where the detector found no face, read as one face")
    cells[4].metric("Unreadable files", report.unreadable)
    if report.n == 0:
        st.warning("No photo could be scored: no face was found, or no label is one of the seven classes.")

    left, right = st.columns([2, 3])
    left.markdown("**Per class**")
    left.dataframe(
        report.per_class_table(), hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")},
    )
    right.markdown("**Confusion matrix** (rows: the label, columns: what the model read)")
    right.altair_chart(ui.charts.confusion_chart(report), width="stretch")
    for label, read_as in report.other_labels.items():
        readings = ", ".join(f"{emotion} {count}" for emotion, count in sorted(read_as.items()))
        st.caption(f"Labelled {label}, which is not one of the seven classes: read as {readings}.")
    st.caption(f"Run with {report.preprocessing}. A facial expression is not an inner feeling: "
               "these numbers say how often the model agrees with the labels, nothing more.")
