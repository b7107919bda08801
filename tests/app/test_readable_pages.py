"""Every page that shows expressions says how many faces could be read (AppTest over real DuckDB
files): a lesson of the release before readable faces, migrated by the app itself, and a lesson
where most children were too far from the camera to be read."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.pages import ALERTS, OVERVIEW, STUDENTS, run, texts
from support.store_rows import identities, lesson_of_schema_5, observations, record, summary

from emotion_core.analysis.jobs import queue_for
from emotion_core.core.labels import EMOTIONS
from emotion_core.store.schema import SCHEMA_VERSION
from emotion_core.store.store import DB_ENV_VAR, Store

ADVICE = ("Fewer than half of the faces could be read: a camera closer to the class or a "
          "higher resolution would let more faces be read.")
UNREAD = ("faces under 20 px, turned more than 40°, looking down more than 30° or blurred are "
          "not read")


def far_from_the_camera(db: Path) -> None:
    """One lesson of three students in four frames: only the first is near enough to be read."""
    with Store(db) as store:
        video_id = store.begin_analysis(record("far.mp4", "f" * 64, class_group="7B"), {
            "sample_fps": 2.0, "readability": {"min_face_px": 20.0, "max_yaw_deg": 40.0,
                                               "max_pitch_deg": 30.0, "min_sharpness": 0.015}})
        rows = observations(video_id, 4, 3, seed=3)
        far = rows["track_id"] != 1
        rows.loc[far, [*EMOTIONS, "top_emotion"]] = None
        rows.loc[far, ["face_height_px", "readable"]] = [13.0, False]
        store.stage_observations(rows)
        people = identities({0: (None, [1]), 1: (None, [2]), 2: (None, [3])})
        store.finish_analysis(video_id, summary(4, len(rows), 3), people)


@pytest.fixture
def far_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "far.duckdb"
    far_from_the_camera(db)
    monkeypatch.setenv(DB_ENV_VAR, str(db))
    return db


def captions(app: AppTest) -> str:
    return texts(app.caption)


def warnings(app: AppTest) -> str:
    return texts(app.warning)


def test_a_lesson_of_the_previous_schema_opens_with_every_face_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "old.duckdb"
    lesson_of_schema_5(db)
    monkeypatch.setenv(DB_ENV_VAR, str(db))
    app = run(OVERVIEW)  # the app opens the file and migrates it
    assert "12 of 12 faces readable: these lessons were analysed before faces were checked" \
        in captions(app)
    assert ADVICE not in warnings(app)
    lessons = app.dataframe[0].value
    assert lessons[["observations", "readable_faces"]].values.tolist() == [[12, 12]]
    assert lessons[list(EMOTIONS)].sum(axis=1).round(3).tolist() == [1.0]
    store = queue_for(db).store  # the app's own: this process holds the file open
    assert store.schema_version() == SCHEMA_VERSION
    assert len(store.observations()) == 12


def test_the_class_overview_says_how_many_faces_were_read(far_db: Path) -> None:
    app = run(OVERVIEW)
    assert f"4 of 12 faces readable: {UNREAD}" in captions(app)
    assert ADVICE in warnings(app)
    lessons = app.dataframe[0].value
    assert lessons[["observations", "readable_faces"]].values.tolist() == [[12, 4]]
    assert lessons[list(EMOTIONS)].sum(axis=1).round(3).tolist() == [1.0], "over the read faces"


def test_a_student_page_says_how_many_of_their_faces_were_read(far_db: Path) -> None:
    app = run(STUDENTS)
    [picker] = [s for s in app.selectbox if s.label == "Student"]
    seen = {}
    for i, name in enumerate(picker.options):
        next(s for s in app.selectbox if s.label == "Student").select_index(i).run()
        assert not app.exception, [e.message for e in app.exception]
        line = next(c for c in captions(app).splitlines() if "faces readable" in c)
        seen[name] = (line.split(":")[0], ADVICE in warnings(app))
    # one student sat near the camera, two too far from it
    assert sorted(seen.values()) == [("0 of 4 faces readable", True),
                                     ("0 of 4 faces readable", True),
                                     ("4 of 4 faces readable", False)]


def test_the_alerts_page_says_how_many_faces_the_rules_could_read(far_db: Path) -> None:
    app = run(ALERTS)
    assert f"4 of 12 faces readable: {UNREAD}" in captions(app)
    assert ADVICE in warnings(app)


def test_a_lesson_of_faces_too_small_to_identify_says_why_nobody_is_a_student(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lesson analysed with identification on whose faces were all too small to identify: no
    student, and the Students page says why instead of only "analyse a lesson"."""
    db = tmp_path / "tiny.duckdb"
    with Store(db) as store:
        video_id = store.begin_analysis(record("tiny.mp4", "d" * 64), {"sample_fps": 2.0})
        rows = observations(video_id, 4, 3, seed=5).assign(face_height_px=15.0)
        store.stage_observations(rows)
        store.finish_analysis(video_id, summary(4, len(rows), 3), None)
    monkeypatch.setenv(DB_ENV_VAR, str(db))
    app = run(STUDENTS)
    assert not app.exception
    assert "No students are known yet" in texts(app.info)
    assert "at least 24 px high" in texts(app.info)
