"""The demo term in the app, through Streamlit's AppTest: opened from the first page, every page
at work over it under a banner, the way back, and the user's own database untouched by whatever
is done in the demo."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.media import gradient_frames, write_video
from support.pages import ALERTS, ANALYSE, OVERVIEW, ROOT, STUDENTS, TIMEOUT_S, button, run, texts
from support.store_rows import lesson, raise_alert, student_of

from emotion_core.demo.build import build_demo, demo_db_path
from emotion_core.demo.term import DECLINING, PLAN, TEST_DAY, UNRECOGNISED
from emotion_core.store.store import DB_ENV_VAR, Store
from ui.demo import BACK_LABEL, BANNER, DEMO_DB, OPEN_LABEL

EVALUATE = str(ROOT / "pages" / "4_Evaluate.py")
RULE_TITLES = {"Sustained negative expression", "Far below their own usual",
               "Apart from the class", "Sharp drop"}


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("built")
    return build_demo(folder / "demo.duckdb", folder / "classroom.duckdb").path


def in_demo(page: str, demo: Path) -> AppTest:
    """``page`` run in a session that has the demo open."""
    app = AppTest.from_file(page, default_timeout=TIMEOUT_S)
    app.session_state[DEMO_DB] = str(demo)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def shows_banner(app: AppTest) -> bool:
    return BANNER in texts(app.warning) and any(b.label == BACK_LABEL for b in app.button)


def users_database(folder: Path) -> Path:
    """A user's own database: two lessons (with their videos), three students, an alert."""
    own = folder / "classroom.duckdb"
    videos = [write_video(folder / f"{n}.mp4", gradient_frames(n), fps=10).read_bytes()
              for n in (12, 16)]
    with Store(own) as store:
        first = lesson(store, "maths.mp4", date(2026, 1, 5), {1: (None, [1]), 2: (None, [2])},
                       content=videos[0])
        lesson(store, "art.mp4", date(2026, 1, 7), {1: (student_of(store, first, 1), [1]),
                                                    3: (None, [2])}, seed=1, content=videos[1])
        raise_alert(store, first, student_of(store, first, 2))
    return own


def snapshot(own: Path) -> dict[str, str]:
    """Every file of the user's database and its uploads, by content."""
    return {str(p.relative_to(own.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(own.parent.rglob("*")) if p.is_file() and "demo" not in p.parts}


def test_the_first_visit_opens_the_demo_and_goes_back(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "classroom.duckdb"
    monkeypatch.setenv(DB_ENV_VAR, str(own))
    app = run(ANALYSE)
    assert not shows_banner(app)
    button(app, OPEN_LABEL).click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.session_state[DEMO_DB] == str(demo_db_path(own))
    assert shows_banner(app)
    assert "No lesson has been analysed yet" not in texts(app.info)
    assert len(app.dataframe[0].value) == PLAN.lessons
    assert not own.exists(), "the user's database is not made by opening the demo"

    button(app, BACK_LABEL).click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not shows_banner(app) and DEMO_DB not in app.session_state
    assert "No lesson has been analysed yet" in texts(app.info)
    assert not own.exists()


@pytest.mark.parametrize("page", [ANALYSE, OVERVIEW, STUDENTS, ALERTS, EVALUATE],
                         ids=lambda p: Path(p).stem)
def test_every_page_shows_the_banner_over_the_demo(page: str, built_demo: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "classroom.duckdb"))
    app = in_demo(page, built_demo)
    assert shows_banner(app)
    assert not (tmp_path / "classroom.duckdb").exists()


def test_the_class_overview_shows_the_weeks_and_the_test_day(built_demo: Path) -> None:
    app = in_demo(OVERVIEW, built_demo)
    table = app.dataframe[0].value
    assert len(table) == PLAN.lessons
    assert table["mood_index"].idxmin() == TEST_DAY
    assert table["file_name"].iloc[TEST_DAY].endswith("_test.mp4")
    assert len(app.get("vega_lite_chart")) == 2  # over lesson time, over the lessons


def test_the_students_page_shows_a_student_across_lessons(built_demo: Path) -> None:
    app = in_demo(STUDENTS, built_demo)
    assert len(app.dataframe[0].value) == PLAN.students + 1  # one of them twice
    next(s for s in app.selectbox if s.label == "Student").set_value(DECLINING).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.subheader[0].value == f"Student {DECLINING}"
    across = [json.loads(c.proto.spec) for c in app.get("vega_lite_chart")]
    assert any(f"Student {DECLINING}" in json.dumps(spec) and "class" in json.dumps(spec)
               for spec in across)
    assert len(across) == 3  # profile, across lessons, within a lesson


def test_the_alerts_page_shows_an_alert_of_each_rule_with_its_evidence(built_demo: Path) -> None:
    app = in_demo(ALERTS, built_demo)
    table = app.dataframe[0].value
    assert set(table["rule"]) == RULE_TITLES
    assert all(len(summary) > 40 for summary in table["summary"])
    chart = json.loads(app.get("vega_lite_chart")[0].proto.spec)
    assert "layer" in chart  # the shaded window under the series
    assert "The shaded stretch is the alert's window." in texts(app.caption)


def test_the_evaluate_page_shows_its_instructions(built_demo: Path) -> None:
    app = in_demo(EVALUATE, built_demo)
    assert "Bring photos whose expression you know" in texts(app.caption)


def test_deleting_merging_dismissing_in_the_demo_leaves_the_users_database_as_it_is(
    built_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = users_database(tmp_path)
    demo = demo_db_path(own)
    demo.parent.mkdir()
    shutil.copy(built_demo, demo)  # as built by the button (tests above build it that way)
    monkeypatch.setenv(DB_ENV_VAR, str(own))
    before = snapshot(own)

    analyse = run(ANALYSE)  # the user's lessons: the demo is offered below them
    button(analyse, OPEN_LABEL).click().run()
    assert shows_banner(analyse) and analyse.session_state[DEMO_DB] == str(demo)
    next(s for s in analyse.selectbox if s.label == "Lesson to delete").select_index(0).run()
    next(c for c in analyse.checkbox if c.label.startswith("Yes, delete")).check().run()
    button(analyse, "Delete lesson").click().run()
    assert not analyse.exception, [e.message for e in analyse.exception]

    # Student 12, not recognised from week 5 on, is Student 13 there: one child again
    students = in_demo(STUDENTS, demo)
    next(s for s in students.selectbox if s.label == "Student").set_value(UNRECOGNISED).run()
    new = PLAN.students + 1
    students.selectbox(key=f"merge_with_{UNRECOGNISED}").set_value(new).run()
    students.checkbox(key=f"merge_sure_{UNRECOGNISED}").check().run()
    students.button(key=f"do_merge_{UNRECOGNISED}").click().run()
    assert not students.exception, [e.message for e in students.exception]
    assert not students.error, [e.value for e in students.error]

    alerts = in_demo(ALERTS, demo)
    first = int(alerts.dataframe[0].value["alert"].iloc[0])
    button(alerts, "Dismiss").click().run()
    assert not alerts.exception, [e.message for e in alerts.exception]

    with Store(demo) as store:  # (the pages hold it open in this process)
        assert len(store.videos()) == PLAN.lessons - 1
        assert len(store.students()) == PLAN.students
        assert store.alert(first)["status"] == "dismissed"
    assert snapshot(own) == before
