"""Every page through Streamlit's AppTest, over a database the real pipeline filled through the app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.media import gradient_frames, truncated_copy, write_video
from support.pages import ALERTS, ANALYSE, APP, OVERVIEW, PAGES, ROOT, STUDENTS, button, run, texts

from emotion_core.analysis.jobs import DONE, FAILED, queue_for
from emotion_core.core.paths import SAMPLE_VIDEO
from emotion_core.store.store import DB_ENV_VAR


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, deepface_home: Path) -> Iterator[Path]:
    """A first-time user presses "Try the sample lesson" once; the real pipeline analyses it."""
    db = tmp_path_factory.mktemp("sample") / "classroom.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DB_ENV_VAR, str(db))
        app = run(ANALYSE)
        button(app, "Try the sample lesson").click().run()
        assert not app.exception, [e.message for e in app.exception]
        job = queue_for(db).jobs()[-1]
        assert job.video_path == SAMPLE_VIDEO
        finished = queue_for(db).wait(job.job_id, timeout_s=600)
        assert finished.status == DONE, finished.error
    yield db


@pytest.fixture
def empty_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "empty.duckdb"
    monkeypatch.setenv(DB_ENV_VAR, str(db))
    return db


@pytest.fixture
def with_sample(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DB_ENV_VAR, str(sample_db))
    return sample_db


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_first_visit_explains_what_to_do(page: str, empty_db: Path) -> None:
    app = run(page)
    assert "No lesson has been analysed yet" in texts(app.info)
    assert not app.dataframe
    assert not empty_db.exists()  # looking creates no database


def test_analyse_page_offers_the_sample_and_asks_for_a_file(empty_db: Path) -> None:
    app = run(ANALYSE)
    assert button(app, "Try the sample lesson")
    assert [s.label for s in app.slider] == ["Frames analysed per second"]
    # (the cluster's address sits in the "Where analyses run" expander: tests/app/
    # test_engine_setting_page.py)
    assert [t.label for t in app.text_input] == ["Class or group", "Cluster address"]
    assert [d.label for d in app.date_input] == ["Lesson date"]
    boxes = {c.label: c.value for c in app.checkbox}
    assert boxes["Add new students to the roster"] is True
    assert boxes["Keep a small face thumbnail per student"] is False, "thumbnails are opt-in"
    button(app, "Analyse").click().run()
    assert not app.exception
    assert "Choose one or more video files first" in texts(app.info)
    assert not empty_db.exists()


def test_router_opens_on_analyse_and_reaches_every_page(empty_db: Path) -> None:
    app = run(APP)
    assert app.title[0].value == "Classroom mood"
    evaluate = str(ROOT / "pages" / "4_Evaluate.py")
    for page, title in ((OVERVIEW, "Class overview"), (STUDENTS, "Students"), (ALERTS, "Alerts"),
                        (evaluate, "Evaluate an emotion model")):
        assert Path(page).is_file(), f"the page {page} is missing"
        app.switch_page(str(Path(page).relative_to(ROOT))).run()
        assert not app.exception, [e.message for e in app.exception]
        assert app.title[0].value == title


def test_analyse_page_after_the_sample(with_sample: Path) -> None:
    app = run(ANALYSE)
    assert "demo\\_lesson.mp4**: done" in texts(app.success)  # "_" escaped: ui.plain
    assert "Try the sample lesson" not in [b.label for b in app.button]
    lessons = app.dataframe[0].value
    assert list(lessons["file_name"]) == ["demo_lesson.mp4"]
    assert list(lessons["class_group"]) == ["Demo class"]
    assert lessons["tracks"].iloc[0] >= 6  # six faces in the composed lesson
    # the annotated frames, drawn from the video and the stored observations
    assert app.selectbox[0].label == "Lesson"
    captions = [c for image in app.image for c in image.captions]
    assert len(captions) == 3 and all(c.startswith("demo_lesson.mp4") for c in captions)
    # keeping and deleting lessons (tests/app/test_privacy_pages.py uses them)
    assert "Keeping and deleting lessons" in [e.label for e in app.expander]
    assert button(app, "Delete lesson").disabled  # until the user confirms


def test_bad_videos_are_reported_on_the_page(tmp_path: Path, empty_db: Path) -> None:
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("these are lesson notes, not a video")
    # cut short: its index is at the front, so it opens, is registered and fails part-way
    whole = write_video(tmp_path / "whole.mp4", gradient_frames(60), fps=10, faststart=True)
    cut_short = truncated_copy(whole, tmp_path / "cut short.mp4", keep_fraction=0.5)
    queue = queue_for(empty_db)
    jobs = [queue.submit(v) for v in (not_a_video, cut_short)]
    assert [queue.wait(j.job_id, timeout_s=300).status for j in jobs] == [FAILED, FAILED]
    app = run(ANALYSE)
    errors = texts(app.error)
    assert "notes.mp4**: not analysed: notes.mp4: not a readable video file" in errors
    assert "cut short.mp4**: not analysed:" in errors
    # the lesson that got as far as the database is listed with the reason, after a restart too
    assert "Videos that could not be analysed (1)" in [e.label for e in app.expander]
    failed = app.dataframe[0].value
    assert list(failed["file_name"]) == ["cut short.mp4"]
    assert failed["failure_reason"].iloc[0]


def test_class_overview_after_the_sample(with_sample: Path) -> None:
    app = run(OVERVIEW)
    assert [s.label for s in app.selectbox] == ["Class", "Lesson"]
    assert app.selectbox[0].value == "Demo class"
    charts = app.get("vega_lite_chart")
    assert len(charts) == 2  # emotions over lesson time (with its zoom strip), index over lessons
    summary = app.dataframe[0].value
    assert list(summary["file_name"]) == ["demo_lesson.mp4"]
    shares = summary[["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]]
    assert shares.sum(axis=1).round(3).tolist() == [1.0]
    # how many of the faces were read, said on the page
    seen, read = summary[["observations", "readable_faces"]].iloc[0]
    assert 0 < read <= seen
    assert f"{read} of {seen} faces readable: faces under 16 px" in texts(app.caption)
    assert -1 <= summary["mood_index"].iloc[0] <= 1

    app.selectbox[1].select_index(1).run()  # the one lesson on its own
    assert not app.exception
    assert len(app.get("vega_lite_chart")) == 2

    long_ago = date.today() - timedelta(days=400)
    app.date_input[0].set_value((long_ago, long_ago + timedelta(days=1))).run()
    assert not app.exception
    assert "No lesson of this class falls in these dates" in texts(app.info)


def test_students_page_after_the_sample(with_sample: Path) -> None:
    app = run(STUDENTS)
    roster = app.dataframe[0].value
    # six people in the composed lesson; one leaves the room and comes back as the same student
    assert len(roster) == 6
    assert roster["display_name"].str.startswith("Student ").all()
    assert (roster["seconds_seen"] > 0).all()
    assert [s.label for s in app.selectbox][:3] == ["Class", "Student", "Lesson"]
    assert len(app.get("vega_lite_chart")) == 3  # profile, across lessons, within the lesson
    assert [t.label for t in app.tabs] == ["Rename", "Merge", "Split off a sighting", "Delete"]
    assert roster["identification"].all()
    assert [(t.label, t.value) for t in app.toggle] == [("Identification", True)]
    assert not app.image, "the sample was analysed without thumbnails"
    delete = button(app, "Delete")
    assert delete.disabled  # until the user confirms
    [download] = app.get("download_button")  # the subject access export
    assert download.proto.label.startswith("Download everything stored about Student ")


def test_renaming_a_student_on_the_page(with_sample: Path) -> None:
    app = run(STUDENTS)
    first = app.dataframe[0].value["display_name"].iloc[0]
    try:
        name_box = next(t for t in app.text_input if t.label == "New name")
        name_box.set_value("Ada").run()
        button(app, "Rename").click().run()
        assert not app.exception
        assert "Ada" in app.dataframe[0].value["display_name"].tolist()
    finally:
        app = run(STUDENTS)
        if "Ada" in app.dataframe[0].value["display_name"].tolist():
            next(t for t in app.text_input if t.label == "New name").set_value(first).run()
            button(app, "Rename").click().run()


def test_names_are_shown_as_written_not_as_markdown() -> None:
    from ui.frame import plain

    assert plain("a*b*_$x$ [1].mp4") == "a\\*b\\*\\_\\$x\\$ \\[1\\].mp4"
    assert plain("Урок 5 — алгебра (7Б).mp4") == "Урок 5 — алгебра (7Б).mp4"
