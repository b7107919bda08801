"""Tests for emotion_core/alerts/checks.py and the alert tables of the store, with a real DuckDB
file: alerts kept across checks and re-analyses, people's decisions, evidence, and
``python -m emotion_core alerts``."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support.alert_lessons import HandMadeLessons, sad_between
from support.env import child_env

from benchmarks.synthetic_lessons import lesson_record, write_lesson
from emotion_core.alerts.checks import alert_evidence, check_alerts, current_alerts
from emotion_core.core.alert_settings import AlertSettings
from emotion_core.store.schema import MIGRATIONS, SCHEMA_VERSION
from emotion_core.store.settings import SettingsError
from emotion_core.store.store import Store, StoreError

SAD_STUDENT = 6


def write_calm_term(store: Store, lessons: HandMadeLessons, count: int = 4) -> None:
    for i in range(count):
        write_lesson(store, lesson_record(f"calm_{i}", date(2026, 9, 1 + i), duration_s=600),
                     lessons.lesson(i))


def write_sad_lesson(store: Store, lessons: HandMadeLessons, start: float = 200.0,
                     seed_lesson: int = 4) -> int:
    """Student 6 reads sad for two minutes from ``start``; the same video every time."""
    return write_lesson(store, lesson_record("sad", date(2026, 9, 10), duration_s=600),
                        lessons.lesson(seed_lesson, sad_between(SAD_STUDENT, start, start + 120)))


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "alerts.duckdb") as store:
        yield store


def test_a_check_stores_what_it_finds_and_is_skipped_when_nothing_changed(store: Store) -> None:
    lessons = HandMadeLessons()
    write_calm_term(store, lessons)
    sad_video = write_sad_lesson(store, lessons)
    first = check_alerts(store)
    assert first.checked and first.raised >= 2 and first.kept == first.cleared == 0
    alerts = current_alerts(store)
    assert len(alerts) == first.raised
    assert set(alerts["video_id"]) == {sad_video} and set(alerts["student_id"]) == {SAD_STUDENT}
    assert {"sustained_negative", "sharp_drop"} <= set(alerts["rule"])
    row = alerts[alerts["rule"] == "sustained_negative"].iloc[0]
    assert row["file_name"] == "sad.mp4" and row["class_group"] == "7B"
    assert row["title"] == "Sustained negative expression" and row["status"] == "open"
    assert row["numbers"]["negative_share"] > 0.7 and row["thresholds"]["odds_ratio"] == 3.0
    assert "sad, fearful, angry or disgusted" in row["summary"]

    again = check_alerts(store)
    assert not again.checked
    assert check_alerts(store, force=True).kept == first.raised
    # other thresholds are another check
    stricter = check_alerts(store, AlertSettings().with_overrides(
        {"sustained_negative.min_visible_s": 300}))
    assert stricter.checked and stricter.cleared >= 1
    assert "sustained_negative" not in set(current_alerts(store)["rule"])


def test_a_dismissed_alert_stays_dismissed_after_its_lesson_is_analysed_again(
    store: Store,
) -> None:
    lessons = HandMadeLessons()
    write_calm_term(store, lessons)
    write_sad_lesson(store, lessons, start=200)
    check_alerts(store)
    sad = current_alerts(store).set_index("rule").loc["sustained_negative"]
    store.review_alert(int(sad["alert_id"]), "dismissed", "she had just been told off; we know")
    assert "sustained_negative" not in set(current_alerts(store)["rule"])

    # analysed again: every row replaced, readings differ, the episode a few seconds later
    write_sad_lesson(store, lessons, start=205, seed_lesson=9)
    assert check_alerts(store).checked
    again = current_alerts(store, include_dismissed=True).set_index("rule").loc[
        "sustained_negative"]
    assert again["alert_id"] == sad["alert_id"]
    assert again["status"] == "dismissed"
    assert again["review_note"] == "she had just been told off; we know"
    assert again["window_start_s"] != sad["window_start_s"]  # the new numbers are shown
    assert "sustained_negative" not in set(current_alerts(store)["rule"])


def test_decisions_outlive_an_alert_that_goes_away_and_comes_back(store: Store) -> None:
    lessons = HandMadeLessons()
    write_calm_term(store, lessons)
    write_sad_lesson(store, lessons)
    check_alerts(store)
    alerts = current_alerts(store).set_index("rule")
    confirmed = int(alerts.loc["sustained_negative", "alert_id"])
    left_open = int(alerts.loc["sharp_drop", "alert_id"])
    store.review_alert(confirmed, "confirmed")

    # re-analysed calm: nothing raised; the open alert goes, the confirmed one waits, inactive
    write_lesson(store, lesson_record("sad", date(2026, 9, 10), duration_s=600), lessons.lesson(4))
    assert check_alerts(store).cleared == len(alerts)
    assert current_alerts(store).empty
    kept = store.alerts(include_inactive=True)
    assert kept["alert_id"].tolist() == [confirmed] and not kept["active"].iloc[0]

    write_sad_lesson(store, lessons)
    check_alerts(store)
    back = current_alerts(store).set_index("rule")
    assert back.loc["sustained_negative", "alert_id"] == confirmed
    assert back.loc["sustained_negative", "status"] == "confirmed"
    assert back.loc["sharp_drop", "alert_id"] != left_open  # nobody had looked at that one
    assert back.loc["sharp_drop", "status"] == "open"


def test_two_checks_at_once_store_each_alert_once(store: Store) -> None:
    lessons = HandMadeLessons()
    write_calm_term(store, lessons)
    write_sad_lesson(store, lessons)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: check_alerts(store), range(2)))
    assert sorted(r.checked for r in results) == [False, True]
    stored = store.alerts(include_inactive=True)
    assert len(stored) == max(r.raised for r in results) >= 2
    assert not stored.duplicated(["rule", "video_id", "student_id"]).any()


def test_reviews_are_checked(store: Store) -> None:
    lessons = HandMadeLessons()
    write_calm_term(store, lessons)
    write_sad_lesson(store, lessons)
    check_alerts(store)
    alert_id = int(current_alerts(store)["alert_id"].iloc[0])
    with pytest.raises(KeyError):
        store.review_alert(99999, "dismissed")
    with pytest.raises(ValueError, match="one of open, dismissed, confirmed"):
        store.review_alert(alert_id, "ignored")
    store.review_alert(alert_id, "dismissed", "why")
    store.review_alert(alert_id, "open")  # undone
    alert = store.alert(alert_id)
    assert alert is not None and alert["status"] == "open"
    assert pd.isna(alert["reviewed_at"]) and pd.isna(alert["review_note"])


def test_evidence_is_the_students_series_over_the_lesson_with_the_window(store: Store) -> None:
    lessons = HandMadeLessons()
    write_calm_term(store, lessons)
    write_sad_lesson(store, lessons)
    check_alerts(store)
    alert = current_alerts(store).set_index("rule").loc["sustained_negative"]
    evidence = alert_evidence(store, int(alert["alert_id"]))
    assert evidence.rule.name == "sustained_negative"
    assert evidence.window == (alert["window_start_s"], alert["window_end_s"])
    series = evidence.series
    assert list(series.columns) == ["t_s", "frames", "balance", "negative_share",
                                    "class_balance", "classmates", "in_window"]
    assert series["t_s"].is_monotonic_increasing and series["t_s"].iloc[-1] >= 590
    inside, outside = series[series["in_window"]], series[~series["in_window"]]
    assert inside["t_s"].min() >= evidence.window[0] and inside["t_s"].max() < evidence.window[1]
    assert inside["negative_share"].mean() > 0.7
    assert outside["negative_share"].median() < 0.4
    assert (series["classmates"] == 9).all()
    with pytest.raises(KeyError):
        alert_evidence(store, 99999)


def test_a_database_of_the_first_schema_gains_the_alert_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute(MIGRATIONS[0])
        con.execute("INSERT INTO schema_version VALUES (1)")
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.alerts().empty and store.last_alert_check() is None
        assert not check_alerts(store).raised


def test_alert_observations_are_the_rows_with_a_student(store: Store) -> None:
    lessons = HandMadeLessons(students=2, seconds=10)
    rows = lessons.lesson(0)
    rows.loc[rows["student_id"] == 2, "student_id"] = pd.NA
    video_id = write_lesson(store, lesson_record("two"), rows)
    got = store.alert_observations(video_id, ["observed_at_s", "student_id", "happy"])
    assert list(got.columns) == ["observed_at_s", "student_id", "happy"]
    assert set(got["student_id"]) == {1} and len(got) == 20
    with pytest.raises(ValueError, match="no columns"):
        store.alert_observations(video_id, ["observed_at_s; DROP TABLE videos"])
    fingerprint = store.observations_fingerprint()
    write_lesson(store, lesson_record("two"), rows.assign(student_id=1))
    assert store.observations_fingerprint() != fingerprint
    fingerprint = store.observations_fingerprint()
    write_lesson(store, lesson_record("two"), rows.assign(student_id=1, happy=0.5))
    assert store.observations_fingerprint() != fingerprint  # read by another model


# -- the command line ------------------------------------------------------------------------


def alerts_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emotion_core", "alerts", *map(str, args)],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.mark.subprocess
def test_the_command_line_lists_explains_and_records_decisions(tmp_path: Path) -> None:
    db = tmp_path / "class.duckdb"
    with Store(db) as store:
        lessons = HandMadeLessons()
        write_calm_term(store, lessons)
        write_sad_lesson(store, lessons)

    listed = alerts_cli("--db", db, "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "alerts checked:" in listed.stderr
    alerts = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(alerts) >= 2 and {a["student_id"] for a in alerts} == {SAD_STUDENT}
    first = alerts[0]
    assert set(first) == {"alert_id", "rule", "title", "status", "video_id", "file_name",
                          "class_group", "recorded_on", "student_id", "window_start_s",
                          "window_end_s", "summary", "numbers", "thresholds", "review_note"}
    assert first["recorded_on"] == "2026-09-10" and first["status"] == "open"

    dismissed = alerts_cli("--db", db, "--dismiss", first["alert_id"], "--note", "known",
                           cwd=tmp_path)
    assert dismissed.returncode == 0 and f"alert {first['alert_id']}: dismissed" in dismissed.stdout
    text = alerts_cli("--db", db, cwd=tmp_path)
    assert text.returncode == 0 and "nothing changed since the last check" in text.stderr
    assert f"#{first['alert_id']} " not in text.stdout
    assert f"{len(alerts) - 1} alert" in text.stdout and "--all shows them" in text.stdout
    every = alerts_cli("--db", db, "--all", cwd=tmp_path)
    assert f"#{first['alert_id']} dismissed" in every.stdout
    assert "sad.mp4 (7B, 2026-09-10)" in every.stdout

    stricter = alerts_cli("--db", db, "--json", "--set", "sharp_drop.drop=9", cwd=tmp_path)
    assert "sharp_drop" not in {json.loads(line)["rule"] for line in stricter.stdout.splitlines()}
    assert "thresholds saved" in stricter.stderr
    # kept in the database: the app's check and later ones use it
    with Store(db, read_only=True) as store:
        assert store.alert_settings().sharp_drop.drop == 9.0
        assert store.setting("alerts.sharp_drop.drop") == 9.0

    rules = alerts_cli("--db", db, "--rules", "--set", "apart_from_class.gap=4", cwd=tmp_path)
    assert rules.returncode == 0
    assert "apart_from_class: Apart from the class" in rules.stdout
    assert "--set apart_from_class.gap=4.0" in rules.stdout
    assert "--set sharp_drop.drop=9.0" in rules.stdout

    reset = alerts_cli("--db", db, "--reset-thresholds", "--json", cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr
    # the defaults again: the alerts of the first check, less the one dismissed
    assert sorted(json.loads(line)["alert_id"] for line in reset.stdout.splitlines()) == sorted(
        a["alert_id"] for a in alerts[1:])
    rules = alerts_cli("--db", db, "--rules", cwd=tmp_path)
    assert "--set sharp_drop.drop=2.5" in rules.stdout
    assert "--set apart_from_class.gap=3.0" in rules.stdout
    # without a database --rules shows the defaults
    defaults = alerts_cli("--rules", "--db", tmp_path / "none.duckdb", cwd=tmp_path)
    assert defaults.returncode == 0 and "--set sharp_drop.drop=2.5" in defaults.stdout


@pytest.mark.subprocess
def test_the_command_line_explains_what_it_cannot_do(tmp_path: Path) -> None:
    missing = alerts_cli("--db", tmp_path / "none.duckdb", cwd=tmp_path)
    assert missing.returncode == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "none.duckdb").exists()
    with Store(tmp_path / "empty.duckdb"):
        pass
    for args, message in [(("--set", "nope=1"), "unknown threshold 'nope'"),
                          (("--set", "sharp_drop.drop"), "--set needs RULE.THRESHOLD=VALUE"),
                          (("--set", "sharp_drop.drop=-1"), "sharp_drop.drop cannot be negative"),
                          (("--set", "guards.min_frames=many"), "guards.min_frames needs a whole number"),
                          (("--dismiss", "42"), "there is no alert 42")]:
        done = alerts_cli("--db", tmp_path / "empty.duckdb", *args, cwd=tmp_path)
        assert done.returncode != 0 and f"error: {message}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    empty = alerts_cli("--db", tmp_path / "empty.duckdb", cwd=tmp_path)
    assert empty.returncode == 0 and "0 alerts" in empty.stdout


def test_nothing_is_stored_for_a_database_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database at"):
        Store(tmp_path / "none.duckdb", create=False)
    assert not (tmp_path / "none.duckdb").exists()


def test_thresholds_kept_in_the_database_are_the_ones_checked(tmp_path: Path) -> None:
    with Store(tmp_path / "t.duckdb") as store:
        assert store.alert_settings() == AlertSettings()
        store.set_alert_thresholds({"sharp_drop.drop": "9", "guards.min_frames": 30})
        assert store.alert_settings().sharp_drop.drop == 9.0
        assert store.alert_settings().guards.min_frames == 30
        # one bad name or value: refused, nothing changed
        for bad in ({"sharp_drop.drop": "1", "nope.nothing": "1"}, {"sharp_drop.drop": "-2"}):
            with pytest.raises(SettingsError):
                store.set_alert_thresholds(bad)
            assert store.alert_settings().sharp_drop.drop == 9.0
        store.set_alert_thresholds({}, reset=True)
        assert store.alert_settings() == AlertSettings()
