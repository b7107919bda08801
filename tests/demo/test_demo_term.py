"""The demo term: the same rows every time, its story raised by the app's own alert checks,
faces told apart by readability as real ones are, and never built over anyone's database."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.store_rows import lesson

from emotion_core.alerts.checks import check_alerts, current_alerts
from emotion_core.core.labels import EMOTIONS
from emotion_core.demo.build import DemoError, build_demo, demo_db_path, open_demo
from emotion_core.demo.synthetic import RULES
from emotion_core.demo.term import (
    APART,
    DECLINING,
    DROPPING,
    PLAN,
    SAD_SPELL,
    SPLIT_DISTANCE,
    TEST_DAY,
    UNRECOGNISED,
    UNRECOGNISED_FROM,
    lesson_of,
)
from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.store.store import Store

# Columns that say when a row was written, not what it holds.
WRITTEN_AT = ("created_at", "analysed_at", "raised_at", "checked_at", "reviewed_at")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    steps: list[tuple[float, str]] = []
    term = build_demo(folder / "demo" / "classroom_demo.duckdb", folder / "classroom.duckdb",
                      lambda fraction, words: steps.append((fraction, words)))
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(steps) > PLAN.lessons, "the progress moves lesson by lesson"
    assert term.lessons == PLAN.lessons and term.students == PLAN.students + 1  # (one twice)
    assert not (folder / "classroom.duckdb").exists(), "the user's database is never made"
    return term.path


def stored(path: Path) -> dict[str, pd.DataFrame]:
    with Store(path, read_only=True) as store:
        tables = {
            "videos": store.videos(), "observations": store.observations(),
            "students": store.students(), "alerts": store.alerts(include_inactive=True),
            "embeddings": store.query("SELECT * FROM face_embeddings ORDER BY video_id, "
                                      "track_id", {}),
        }
    return {name: t.drop(columns=[c for c in WRITTEN_AT if c in t.columns])
            for name, t in tables.items()}


def alerts_of(path: Path) -> pd.DataFrame:
    """The alerts the app's own check raises on the demo (checked afresh, not as stored)."""
    with Store(path) as store:
        assert check_alerts(store, force=True).checked
        alerts = current_alerts(store)
        names = dict(zip(store.students()["student_id"], store.students()["display_name"]))
    return alerts.assign(lesson=alerts["video_id"] - 1, name=alerts["student_id"].map(names))


def test_building_it_twice_stores_the_same_rows(demo_db: Path, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "again.duckdb", tmp_path / "own.duckdb").path
    first, second = stored(demo_db), stored(again)
    assert len(first["observations"]) > 100_000
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)


def test_every_rule_raises_an_alert_where_the_story_puts_it(demo_db: Path) -> None:
    alerts = alerts_of(demo_db)
    assert set(alerts["rule"]) == set(RULES)
    story = {
        "sustained_negative": (SAD_SPELL, [lesson_of(1, "Thursday")]),
        "apart_from_class": (APART, [lesson_of(2, "Tuesday")]),
        "sharp_drop": (DROPPING, [lesson_of(4, "Tuesday")]),
        "below_own_baseline": (DECLINING, list(range(lesson_of(5, "Tuesday"), PLAN.lessons))),
    }
    for rule, (student, lessons) in story.items():
        raised = alerts[(alerts["rule"] == rule) & (alerts["name"] == f"Student {student}")]
        assert set(raised["lesson"]) & set(lessons), f"{rule} not raised on Student {student}"
    below = alerts[alerts["rule"] == "below_own_baseline"]
    assert len(set(below[below["student_id"] == DECLINING]["lesson"])) >= 2, \
        "the decline shows lesson after lesson"
    # the whole class tense on the test day, and the students the model always reads one way,
    # flag no one
    assert TEST_DAY not in set(alerts["lesson"])
    assert not set(alerts["student_id"]) & set(PLAN.biased_students or ())
    assert alerts["summary"].str.len().min() > 40, "each alert says its numbers in words"


def test_the_test_day_is_the_lowest_lesson_of_the_class(demo_db: Path) -> None:
    from emotion_core.store import queries

    with Store(demo_db, read_only=True) as store:
        lessons = queries.lessons(store)
    assert lessons["file_name"].iloc[TEST_DAY].endswith("_test.mp4")
    assert int(lessons["mood_index"].to_numpy().argmin()) == TEST_DAY


def test_faces_are_read_or_not_as_real_ones_are(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        rows = store.observations()
        parameters = store.videos()["parameters"].iloc[0]
    unread = rows[~rows["readable"]]
    assert 0.02 < len(unread) / len(rows) < 0.3
    assert unread[list(EMOTIONS)].isna().all().all() and unread["top_emotion"].isna().all()
    read = rows[rows["readable"]]
    assert read[list(EMOTIONS)].notna().all().all()
    np.testing.assert_allclose(read[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-4)
    settings = ReadabilitySettings()
    assert (read["face_height_px"] >= settings.min_face_px).all()
    assert (read["pitch_deg"] <= settings.max_pitch_deg).all()
    assert (read["yaw_deg"].abs() <= settings.max_yaw_deg).all()
    # the back row's faces are small, and some are too small to read
    assert (unread["face_height_px"] < settings.min_face_px).any()
    assert (unread["pitch_deg"] > settings.max_pitch_deg).any()
    heights = (rows["y2"] - rows["y1"]).to_numpy()
    np.testing.assert_allclose(heights, rows["face_height_px"], rtol=1e-4)
    assert '"readability"' in parameters and '"min_face_px": 16.0' in parameters


def test_the_roster_has_pseudonyms_and_one_student_twice(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        students = store.students().set_index("student_id")
        ids, references = store.reference_embeddings("Dlib", None)
    assert students["display_name"].tolist() == [f"Student {i}" for i in range(1, 14)]
    assert students["has_reference"].all()
    lessons = students["lessons"]
    # Student 12 is not recognised from week 5 on, and is Student 13 from then
    new = PLAN.students + 1
    assert lessons[UNRECOGNISED] == UNRECOGNISED_FROM
    assert lessons[new] == PLAN.lessons - UNRECOGNISED_FROM
    assert (lessons.drop([UNRECOGNISED, new]) == PLAN.lessons).all()
    vectors = dict(zip(ids, np.asarray(references, dtype=float)))
    distance = {(a, b): 1 - vectors[a] @ vectors[b] / np.linalg.norm(vectors[a])
                / np.linalg.norm(vectors[b]) for a in vectors for b in vectors if a < b}
    assert distance.pop((UNRECOGNISED, new)) == pytest.approx(SPLIT_DISTANCE, abs=1e-4)
    assert min(distance.values()) > 0.5, "no one else looks alike"


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_users_own_database_is_never_built_over(tmp_path: Path) -> None:
    own = tmp_path / "classroom.duckdb"
    with Store(own) as store:
        lesson(store, "maths.mp4", date(2026, 1, 5), {1: (None, [1])})
    before = file_hash(own)
    with pytest.raises(DemoError, match="is your own database"):
        build_demo(own, own)
    other = tmp_path / "elsewhere.duckdb"
    own.rename(other)
    with pytest.raises(DemoError, match="holds lessons that are not the demo's"):
        build_demo(other, own)
    with pytest.raises(DemoError, match="not a file"):
        build_demo(tmp_path, own)
    assert file_hash(other) == before
    assert demo_db_path(own) == tmp_path / "demo" / "classroom_demo.duckdb"


def test_an_open_demo_is_reused_and_a_built_one_rebuilt(demo_db: Path, tmp_path: Path) -> None:
    before = file_hash(demo_db)
    assert open_demo(demo_db, tmp_path / "own.duckdb") == demo_db
    assert file_hash(demo_db) == before, "a demo that is there is opened, not rebuilt"
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    with Store(copy) as store:
        store.delete_lesson(1)
    rebuilt = build_demo(copy, tmp_path / "own.duckdb")
    assert rebuilt.lessons == PLAN.lessons, "an earlier demo is replaced whole"
    assert not list(tmp_path.glob("*.building*"))
