"""The Students page's consent register and thumbnails through Streamlit's AppTest, over a real
DuckDB written through the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.pages import STUDENTS, TIMEOUT_S, button, texts
from support.store_rows import analyse_tracks as analyse
from support.store_rows import identities, with_thumbnails

from emotion_core.analysis.jobs import queue_for
from emotion_core.store.store import DB_ENV_VAR, Store


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two students of one lesson, the first with a thumbnail."""
    path = tmp_path / "classroom.duckdb"
    with Store(path) as store:
        ident = with_thumbnails(identities({0: (None, [1]), 1: (None, [2])}), {0: 0.8})
        analyse(store, "a" * 64, 4, 2, ident)
    monkeypatch.setenv(DB_ENV_VAR, str(path))
    return path


def checked(app: AppTest) -> AppTest:
    assert not app.exception, [e.message for e in app.exception]
    return app


def choose_student(app: AppTest, student_id: int) -> AppTest:
    return checked(next(s for s in app.selectbox if s.label == "Student").set_value(student_id).run())


def test_the_page_shows_the_consent_toggle_and_the_thumbnail(db: Path) -> None:
    app = checked(AppTest.from_file(STUDENTS, default_timeout=TIMEOUT_S).run())
    roster = app.dataframe[0].value
    assert roster["identification"].tolist() == [True, True]
    [toggle] = app.toggle
    assert toggle.label == "Identification" and toggle.value is True
    [image] = app.image
    assert image.captions == ["Student 1, from aaa.mp4 at 0:00"]
    # the second student has no thumbnail
    choose_student(app, 2)
    assert not app.image and app.toggle[0].value is True


def test_turning_identification_off_is_explained_and_confirmed_first(db: Path) -> None:
    app = checked(AppTest.from_file(STUDENTS, default_timeout=TIMEOUT_S).run())
    checked(app.toggle[0].set_value(False).run())
    warning = texts(app.warning)
    assert "deletes their face embeddings and thumbnail" in warning
    assert "cannot recognise Student 1" in warning
    confirm = button(app, "Turn identification off for Student 1")
    assert confirm.disabled, "only once the user has read what it does"
    store = queue_for(db).store
    assert store.student(1)["identification"], "nothing changes before the confirmation"

    checked(next(t for t in app.text_input if t.label.startswith("Note")).set_value("form 12").run())
    checked(next(c for c in app.checkbox if c.label == "I have read what this does").check().run())
    checked(button(app, "Turn identification off for Student 1").click().run())
    row = store.student(1)
    assert not row["identification"] and row["identification_note"] == "form 12"
    assert store.student_thumbnail(1) is None

    app = checked(AppTest.from_file(STUDENTS, default_timeout=TIMEOUT_S).run())
    assert app.dataframe[0].value["identification"].tolist() == [False, True]
    assert "Identification is off for Student 1" in texts(app.info)
    assert app.toggle[0].value is False and not app.image
    assert not app.get("vega_lite_chart"), "no series of their own"
    assert "form 12" in texts(app.caption)

    # turning it on again says it only affects later lessons
    checked(app.toggle[0].set_value(True).run())
    assert "only affects lessons analysed from now on" in texts(app.warning)
