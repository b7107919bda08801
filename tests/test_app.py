"""The Streamlit entry page through AppTest, over a real DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.detection import MTCNNDetector
from emotion_core.emotion import EmotionModel
from emotion_core.pipeline import analyse_video
from emotion_core.store import DB_ENV_VAR, Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def run_app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(DB_ENV_VAR, str(db))
    return AppTest.from_file(APP, default_timeout=60).run()


def test_first_visit_explains_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = run_app(tmp_path / "empty.duckdb", monkeypatch)
    assert not app.exception
    assert any("No lesson has been analysed yet" in info.value for info in app.info)
    assert app.button[0].label == "Analyse"
    assert not (tmp_path / "empty.duckdb").exists()  # looking does not create a database


def test_pressing_analyse_without_a_file_asks_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "empty.duckdb", monkeypatch)
    app.button[0].click().run()
    assert not app.exception
    assert any("Choose one or more video files" in info.value for info in app.info)


def test_lists_analysed_lessons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, intel_classroom: Path,
    detector: MTCNNDetector, fer_model: EmotionModel,
) -> None:
    db = tmp_path / "lessons.duckdb"
    with Store(db) as store:
        analyse_video(intel_classroom, store, detector, fer_model, class_group="7B")
    app = run_app(db, monkeypatch)
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["file_name"]) == [intel_classroom.name]
    assert list(table["status"]) == ["done"]
    assert list(table["class_group"]) == ["7B"]
