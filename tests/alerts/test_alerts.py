"""Tests for emotion_core/alerts/: the pieces of the rules on hand-made series, and the
acceptance test on synthetic terms with planted anomalies, stored in a real DuckDB file."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from support.alert_lessons import HandMadeLessons, readings, sad_between

from benchmarks.synthetic_lessons import (
    Score,
    SyntheticTerm,
    TermPlan,
    make_term,
    observation_rows,
    score,
    write_term,
)
from emotion_core.alerts.checks import check_alerts, current_alerts
from emotion_core.alerts.conditions import condition_runs, odds_times
from emotion_core.alerts.finding import match_alerts
from emotion_core.alerts.rules import RULES
from emotion_core.alerts.timeline import expression_balance, lesson_timeline, median_of_others
from emotion_core.core.alert_settings import AlertSettings, Guards, threshold_names
from emotion_core.store.store import Store

# -- the pieces --------------------------------------------------------------------------------


def test_balance_is_a_log2_ratio_of_happy_to_negative() -> None:
    assert float(expression_balance(0.3, 0.3)) == pytest.approx(0.0)
    assert float(expression_balance(0.59, 0.29)) == pytest.approx(1.0)
    assert float(expression_balance(0.09, 0.39)) == pytest.approx(-2.0)
    # a constant lean on one face shifts the balance, it does not squash its changes
    assert float(expression_balance(0.0, 1.0)) == pytest.approx(np.log2(0.01 / 1.01))


def test_odds_times_scales_the_odds_of_a_share() -> None:
    assert odds_times(0.5, 3.0) == pytest.approx(0.75)
    assert odds_times(0.8, 3.0) == pytest.approx(12 / 13)
    assert odds_times(1.0, 3.0) == 1.0


def test_median_of_others_is_the_leave_one_out_median() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        values = rng.normal(size=(rng.integers(1, 7), rng.integers(1, 20)))
        values[rng.random(values.shape) < 0.4] = np.nan
        medians, counts = median_of_others(values)
        for row in range(values.shape[0]):
            others = np.delete(values, row, axis=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = (np.nanmedian(others, axis=0) if len(others)
                            else np.full(values.shape[1], np.nan))
            np.testing.assert_allclose(medians[row], expected)
            np.testing.assert_array_equal(counts[row], (~np.isnan(others)).sum(axis=0))


def test_runs_bridge_short_lapses_and_end_at_long_ones() -> None:
    #                    0  1  2  3  4  5  6  7  8  9 10 11
    visible = np.array([1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], dtype=bool)
    holds = np.array([1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1], dtype=bool)
    runs = condition_runs(holds, visible, bin_s=1.0, max_gap_s=2.0)
    # two bins out of view and one where it fails are bridged; three failing ones are not, and
    # bins out of view or failing do not count as time in the run
    assert [(r.first, r.last, r.bins.tolist()) for r in runs] == [
        (0, 6, [0, 1, 4, 6]), (10, 11, [10, 11])]
    assert runs[0].visible_s(1.0) == 4.0
    assert condition_runs(holds, np.zeros(12, dtype=bool), 1.0, 2.0) == []
    assert len(condition_runs(holds, visible, bin_s=1.0, max_gap_s=0.0)) == 4


def test_the_timeline_leaves_out_unknown_students_and_poor_detections() -> None:
    t = np.arange(0.0, 10.0, 0.5)
    rng = np.random.default_rng(0)
    rows = pd.concat([
        observation_rows(t, 1, readings(len(t), 0.2, 0.3, rng), 0.95),
        observation_rows(t, 2, readings(len(t), 0.2, 0.3, rng), 0.85),  # poor detections
        observation_rows(t, 3, readings(len(t), 0.2, 0.3, rng), 0.95).assign(
            student_id=pd.array([None] * len(t), dtype="Int64")),  # identity unknown
    ])
    timeline = lesson_timeline(7, rows, Guards())
    assert timeline is not None
    assert timeline.video_id == 7 and timeline.student_ids.tolist() == [1]
    assert timeline.bin_s == 1.0 and timeline.frames.tolist() == [[2] * 10]
    assert lesson_timeline(7, rows[rows["student_id"] == 2], Guards()) is None


def test_bins_widen_to_the_sampling_interval_and_faces_of_one_frame_are_averaged() -> None:
    t = np.arange(0.0, 60.0, 2.0)  # sampled at 0.5 frames a second
    one = np.tile([[0.0, 0.0, 0.0, 0.4, 0.2, 0.0, 0.4]], (len(t), 1))
    two = np.tile([[0.0, 0.0, 0.0, 0.2, 0.4, 0.0, 0.4]], (len(t), 1))
    rows = pd.concat([observation_rows(t, 5, one), observation_rows(t, 5, two).assign(track_id=9)])
    timeline = lesson_timeline(1, rows, Guards())
    assert timeline is not None and timeline.bin_s == 2.0
    assert timeline.frames.shape == (1, 30) and (timeline.frames == 2).all()
    np.testing.assert_allclose(timeline.happy, 0.3)
    np.testing.assert_allclose(timeline.negative, 0.3)
    series = timeline.student(5)
    assert list(series["t_s"]) == list(t)
    np.testing.assert_allclose(series["balance"], 0.0, atol=1e-12)


def test_settings_change_by_name_and_refuse_what_they_do_not_know() -> None:
    settings = AlertSettings().with_overrides({"sharp_drop.drop": "3", "guards.min_frames": 30.0})
    assert settings.sharp_drop.drop == 3.0 and settings.guards.min_frames == 30
    assert isinstance(settings.guards.min_frames, int)
    assert AlertSettings().sharp_drop.drop != 3.0  # the defaults are left alone
    for bad, message in [({"sharp_drop.nope": 1}, "unknown threshold"),
                         ({"nope": 1}, "unknown threshold"),
                         ({"guards.min_frames": "many"}, "needs a whole number"),
                         ({"apart_from_class.gap": -1}, "cannot be negative")]:
        with pytest.raises(ValueError, match=message):
            AlertSettings().with_overrides(bad)
    assert "sustained_negative.odds_ratio" in threshold_names()


def test_every_rule_explains_itself_with_its_thresholds() -> None:
    settings = AlertSettings()
    assert set(RULES) == {"sustained_negative", "below_own_baseline", "apart_from_class",
                          "sharp_drop"}
    for rule in RULES.values():
        text = rule.explain(settings)
        assert "{" not in text and len(text) > 100
    assert "at least 45 seconds" in RULES["sustained_negative"].explain(
        settings.with_overrides({"sustained_negative.min_visible_s": 45}))


def test_matching_pairs_overlapping_windows_one_to_one_largest_overlap_first() -> None:
    key = {"rule": "sharp_drop", "video_id": 1, "student_id": 4}
    stored = pd.DataFrame([
        {**key, "alert_id": 10, "window_start_s": 100.0, "window_end_s": 200.0},
        {**key, "alert_id": 11, "window_start_s": 190.0, "window_end_s": 300.0},
        {**key, "alert_id": 12, "window_start_s": 900.0, "window_end_s": 950.0},
        {**key, "student_id": 5, "alert_id": 13, "window_start_s": 100.0, "window_end_s": 200.0},
    ])
    found = pd.DataFrame([
        {**key, "window_start_s": 195.0, "window_end_s": 290.0},  # mostly 11's
        {**key, "window_start_s": 105.0, "window_end_s": 198.0},  # 10's
        {**key, "window_start_s": 500.0, "window_end_s": 600.0},  # new
        {**key, "rule": "apart_from_class", "window_start_s": 100.0, "window_end_s": 200.0},
    ])
    matched, gone = match_alerts(stored, found)
    assert matched["alert_id"].tolist() == [11, 10, pd.NA, pd.NA]
    assert gone == [12, 13]
    matched, gone = match_alerts(stored.iloc[0:0], found)
    assert matched["alert_id"].isna().all() and gone == []


# -- the guards --------------------------------------------------------------------------------


def test_a_handful_of_frames_raises_nothing() -> None:
    lessons = HandMadeLessons()

    def seen_briefly(student: int, t: np.ndarray, probabilities: np.ndarray, scores: np.ndarray,
                     seen: np.ndarray, rng: np.random.Generator) -> None:
        if student == 3:
            seen[:] = (t >= 300) & (t < 315)
            probabilities[:] = readings(len(t), 0.01, 0.95, rng)

    alerts = lessons.alerts([lessons.lesson(i, seen_briefly if i == 3 else None)
                             for i in range(5)])
    assert alerts.empty, alerts["summary"].tolist()


def test_poor_detections_read_as_sad_raise_nothing_though_the_same_readings_would() -> None:
    lessons = HandMadeLessons()
    calm = [lessons.lesson(i) for i in range(4)]
    looking_down = lessons.lesson(4, sad_between(6, 200, 380, score=0.85))
    assert lessons.alerts([*calm, looking_down]).empty
    well_seen = lessons.alerts([*calm, lessons.lesson(4, sad_between(6, 200, 380, score=0.97))])
    assert set(well_seen["rule"]) >= {"sustained_negative", "sharp_drop", "apart_from_class"}
    assert set(well_seen["student_id"]) == {6} and set(well_seen["video_id"]) == {5}


def test_a_face_always_read_as_negative_is_not_flagged_for_it() -> None:
    lessons = HandMadeLessons()

    def always_sad(student: int, t: np.ndarray, probabilities: np.ndarray, scores: np.ndarray,
                   seen: np.ndarray, rng: np.random.Generator) -> None:
        if student == 2:
            probabilities[:] = readings(len(t), 0.03, 0.85, rng)

    alerts = lessons.alerts([lessons.lesson(i, always_sad) for i in range(5)])
    assert alerts.empty, alerts["summary"].tolist()


def test_the_sustained_negative_rule_needs_its_minimum_time_in_view() -> None:
    lessons = HandMadeLessons()
    calm = [lessons.lesson(i) for i in range(4)]
    needed = AlertSettings().sustained_negative.min_visible_s

    def sad_for(seconds: float) -> pd.DataFrame:
        alerts = lessons.alerts([*calm, lessons.lesson(4, sad_between(6, 200, 200 + seconds))])
        return alerts[alerts["rule"] == "sustained_negative"]

    assert sad_for(needed - 30).empty  # smoothing spreads it by seconds, not by half a minute
    found = sad_for(needed + 30)
    assert len(found) == 1
    alert = found.iloc[0]
    assert 185 <= alert["window_start_s"] <= 205
    assert 225 + needed <= alert["window_end_s"] <= 245 + needed
    assert alert["numbers"]["negative_share"] > 0.7
    assert alert["numbers"]["usual_share"] == pytest.approx(0.3, abs=0.03)
    assert alert["thresholds"]["min_visible_s"] == needed
    assert alert["thresholds"]["guards"]["min_detection_score"] == 0.9


# -- the acceptance test: planted anomalies in synthetic terms, through DuckDB -----------------

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def checked_term(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticTerm, Score]:
    term = make_term(TermPlan(seed=request.param))
    with Store(tmp_path_factory.mktemp("term") / "term.duckdb") as store:
        video_ids = write_term(store, term)
        check_alerts(store)
        return term, score(current_alerts(store), term, video_ids)


def test_every_planted_anomaly_is_found_by_its_rule(checked_term) -> None:  # type: ignore[no-untyped-def]
    term, result = checked_term
    assert result.planted == 8 and {p.rule for p in term.planted} == set(RULES)
    assert result.missed == [], result.missed
    assert result.recall == 1.0


def test_at_most_one_false_alert_per_30_student_lessons(checked_term) -> None:  # type: ignore[no-untyped-def]
    _, result = checked_term
    assert result.clean_student_lessons == 64
    assert result.false_per_30 <= 1.0, result.false_alert_rows[["rule", "summary"]].to_string()


def test_students_the_model_always_reads_one_way_are_not_flagged(checked_term) -> None:  # type: ignore[no-untyped-def]
    term, result = checked_term
    assert sorted(term.biased.values()) == ["angry", "happy", "sad"]
    assert result.biased_flagged == 0, result.false_alert_rows[["rule", "summary"]].to_string()
