"""The Evaluate page through AppTest: a real run on JAFFE photos, and the errors a user can meet."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.mtcnn import MTCNNDetector

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "4_Evaluate.py")


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def jaffe_zip(jaffe_dir: Path, per_emotion: int = 2) -> bytes:
    """A zip of per-emotion folders holding a few JAFFE photos each (made in memory, never kept)."""
    with (jaffe_dir / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    members: dict[str, bytes] = {}
    taken: dict[str, int] = {}
    for row in rows:
        if taken.get(row["emotion"], 0) < per_emotion:
            taken[row["emotion"]] = taken.get(row["emotion"], 0) + 1
            members[f"jaffe/{row['emotion']}/{row['path']}"] = (jaffe_dir / row["path"]).read_bytes()
    return zip_bytes(members)


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def test_first_visit_shows_the_form() -> None:
    app = open_page()
    assert not app.exception
    assert app.button[0].label == "Evaluate"
    assert "fer" in app.selectbox[0].options
    app.button[0].click().run()
    assert any("Choose a zip" in info.value for info in app.info)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "not a zip file"),
        (zip_bytes({"../evil.jpg": b"x"}), "unsafe path"),
        (zip_bytes({}), "empty"),
        (zip_bytes({"a.jpg": b"x"}), "no labels found"),
    ],
)
def test_bad_zips_get_a_clear_error(content: bytes, message: str) -> None:
    app = open_page()
    app.file_uploader[0].set_value(("photos.zip", content, "application/zip"))
    app.button[0].click().run()
    assert not app.exception
    assert any(message in e and "Cannot read the labelled photos" in e for e in errors(app)), errors(app)
    assert not app.metric, "no results after an error"


def test_a_missing_local_folder_is_an_error(tmp_path: Path) -> None:
    app = open_page()
    app.text_input[0].set_value(str(tmp_path / "nowhere"))
    app.button[0].click().run()
    assert any("no such file or folder" in e for e in errors(app)), errors(app)


@pytest.mark.real_data
def test_uploaded_jaffe_photos_are_evaluated(
    jaffe_dir: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    app = open_page()
    app.file_uploader[0].set_value(("jaffe.zip", jaffe_zip(jaffe_dir), "application/zip"))
    app.selectbox[0].set_value("fer")
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert not errors(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["No face found"] == "0"
    assert float(metrics["Accuracy"].rstrip("%")) > 100 / 7, "better than chance on posed faces"
    per_class = app.dataframe[0].value
    assert list(per_class["class"][:7]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert per_class["support"][:7].sum() == 14
    (chart,) = app.get("vega_lite_chart")
    assert "tooltip" in chart.proto.spec and "share_of_true" in chart.proto.spec
