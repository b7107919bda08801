"""Tests for emotion_core/store/ with a real DuckDB file: migrations, replace semantics,
failures, recovery after a crash, export, and a database locked by another process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from support.env import PROJECT_ROOT, database_held_open
from support.store_rows import observations, record, summary

from emotion_core.core.labels import EMOTIONS
from emotion_core.store.records import VideoRecord
from emotion_core.store.schema import OBSERVATION_COLUMNS, SCHEMA_VERSION
from emotion_core.store.store import DB_ENV_VAR, Store, StoreError, default_db_path


def analyse(store: Store, video: VideoRecord, frames: int, faces_per_frame: int, seed: int,
            parameters: dict[str, object] | None = None) -> int:
    """Write a complete analysis the way the pipeline does: begin, stage in batches, finish."""
    video_id = store.begin_analysis(video, parameters or {"sample_fps": 2.0})
    rows = observations(video_id, frames, faces_per_frame, seed)
    for start in range(0, len(rows), 7):
        store.stage_observations(rows.iloc[start : start + 7])
    store.finish_analysis(video_id, summary(frames, len(rows), faces_per_frame))
    return video_id


def staged_rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*) FROM observations_staging").fetchone()[0]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "lessons.duckdb"


# -- schema and migrations --------------------------------------------------------------------


def test_a_new_database_gets_the_current_schema(db_path: Path) -> None:
    with Store(db_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.videos().empty and store.observations().empty
        assert list(store.observations().columns) == list(OBSERVATION_COLUMNS)


def test_reopening_migrates_nothing_twice(db_path: Path) -> None:
    with Store(db_path) as store:
        video_id = analyse(store, record(), frames=4, faces_per_frame=3, seed=1)
    for _ in range(2):
        with Store(db_path) as store:
            assert store.schema_version() == SCHEMA_VERSION
            assert len(store.observations(video_id)) == 12
    with duckdb.connect(str(db_path), read_only=True) as con:
        versions = [v for (v,) in con.execute("SELECT version FROM schema_version").fetchall()]
    assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))


def test_a_database_from_a_newer_program_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    with duckdb.connect(str(db_path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION + 1])
    with pytest.raises(StoreError, match="newer version"):
        Store(db_path)


def test_read_only_needs_an_existing_migrated_database(db_path: Path) -> None:
    with pytest.raises(StoreError, match="analyse a video first"):
        Store(db_path, read_only=True)
    assert not db_path.exists(), "a reader creates nothing"
    duckdb.connect(str(db_path)).close()  # a DuckDB file this program never wrote
    with pytest.raises(StoreError, match="schema version 0"):
        Store(db_path, read_only=True)


def test_a_file_that_is_not_duckdb_is_a_clear_error(db_path: Path) -> None:
    db_path.write_text("not a database\n" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        Store(db_path)


def test_default_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "elsewhere.duckdb"))
    assert default_db_path() == tmp_path / "elsewhere.duckdb"
    with Store() as store:
        assert store.path == tmp_path / "elsewhere.duckdb"
    assert (tmp_path / "elsewhere.duckdb").is_file()
    monkeypatch.delenv(DB_ENV_VAR)
    assert default_db_path() == Path("data") / "classroom.duckdb"


# -- writing analyses -------------------------------------------------------------------------


def test_a_finished_analysis_is_stored_with_its_summary(db_path: Path) -> None:
    with Store(db_path) as store:
        video = record(class_group="5B", recorded_on=date(2024, 3, 1))
        video_id = analyse(store, video, frames=6, faces_per_frame=4, seed=2)
        row = store.video(video_id)
        rows = store.observations(video_id)
    assert row is not None
    assert (row["status"], row["failure_reason"]) == ("done", None)
    assert (row["frames_sampled"], row["faces"], row["tracks"]) == (6, 24, 4)
    assert (row["emotion_model"], row["detector"], row["class_group"]) == ("fer", "mtcnn(test)", "5B")
    assert json.loads(row["parameters"]) == {"sample_fps": 2.0}
    assert len(rows) == 24 and staged_rows(db_path) == 0
    assert rows[["frame_index", "track_id"]].apply(tuple, axis=1).is_monotonic_increasing
    np.testing.assert_allclose(rows[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-5)


def test_analysing_the_same_video_again_replaces_its_rows(db_path: Path) -> None:
    with Store(db_path) as store:
        other = analyse(store, record("other.mp4", "b" * 64), frames=2, faces_per_frame=2, seed=9)
        first = analyse(store, record(), frames=6, faces_per_frame=4, seed=2)
        before = store.observations(first)
        second = analyse(store, record("renamed.mp4", class_group="5B"), frames=6,
                         faces_per_frame=4, seed=3, parameters={"sample_fps": 4.0})
        after = store.observations(second)
        videos = store.videos()
        assert len(store.observations(other)) == 4, "other lessons are untouched"
    assert second == first
    assert len(videos) == 2
    assert len(after) == len(before) == 24
    assert not after.duplicated(["frame_index", "track_id"]).any()
    assert not np.allclose(after["angry"], before["angry"]), "the rows are the new analysis's"
    row = videos.set_index("video_id").loc[first]
    assert (row["file_name"], row["class_group"]) == ("renamed.mp4", "5B")
    assert json.loads(row["parameters"]) == {"sample_fps": 4.0}


def test_a_failed_first_analysis_leaves_no_rows(db_path: Path) -> None:
    with Store(db_path) as store:
        earlier = analyse(store, record("earlier.mp4", "b" * 64), frames=3, faces_per_frame=2,
                          seed=5)
        earlier_rows = store.observations(earlier)
        video_id = store.begin_analysis(record(), {"sample_fps": 2.0})
        store.stage_observations(observations(video_id, 4, 2, seed=6))
        store.fail_analysis(video_id, "the file looks truncated")
        row = store.video(video_id)
        assert store.observations(video_id).empty
        pd.testing.assert_frame_equal(store.observations(earlier), earlier_rows)
        assert store.video(earlier)["status"] == "done"
    assert (row["status"], row["failure_reason"]) == ("failed", "the file looks truncated")
    assert staged_rows(db_path) == 0


def test_a_failed_reanalysis_keeps_the_earlier_result(db_path: Path) -> None:
    with Store(db_path) as store:
        video_id = analyse(store, record(), frames=5, faces_per_frame=3, seed=7,
                           parameters={"sample_fps": 2.0, "emotion_model": "fer"})
        before_rows = store.observations(video_id)
        before = store.video(video_id)
        again = store.begin_analysis(record(), {"sample_fps": 8.0, "emotion_model": "deepface"})
        assert store.video(again)["status"] == "running"
        store.stage_observations(observations(again, 2, 3, seed=8))
        store.fail_analysis(again, "analysis failed: RuntimeError: boom")
        after = store.video(video_id)
        pd.testing.assert_frame_equal(store.observations(video_id), before_rows)
    assert again == video_id
    assert (after["status"], after["failure_reason"]) == ("done", "analysis failed: RuntimeError: boom")
    # what the row says about how its observations were made still describes those observations
    for key in ("frames_sampled", "faces", "tracks", "emotion_model", "detector", "analysed_at"):
        assert after[key] == before[key], key
    assert json.loads(after["parameters"]) == {"sample_fps": 2.0, "emotion_model": "fer"}
    assert staged_rows(db_path) == 0


def test_staging_checks_columns_and_ignores_empty_batches(db_path: Path) -> None:
    with Store(db_path) as store:
        video_id = store.begin_analysis(record(), {})
        store.stage_observations(pd.DataFrame())
        with pytest.raises(ValueError, match="lack columns"):
            store.stage_observations(observations(video_id, 1, 1, 0).drop(columns=["happy"]))
        # extra columns and another column order are fine: rows are written by name
        rows = observations(video_id, 2, 2, 0)
        store.stage_observations(rows[list(reversed(rows.columns))].assign(extra=1))
        store.finish_analysis(video_id, summary(2, 4, 2))
        stored = store.observations(video_id)
    assert len(stored) == 4
    np.testing.assert_allclose(stored["happy"], rows["happy"], rtol=1e-6)


# -- a process that died mid-analysis -----------------------------------------------------------

CRASHING_WRITER = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, sys.argv[2])
    from support.store_rows import observations, record
    from emotion_core.store.store import Store

    store = Store(sys.argv[1])
    for name, sha in json.loads(sys.argv[3]):
        video_id = store.begin_analysis(record(name, sha), {"sample_fps": 2.0})
        store.stage_observations(observations(video_id, 3, 2, seed=11))
    os._exit(1)  # killed mid-analysis: no fail_analysis, no close
    """
)


def crash_mid_analysis(db_path: Path, *videos: tuple[str, str]) -> None:
    tests = Path(__file__).parents[1]  # (where ``support`` is)
    subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(db_path), str(tests), json.dumps(videos)],
        cwd=PROJECT_ROOT, check=False, timeout=120,
    )


def test_an_interrupted_analysis_is_recovered_on_open(db_path: Path) -> None:
    with Store(db_path) as store:
        done = analyse(store, record("done.mp4", "d" * 64), frames=4, faces_per_frame=2, seed=1)
        done_rows = store.observations(done)
    # a new lesson and a re-analysis of a finished one, both cut off by a dying process
    crash_mid_analysis(db_path, ("new.mp4", "e" * 64), ("done.mp4", "d" * 64))
    with duckdb.connect(str(db_path), read_only=True) as con:
        statuses = dict(con.execute("SELECT file_name, status FROM videos").fetchall())
        assert statuses == {"done.mp4": "running", "new.mp4": "running"}, "the crash left them"
        assert con.execute("SELECT count(*) FROM observations_staging").fetchone()[0] == 12

    with Store(db_path) as store:
        videos = store.videos().set_index("file_name")
        pd.testing.assert_frame_equal(store.observations(done), done_rows)
        new_id = int(videos.loc["new.mp4", "video_id"])
        assert store.observations(new_id).empty
    assert videos.loc["new.mp4", "status"] == "failed"
    assert "interrupted" in videos.loc["new.mp4", "failure_reason"]
    assert videos.loc["done.mp4", "status"] == "done"
    assert staged_rows(db_path) == 0


def test_opening_the_database_again_in_the_same_process_spares_running_analyses(
    db_path: Path,
) -> None:
    """A page of the app opening the database while a background job analyses a lesson."""
    with Store(db_path) as worker:
        video_id = worker.begin_analysis(record(), {"sample_fps": 2.0})
        worker.stage_observations(observations(video_id, 3, 2, seed=1))
        with Store(db_path) as page:
            assert page.video(video_id)["status"] == "running"
        worker.stage_observations(observations(video_id, 3, 2, seed=2).assign(
            frame_index=lambda rows: rows.frame_index + 100))
        worker.finish_analysis(video_id, summary(6, 12, 2))
        assert worker.video(video_id)["status"] == "done"
        assert len(worker.observations(video_id)) == 12, "no staged rows were lost"


def test_an_analysis_left_open_when_its_store_closes_is_recovered(db_path: Path) -> None:
    store = Store(db_path)
    video_id = store.begin_analysis(record(), {})
    store.stage_observations(observations(video_id, 2, 2, seed=1))
    store.close()
    with Store(db_path) as again:
        assert again.video(video_id)["status"] == "failed"
    assert staged_rows(db_path) == 0


# -- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_writes_every_observation(db_path: Path, tmp_path: Path, file_format: str) -> None:
    with Store(db_path) as store:
        analyse(store, record("a.mp4", "a" * 64, class_group="5B"), 3, 2, seed=1)
        analyse(store, record("b.mp4", "b" * 64), 4, 3, seed=2)
    out = tmp_path / "out" / f"observations.{file_format}"
    with Store(db_path, read_only=True) as store:
        assert store.export_observations(out, file_format) == 18
    reader = "read_csv_auto" if file_format == "csv" else "read_parquet"
    exported = duckdb.sql(f"SELECT * FROM {reader}('{out}')").df()
    assert len(exported) == 18
    assert list(exported.columns) == ["file_name", "class_group", "recorded_on",
                                      *OBSERVATION_COLUMNS]
    assert exported.groupby("file_name").size().to_dict() == {"a.mp4": 6, "b.mp4": 12}


def test_export_refuses_unknown_formats(db_path: Path, tmp_path: Path) -> None:
    with Store(db_path) as store, pytest.raises(ValueError, match="csv or parquet"):
        store.export_observations(tmp_path / "x.json", "json")


# -- another process holds the database ------------------------------------------------------------


def test_a_database_locked_by_another_process_is_a_clear_error(db_path: Path) -> None:
    Store(db_path).close()
    with database_held_open(db_path):
        for read_only in (False, True):
            with pytest.raises(StoreError, match="in use by another process"):
                Store(db_path, read_only=read_only)
    Store(db_path).close()  # usable again once the other process is gone
