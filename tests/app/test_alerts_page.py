"""The Alerts page through AppTest, over a real DuckDB file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.alert_lessons import HandMadeLessons, sad_between
from support.pages import ALERTS

from benchmarks.synthetic_lessons import lesson_record, write_lesson
from emotion_core.store.store import DB_ENV_VAR, Store


def run_page(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(DB_ENV_VAR, str(db))
    return AppTest.from_file(ALERTS, default_timeout=60).run()


def write_lessons(db: Path, sad: bool) -> None:
    lessons = HandMadeLessons()
    with Store(db) as store:
        for i in range(4):
            write_lesson(store, lesson_record(f"calm_{i}", date(2026, 9, 1 + i), duration_s=600),
                         lessons.lesson(i))
        change = sad_between(6, 200, 320) if sad else None
        write_lesson(store, lesson_record("lesson_5", date(2026, 9, 8), duration_s=600),
                     lessons.lesson(4, change))


def test_before_any_lesson_the_page_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = run_page(tmp_path / "none.duckdb", monkeypatch)
    assert not page.exception
    assert any("No lesson has been analysed yet" in info.value for info in page.info)
    assert not (tmp_path / "none.duckdb").exists()


def test_calm_lessons_raise_no_alert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_lessons(tmp_path / "calm.duckdb", sad=False)
    page = run_page(tmp_path / "calm.duckdb", monkeypatch)
    assert not page.exception
    assert any("No alerts" in message.value for message in page.success)
    explained = " ".join(block.value for block in page.markdown)
    assert "Sustained negative expression" in explained and "Sharp drop" in explained


def test_an_alert_shows_its_evidence_and_can_be_dismissed_and_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "sad.duckdb"
    write_lessons(db, sad=True)
    page = run_page(db, monkeypatch)
    assert not page.exception
    table = page.dataframe[0].value
    assert set(table["student"]) == {"Student 6"} and set(table["lesson"]) == {"lesson_5.mp4"}
    assert "Sustained negative expression" in set(table["rule"])
    first = int(table["alert"].iloc[0])
    assert page.selectbox[0].value == first
    chart = json.loads(page.get("vega_lite_chart")[0].proto.spec)
    assert "layer" in chart  # the shaded window under the series
    assert page.subheader[0].value.startswith("Student 6: ")

    page.text_input[0].input("known: a family matter")
    next(b for b in page.button if b.label == "Dismiss").click().run()
    assert not page.exception
    with Store(db) as store:  # (the page holds it open in this process)
        alert = store.alert(first)
    assert alert is not None and alert["status"] == "dismissed"
    assert alert["review_note"] == "known: a family matter"
    remaining = page.dataframe[0].value if page.dataframe else None
    assert remaining is None or first not in set(remaining["alert"])

    page.toggle[0].set_value(True).run()
    shown = page.dataframe[0].value
    assert first in set(shown["alert"])
    page.selectbox[0].set_value(first).run()
    assert any("Marked **dismissed**: known: a family matter" in i.value for i in page.info)
    next(b for b in page.button if b.label == "Reopen").click().run()
    with Store(db) as store:  # (the page holds it open in this process)
        alert = store.alert(first)
    assert alert is not None and alert["status"] == "open"
