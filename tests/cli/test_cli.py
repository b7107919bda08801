"""Tests for the command line (emotion_core/cli/), run as a user runs it: ``python -m
emotion_core`` in a child process, on real and deliberately broken files, checking exit codes,
stdout, stderr and the database afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support.cli_run import Snapshot, assert_same_values, cli_command, cli_env, error_lines, run_cli
from support.env import database_held_open
from support.media import gradient_frames, truncated_copy, write_tone, write_video

from emotion_core.store.schema import OBSERVATION_COLUMNS
from emotion_core.store.store import DB_ENV_VAR

pytestmark = [pytest.mark.subprocess, pytest.mark.real_data]

RESULT_KEYS = {"video_id", "frames_sampled", "faces", "tracks", "emotion_model", "detector",
               "seconds"}


@dataclass(frozen=True)
class FirstRun:
    """One analysis of two good videos, its output, and the database it wrote."""

    folder: Path
    db: Path
    done: subprocess.CompletedProcess[str]
    results: dict[str, dict]
    snapshot: Snapshot


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, intel_classroom: Path) -> FirstRun:
    """The four-adults clip and a generated video with no faces, analysed in one run as a user
    would first run it: default emotion model (auto, which finds no DeepFace weights and no
    network), the database named by $CLASSROOM_DB (no --db), the progress bar left on. The
    adults' faces are under the 24 px identity needs by default: identified all the same
    (--min-identity-px), as these tests are about who is who on the command line."""
    folder = tmp_path_factory.mktemp("cli")
    no_faces = write_video(folder / "empty_room.mp4", gradient_frames(30), 10)
    db = folder / "lessons" / "classroom.duckdb"
    done = run_cli("analyze", intel_classroom, no_faces, "--json", "--min-identity-px", "12",
                   cwd=folder, **{DB_ENV_VAR: str(db)})
    assert done.returncode == 0, done.stderr[-3000:]
    results = {r["file_name"]: r for r in map(json.loads, done.stdout.splitlines())}
    return FirstRun(folder, db, done, results, Snapshot.of(db))


@pytest.fixture
def lesson_db(first_run: FirstRun, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the first run's database, for a test to try to spoil."""
    db = tmp_path / "lessons.duckdb"
    shutil.copy(first_run.db, db)
    yield db
    first_run.snapshot.assert_unchanged(first_run.db)


# -- good input -----------------------------------------------------------------------------------


def test_json_output_is_one_object_per_video(first_run: FirstRun, intel_classroom: Path) -> None:
    lines = first_run.done.stdout.splitlines()
    assert len(lines) == 2, "nothing but JSON on stdout: no logs, no progress bar"
    results = [json.loads(line) for line in lines]
    assert [r["file_name"] for r in results] == [intel_classroom.name, "empty_room.mp4"]
    for result in results:
        assert RESULT_KEYS <= set(result)
        assert result["emotion_model"] == "classroom" and result["detector"].startswith("mtcnn(")
    adults = first_run.results[intel_classroom.name]
    assert (adults["frames_sampled"], adults["tracks"]) == (6, 4)
    assert 20 <= adults["faces"] <= 24
    # the log says, on stderr, that DeepFace was not available and which model ran instead
    assert "using the offline default 'classroom'" in first_run.done.stderr
    assert "emotion model: Classroom mood CNN" in first_run.done.stderr


def test_a_video_without_faces_is_not_an_error(first_run: FirstRun) -> None:
    result = first_run.results["empty_room.mp4"]
    assert (result["frames_sampled"], result["faces"], result["tracks"]) == (6, 0, 0)
    videos = first_run.snapshot.videos.set_index("file_name")
    assert videos.loc["empty_room.mp4", "status"] == "done"
    assert videos.loc["empty_room.mp4", "faces"] == 0
    assert (first_run.snapshot.observations["video_id"] != result["video_id"]).all()


def test_database_path_comes_from_the_environment(first_run: FirstRun,
                                                  intel_classroom: Path) -> None:
    assert first_run.db.is_file()
    assert not (first_run.folder / "data").exists(), "the default path was not used"
    snapshot = first_run.snapshot
    assert snapshot.videos["status"].tolist() == ["done", "done"]
    adults = first_run.results[intel_classroom.name]
    assert len(snapshot.observations) == adults["faces"]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export(first_run: FirstRun, tmp_path: Path, file_format: str) -> None:
    out = tmp_path / f"observations.{file_format}"
    done = run_cli("export", "--format", file_format, "--out", out, cwd=tmp_path,
                   **{DB_ENV_VAR: str(first_run.db)})
    assert done.returncode == 0, done.stderr
    expected = len(first_run.snapshot.observations)
    assert done.stdout.strip() == f"wrote {expected} observations to {out}"
    reader = "read_csv_auto" if file_format == "csv" else "read_parquet"
    exported = duckdb.sql(f"SELECT * FROM {reader}('{out}')").df()
    assert len(exported) == expected
    assert list(exported.columns) == ["file_name", "class_group", "recorded_on",
                                      *OBSERVATION_COLUMNS]
    assert set(exported["file_name"]) == {"intel_classroom_preview.mp4"}
    # every face is a row; only those that could be read carry a reading
    adults = first_run.results["intel_classroom_preview.mp4"]
    assert exported["readable"].sum() == adults["readable_faces"]
    unread = exported[~exported["readable"].astype(bool)]
    assert unread[["happy", "top_emotion"]].isna().all().all()
    assert exported["face_height_px"].notna().all()


# -- bad input -------------------------------------------------------------------------------------


def make_text(folder: Path) -> Path:
    path = folder / "lesson_notes.mp4"
    path.write_text("These are not moving pictures.\n" * 50)
    return path


def make_empty(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.touch()
    return path


def make_audio_only(folder: Path) -> Path:
    return write_tone(folder / "voice_memo.m4a", seconds=2.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (make_text, "not a readable video file"),
        (make_empty, "the file is empty (0 bytes)"),
        (make_audio_only, "no video stream in the file (it holds audio)"),
    ],
)
def test_unreadable_files_are_one_clear_error(
    lesson_db: Path, tmp_path: Path, make, message: str
) -> None:
    before = Snapshot.of(lesson_db)
    bad = make(tmp_path)
    done = run_cli("analyze", bad, "--db", lesson_db, "--json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    # nothing else on stderr either: the file is checked before any model is loaded
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {bad.name}: {message}")
    before.assert_unchanged(lesson_db)


def test_a_truncated_video_fails_and_is_recorded(
    lesson_db: Path, tmp_path: Path, cctv_classroom: Path
) -> None:
    before = Snapshot.of(lesson_db)
    cut = truncated_copy(cctv_classroom, tmp_path / "cut_short.mp4")
    done = run_cli("analyze", cut, "--db", lesson_db, "--json", "--no-progress", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    [error] = error_lines(done)
    assert error.startswith("error: cut_short.mp4: the file looks truncated")
    after = Snapshot.of(lesson_db)
    old = before.videos["video_id"]
    assert_same_values(after.videos[after.videos.video_id.isin(old)], before.videos)
    pd.testing.assert_frame_equal(after.observations, before.observations)
    [failed] = after.videos[~after.videos.video_id.isin(old)].to_dict("records")
    assert (failed["file_name"], failed["status"]) == ("cut_short.mp4", "failed")
    assert "truncated" in failed["failure_reason"]
    assert after.staged == 0


def test_deepface_asked_for_but_missing_is_one_clear_error(lesson_db: Path, tmp_path: Path,
                                                           intel_classroom: Path) -> None:
    before = Snapshot.of(lesson_db)
    done = run_cli("analyze", intel_classroom, "--db", lesson_db, "--emotion-model", "deepface",
                   "--no-progress", cwd=tmp_path, DEEPFACE_HOME=str(tmp_path / "no_weights"))
    assert done.returncode == 2
    [error] = error_lines(done)
    assert error.startswith("error: DeepFace's emotion weights are not available")
    assert "facial_expression_model_weights.h5" in error
    before.assert_unchanged(lesson_db)


def test_a_bad_sampling_rate_is_one_clear_error(lesson_db: Path, tmp_path: Path,
                                                intel_classroom: Path) -> None:
    done = run_cli("analyze", intel_classroom, "--db", lesson_db, "--fps", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done) == [
        "error: sampling rate must be between 0 and 60 frames a second, got 0.0"
    ]


def test_a_database_locked_for_longer_than_the_wait_is_one_clear_error(
    lesson_db: Path, tmp_path: Path, intel_classroom: Path
) -> None:
    """``analyze`` waits (``--wait-seconds``) for the database, saying so once; the other
    commands wait only when given ``--wait-seconds``. tests/analysis/test_crash_safety.py has two
    analyses that wait for each other and finish."""
    before = Snapshot.of(lesson_db)
    with database_held_open(lesson_db):
        analyse = run_cli("analyze", intel_classroom, "--db", lesson_db, "--wait-seconds", "1",
                          "--no-progress", cwd=tmp_path)
        export = run_cli("export", "--db", lesson_db, "--out", tmp_path / "x.csv",
                         "--wait-seconds", "1", cwd=tmp_path)
        at_once = run_cli("students", "list", "--db", lesson_db, cwd=tmp_path)
    for done in (analyse, export, at_once):
        assert done.returncode == 2
        assert error_lines(done) == [
            f"error: the database {lesson_db} is in use by another process; wait for it to finish"
        ]
    waiting = f"waiting for another process (an analysis, the app) to let go of {lesson_db}…"
    assert analyse.stderr.splitlines().count(waiting) == 1
    assert export.stderr.splitlines().count(waiting) == 1
    assert waiting not in at_once.stderr
    assert not (tmp_path / "x.csv").exists()
    before.assert_unchanged(lesson_db)


def test_a_command_waits_for_the_database_and_then_runs(lesson_db: Path, tmp_path: Path) -> None:
    """``students list`` started while another process holds the database waits, then runs
    once it is let go."""
    waiting = f"waiting for another process (an analysis, the app) to let go of {lesson_db}…"
    with database_held_open(lesson_db):
        child = subprocess.Popen(cli_command("students", "list", "--db", lesson_db, "--json",
                                             "--wait-seconds", "600"),
                                 cwd=tmp_path, env=cli_env(tmp_path), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        said = [child.stderr.readline()]
        while said[-1] and said[-1].rstrip("\n") != waiting:
            said.append(child.stderr.readline())
        assert said[-1].rstrip("\n") == waiting, said
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert [json.loads(line)["student_id"] for line in out.splitlines()]


def test_export_without_a_database_is_one_clear_error(tmp_path: Path) -> None:
    done = run_cli("export", "--db", tmp_path / "none.duckdb", "--out", tmp_path / "x.csv",
                   cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: no database at {tmp_path / 'none.duckdb'}: analyse a video first"
    ]


# -- students -------------------------------------------------------------------------------------


def test_the_first_run_identified_the_four_adults(first_run: FirstRun, intel_classroom: Path,
                                                  tmp_path: Path) -> None:
    adults = first_run.results[intel_classroom.name]
    assert (adults["embedding_model"], adults["students"], adults["new_students"]) == (
        "Dlib", 4, 4
    )
    assert 0 < adults["faces_embedded"] <= 4 * 3
    assert "using the offline default 'Dlib'" in first_run.done.stderr
    done = run_cli("students", "list", "--json", "--db", first_run.db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    students = [json.loads(line) for line in done.stdout.splitlines()]
    assert [s["display_name"] for s in students] == [f"Student {s['student_id']}" for s in students]
    assert len(students) == 4 and all(s["lessons"] == 1 for s in students)
    assert sum(s["observations"] for s in students) == adults["faces"]


def test_students_are_corrected_from_the_command_line(lesson_db: Path, tmp_path: Path) -> None:
    def students() -> list[dict]:
        done = run_cli("students", "list", "--json", "--db", lesson_db, cwd=tmp_path)
        return [json.loads(line) for line in done.stdout.splitlines()]

    first, second, *_ = students()
    done = run_cli("students", "rename", first["student_id"], "Ada", "--db", lesson_db,
                   cwd=tmp_path)
    assert done.returncode == 0 and "is now 'Ada'" in done.stdout
    # the four adults sit side by side: merging two of them is refused, nothing changes
    done = run_cli("students", "merge", first["student_id"], second["student_id"],
                   "--db", lesson_db, cwd=tmp_path)
    assert done.returncode == 2 and "two people" in error_lines(done)[0]
    done = run_cli("students", "delete", second["student_id"], "--db", lesson_db, cwd=tmp_path)
    assert done.returncode == 0
    after = students()
    assert after[0]["display_name"] == "Ada" and len(after) == 3
    done = run_cli("students", "delete", 999, "--db", lesson_db, cwd=tmp_path)
    assert (done.returncode, error_lines(done)) == (2, ["error: there is no student 999"])
    # the observations of the deleted student went with them
    with duckdb.connect(str(lesson_db), read_only=True) as con:
        left = con.execute("SELECT count(*) FROM observations WHERE student_id = ?",
                           [second["student_id"]]).fetchone()[0]
        vectors = con.execute("SELECT count(*) FROM face_embeddings WHERE student_id = ?",
                              [second["student_id"]]).fetchone()[0]
    assert (left, vectors) == (0, 0)


def test_a_bad_readability_threshold_is_one_clear_error(lesson_db: Path, tmp_path: Path,
                                                       intel_classroom: Path) -> None:
    before = Snapshot.of(lesson_db)
    done = run_cli("analyze", intel_classroom, "--db", lesson_db, "--max-pitch", "120",
                   cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done) == [
        "error: max_pitch_deg must be between 0 and 90 degrees, got 120.0"
    ]
    before.assert_unchanged(lesson_db)


def test_the_readability_thresholds_are_kept_with_the_analysis(
    tmp_path: Path, intel_classroom: Path
) -> None:
    db = tmp_path / "all.duckdb"
    done = run_cli("analyze", intel_classroom, "--no-identify", "--json", "--no-progress",
                   "--min-face-px", "0", "--max-yaw", "90", "--max-pitch", "90",
                   "--min-sharpness", "0", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [result] = [json.loads(line) for line in done.stdout.splitlines()]
    assert result["readable_faces"] == result["faces"] > 0, "every face read"
    with duckdb.connect(str(db), read_only=True) as con:
        [parameters] = con.execute("SELECT parameters FROM videos").fetchone()
    assert json.loads(parameters)["readability"] == {
        "min_face_px": 0.0, "max_yaw_deg": 90.0, "max_pitch_deg": 90.0,
        "max_pitch_up_deg": 40.0, "min_sharpness": 0.0, "min_detection_score": 0.0}


def test_no_identify_stores_no_embeddings(tmp_path: Path, intel_classroom: Path) -> None:
    db = tmp_path / "off.duckdb"
    done = run_cli("analyze", intel_classroom, "--no-identify", "--json", "--no-progress",
                   "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [result] = [json.loads(line) for line in done.stdout.splitlines()]
    assert result["faces"] > 0 and result["students"] is None and result["faces_embedded"] == 0
    assert "face embedding model" not in done.stderr, "no embedding model was even loaded"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM face_embeddings").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM students").fetchone()[0] == 0
        assert con.execute(
            "SELECT count(*) FROM observations WHERE student_id IS NOT NULL"
        ).fetchone()[0] == 0
    done = run_cli("students", "list", "--db", db, cwd=tmp_path)
    assert done.stdout.startswith("no students yet")
