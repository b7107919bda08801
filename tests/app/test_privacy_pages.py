"""The Analyse page's retention setting and lesson delete, and the Students page's export button,
through Streamlit's AppTest over a real DuckDB file written through the store."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.media import gradient_frames, write_video
from support.store_rows import lesson, raise_alert, student_of

from emotion_core.analysis.jobs import queue_for
from emotion_core.core.paths import upload_dir
from emotion_core.store.store import DB_ENV_VAR, Store

PAGES = Path(__file__).resolve().parents[2] / "pages"
ANALYSE, STUDENTS = str(PAGES / "0_Analyse.py"), str(PAGES / "2_Students.py")


def run(page: str) -> AppTest:
    app = AppTest.from_file(page, default_timeout=60).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label)


def checkbox(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(c for c in app.checkbox if c.label.startswith(label))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lesson of last year (two students) and one of last week (one of them again)."""
    path = tmp_path / "data" / "classroom.duckdb"
    # real videos, for the page to draw its frames from
    videos = [write_video(tmp_path / f"{n}.mp4", gradient_frames(n), fps=10).read_bytes()
              for n in (12, 16)]
    with Store(path) as store:
        old = lesson(store, "last year.mp4", date.today() - timedelta(days=400),
                     {0: (None, [1]), 1: (None, [2])}, seed=1, content=videos[0])
        lesson(store, "last week.mp4", date.today() - timedelta(days=7),
               {0: (student_of(store, old, 2), [1])}, seed=2, content=videos[1])
        raise_alert(store, old, student_of(store, old, 1))
    monkeypatch.setenv(DB_ENV_VAR, str(path))
    return path


def test_a_lesson_is_deleted_from_the_analyse_page_after_confirming(db: Path) -> None:
    app = run(ANALYSE)
    assert "Keeping and deleting lessons" in [e.label for e in app.expander]
    choice = next(s for s in app.selectbox if s.label == "Lesson to delete")
    assert choice.options[0].startswith("last week.mp4 (7B, ")  # newest first
    choice.select_index(1).run()
    assert button(app, "Delete lesson").disabled, "not before the user confirms"
    checkbox(app, "Yes, delete last year.mp4").check().run()
    button(app, "Delete lesson").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any(m.value.startswith("Deleted **last year.mp4**") for m in app.success)
    store = queue_for(db).store  # the one the page holds open
    assert store.videos()["file_name"].tolist() == ["last week.mp4"]
    assert len(store.students()) == 1 and store.alerts().empty
    assert not (upload_dir(db) / "last year.mp4").exists()
    assert (upload_dir(db) / "last week.mp4").exists()
    assert len(app.dataframe[0].value) == 1, "the lessons table shows the lesson gone"


def test_the_retention_period_is_set_on_the_analyse_page_and_purges(db: Path) -> None:
    app = run(ANALYSE)
    assert button(app, "Save retention period").disabled, "nothing changed yet"
    checkbox(app, "Purge lessons after a retention period").check().run()
    next(n for n in app.number_input if n.label.startswith("Days a lesson is kept")) \
        .set_value(30).run()
    button(app, "Save retention period").click().run()
    assert not app.exception, [e.message for e in app.exception]
    store = queue_for(db).store
    assert store.retention_days() == 30
    assert store.videos()["file_name"].tolist() == ["last week.mp4"]
    assert any(m.value.startswith("Retention period saved. Removed 1 lesson(s)")
               for m in app.success)
    # and back to keeping lessons until deleted
    checkbox(app, "Purge lessons after a retention period").uncheck().run()
    button(app, "Save retention period").click().run()
    assert store.retention_days() is None
    assert len(store.videos()) == 1


def test_the_students_page_offers_the_export_of_the_chosen_student(db: Path) -> None:
    app = run(STUDENTS)
    chosen = next(s for s in app.selectbox if s.label == "Student")
    assert len(chosen.options) == 2
    for index, name in enumerate(chosen.options):
        chosen.select_index(index).run()
        assert not app.exception, [e.message for e in app.exception]
        [download] = app.get("download_button")
        assert download.proto.label == f"Download everything stored about {name}"
        assert "face embeddings" in download.proto.help
        chosen = next(s for s in app.selectbox if s.label == "Student")
