"""Faults and concurrent jobs (issue 7): an analysis killed midway (SIGKILL), and two analyses
started at once into one database, all through ``python -m emotion_core analyze``.

"Midway" is read from the child's ``--progress-json`` lines on stderr: each is printed after a
batch of rows has been committed to the staging table (DuckDB lets no other process open the
file while the child holds it, so the tests cannot look inside until it is gone).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from support.cli_run import Snapshot, cli_command, cli_env, error_lines, run_cli
from support.env import database_held_open

from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisSettings
from emotion_core.store.store import Store

pytestmark = [pytest.mark.subprocess, pytest.mark.real_data]

INTERRUPTED = "the analysis was interrupted before it finished"
# The CCTV clip (11 s) at 3 frames a second is 33 frames: three batches (16, 16, 1).
LONG_RUN = ("--fps", "3", "--emotion-model", "fer", "--embedding-model", "Dlib")
KEY = ["video_id", "frame_index", "track_id"]


@pytest.fixture(scope="module")
def first_lesson_db(tmp_path_factory: pytest.TempPathFactory, intel_classroom: Path,
                    detector, fer_model, dlib_embedder) -> Path:  # type: ignore[no-untyped-def]
    """A database with one good lesson (the four adults), analysed in this process."""
    db = tmp_path_factory.mktemp("crash") / "classroom.duckdb"
    with Store(db) as store:
        analyse_video(intel_classroom, store, detector, fer_model,
                      AnalysisSettings(emotion_model="fer"), embedder=dlib_embedder,
                      class_group="7B")
    return db


def start_cli(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(*args), cwd=cwd, env=cli_env(cwd), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def read_until(child: subprocess.Popen[str], wanted) -> str:  # type: ignore[no-untyped-def]
    """Read the child's stderr up to the first line ``wanted(line)`` accepts; return it."""
    assert child.stderr is not None
    seen = []
    for line in child.stderr:
        seen.append(line)
        if wanted(line.rstrip("\n")):
            return line.rstrip("\n")
    child.wait()
    raise AssertionError(f"the child ended ({child.returncode}) first:\n{''.join(seen)[-3000:]}")


def midway(line: str) -> bool:
    if not line.startswith("{"):
        return False
    progress = json.loads(line)
    return 0 < progress["frames_done"] < progress["frames_total"]


def kill_midway(child: subprocess.Popen[str]) -> dict:
    """SIGKILL the child once a batch (not the last) is staged; the progress line it printed."""
    progress = json.loads(read_until(child, midway))
    assert child.poll() is None, "still analysing when killed"
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    return progress


def raw_state(db: Path, file_name: str) -> tuple[str, int]:
    """The lesson's status and the staged rows, as the killed process left them (read-only: no
    recovery runs)."""
    with duckdb.connect(str(db), read_only=True) as con:
        [(status,)] = con.execute("SELECT status FROM videos WHERE file_name = ?",
                                  [file_name]).fetchall()
        [(staged,)] = con.execute("SELECT count(*) FROM observations_staging").fetchall()
    return status, staged


@dataclass(frozen=True)
class Crash:
    folder: Path
    db: Path
    before: Snapshot  # the first lesson, before the analysis that was killed
    progress: dict  # the progress line after which the process was killed
    left: tuple[str, int]  # status and staged rows it left
    recovered: Snapshot  # after the next open
    rerun: subprocess.CompletedProcess[str]
    after_rerun: Snapshot


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory, first_lesson_db: Path,
          cctv_classroom: Path) -> Crash:
    folder = tmp_path_factory.mktemp("killed")
    db = Path(shutil.copy(first_lesson_db, folder / "classroom.duckdb"))
    before = Snapshot.of(db)
    child = start_cli("analyze", cctv_classroom, "--db", db, "--progress-json", *LONG_RUN,
                      cwd=folder)
    progress = kill_midway(child)
    left = raw_state(db, cctv_classroom.name)
    with Store(db):  # the next open: recovery runs
        pass
    recovered = Snapshot.of(db)
    rerun = run_cli("analyze", cctv_classroom, "--db", db, "--json", "--no-progress", *LONG_RUN,
                    cwd=folder)
    return Crash(folder, db, before, progress, left, recovered, rerun, Snapshot.of(db))


def test_the_kill_came_midway_with_rows_staged(crash: Crash) -> None:
    batch = AnalysisSettings().batch_frames
    assert crash.progress["frames_done"] == batch < crash.progress["frames_total"]
    status, staged = crash.left
    assert status == "running"
    assert staged >= crash.progress["faces"] > 0


def test_after_the_kill_the_database_opens_whole(crash: Crash, cctv_classroom: Path) -> None:
    recovered = crash.recovered
    crash.before.assert_kept(recovered)
    assert len(recovered.observations) == len(crash.before.observations)
    assert recovered.staged == 0
    videos = recovered.videos.set_index("file_name")
    assert videos.loc[cctv_classroom.name, "status"] == "failed"
    assert videos.loc[cctv_classroom.name, "failure_reason"] == INTERRUPTED


def test_running_it_again_finishes_without_duplicates(crash: Crash, cctv_classroom: Path) -> None:
    assert crash.rerun.returncode == 0, crash.rerun.stderr[-3000:]
    assert error_lines(crash.rerun) == []
    [result] = [json.loads(line) for line in crash.rerun.stdout.splitlines()]
    after = crash.after_rerun
    crash.before.assert_kept(after)
    videos = after.videos.set_index("file_name")
    row = videos.loc[cctv_classroom.name]
    assert (row["status"], row["video_id"]) == ("done", result["video_id"])
    assert row["failure_reason"] is None
    assert result["frames_sampled"] == crash.progress["frames_total"]
    rows = after.observations[after.observations["video_id"] == result["video_id"]]
    assert len(rows) == result["faces"] == row["faces"] > 0
    assert not after.observations.duplicated(KEY).any()
    assert after.staged == 0


def test_a_killed_reanalysis_keeps_the_complete_result(
    crash: Crash, cctv_classroom: Path, tmp_path: Path
) -> None:
    db = Path(shutil.copy(crash.db, tmp_path / "classroom.duckdb"))
    done = Snapshot.of(db)
    child = start_cli("analyze", cctv_classroom, "--db", db, "--progress-json", *LONG_RUN,
                      cwd=tmp_path)
    kill_midway(child)
    assert raw_state(db, cctv_classroom.name)[0] == "running"
    with Store(db):
        pass
    after = Snapshot.of(db)
    assert after.staged == 0
    kept = after.videos.set_index("file_name").loc[cctv_classroom.name]
    assert (kept["status"], kept["failure_reason"]) == ("done", INTERRUPTED)
    # every other column of every lesson, and every observation, as they were
    Snapshot(done.videos.drop(columns="failure_reason"), done.observations, 0).assert_kept(
        Snapshot(after.videos.drop(columns="failure_reason"), after.observations, 0)
    )
    assert len(after.observations) == len(done.observations)


# -- concurrent jobs ------------------------------------------------------------------------------


@pytest.fixture
def two_at_once(first_lesson_db: Path, tmp_path: Path, videos_dir: Path,
                cctv_classroom: Path) -> Iterator[tuple[Path, Snapshot, list]]:
    db = Path(shutil.copy(first_lesson_db, tmp_path / "classroom.duckdb"))
    yield db, Snapshot.of(db), [videos_dir / "intel_head_pose_female_and_male_preview.mp4",
                                cctv_classroom]


def test_two_analyses_started_at_once_both_finish(
    two_at_once: tuple[Path, Snapshot, list[Path]], tmp_path: Path
) -> None:
    """Both start while a third process holds the database, so both must wait; when it lets
    go, one gets the database and the other waits on until that one is done."""
    db, before, videos = two_at_once
    waiting = f"waiting for another process (an analysis, the app) to let go of {db}…"
    with database_held_open(db):
        children = [
            start_cli("analyze", video, "--db", db, "--json", "--no-progress", "--fps", "1",
                      "--emotion-model", "fer", "--embedding-model", "Dlib", cwd=tmp_path)
            for video in videos
        ]
        for child in children:
            read_until(child, lambda line: line == waiting)
    outputs = [child.communicate(timeout=600) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err[-3000:]
        assert waiting not in err, "the waiting line (read above) comes once"
    results = [json.loads(out) for out, _ in outputs]
    after = Snapshot.of(db)
    before.assert_kept(after)
    videos_after = after.videos.set_index("video_id")
    for video, result in zip(videos, results):
        row = videos_after.loc[result["video_id"]]
        assert (row["file_name"], row["status"]) == (video.name, "done")
        mine = after.observations[after.observations["video_id"] == result["video_id"]]
        assert len(mine) == result["faces"] == row["faces"] > 0
    assert len(after.videos) == len(before.videos) + 2
    assert not after.observations.duplicated(KEY).any()
    assert after.staged == 0
