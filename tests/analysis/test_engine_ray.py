"""The Ray engine on a real local cluster of two workers (analysis/engine_ray.py): it stores
what the local engine stores (faces, boxes, probabilities, the same students, lessons written in
the order asked), a video that is none or that a worker cannot read fails alone, a worker killed
mid-video is retried and its lesson stored once, a driver killed mid-run leaves no half lesson
and a rerun completes without duplicates, and the app's queue can run on the cluster.

One cluster for the module (starting one takes seconds, and each worker process loads the models
once); the clips are a few seconds of real video, so the module takes about a minute."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
from support.cli_run import cli_command, cli_env
from support.clips import cut_clip
from support.env import INTEL_CLASSROOM

from emotion_core.analysis.engine_ray import (
    ClusterUnavailable,
    LessonOutcome,
    LessonRequest,
    RunProgress,
    analyse_on_ray,
    connect,
    disconnect,
)
from emotion_core.analysis.jobs import DONE, FAILED, JobQueue
from emotion_core.analysis.models import load_detector, load_embedder, load_emotion_model
from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings, EngineSettings
from emotion_core.store.store import Store

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray package (requirements.txt)")

pytestmark = pytest.mark.real_data

HEAD_POSE = "intel_head_pose_female_and_male_preview.mp4"  # 4.7 s, two adults turning heads
GROUP = "7B"
# named models: with "auto" each worker would first try DeepFace's download
SETTINGS = AnalysisSettings(emotion_model="classroom", embedding_model="Dlib")
# a frame per batch, four a second: the worker reports often enough to be killed mid-video
KILLED_SETTINGS = replace(SETTINGS, sample_fps=4.0, batch_frames=1)
STUDENT_COLUMNS = ["student_id", "display_name", "class_group", "lessons", "tracks",
                   "observations", "has_reference"]


@dataclass(frozen=True)
class Clips:
    first: Path  # the two adults, first half
    classroom: Path  # four adults, faces too small to identify
    second: Path  # the same two adults, second half: a second lesson of the same people
    whole: Path  # the whole head-pose clip

    @property
    def lessons(self) -> list[Path]:
        return [self.first, self.classroom, self.second]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, videos_dir: Path) -> Clips:
    folder = tmp_path_factory.mktemp("clips")
    source = videos_dir / HEAD_POSE
    if not source.is_file():
        pytest.skip(f"{HEAD_POSE} not found in {videos_dir}")
    return Clips(
        cut_clip(source, folder / "lesson_a.mp4", 0.0, 2.5), videos_dir / INTEL_CLASSROOM,
        cut_clip(source, folder / "lesson_b.mp4", 2.2, 4.7), source,
    )


@pytest.fixture(scope="module")
def cluster(deepface_home: Path) -> Iterator[str]:
    """A local cluster of two CPUs for the module (after DeepFace's empty weight folder is set,
    so the workers inherit it); the address another driver joins it at."""
    try:
        connect(num_cpus=2)
    except ClusterUnavailable as exc:
        pytest.skip(f"Ray cannot start a local cluster on this machine: {exc}")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        disconnect()


def analyse_locally(db: Path, videos: list[Path], settings: AnalysisSettings
                    ) -> list[AnalysisResult]:
    """The local engine, as ``analyze`` runs it: one video after the other, in order."""
    detector = load_detector(settings.detector)
    model = load_emotion_model(settings.emotion_model)
    embedder = load_embedder(settings.embedding_model)
    with Store(db) as store:
        return [analyse_video(v, store, detector, model, settings, embedder=embedder,
                              class_group=GROUP) for v in videos]


@dataclass(frozen=True)
class Local:
    db: Path
    results: list[AnalysisResult]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, clips: Clips, deepface_home: Path) -> Local:
    """The lessons as the local engine stores them."""
    db = tmp_path_factory.mktemp("local") / "local.duckdb"
    return Local(db, analyse_locally(db, clips.lessons, SETTINGS))


def assert_same_lessons(db: Path, reference: Path) -> None:
    """The same lessons, faces, boxes, probabilities and students (to float tolerance)."""
    with Store(db, read_only=True) as got, Store(reference, read_only=True) as want:
        assert list(got.videos()["file_name"]) == list(want.videos()["file_name"])
        assert set(got.videos()["status"]) == {"done"}
        pd.testing.assert_frame_equal(got.observations(), want.observations(),
                                      check_exact=False, rtol=1e-5, atol=1e-6)
        pd.testing.assert_frame_equal(got.students()[STUDENT_COLUMNS],
                                      want.students()[STUDENT_COLUMNS])


def test_the_cluster_stores_what_the_local_engine_stores(
    cluster: str, clips: Clips, local: Local, tmp_path: Path
) -> None:
    notes = tmp_path / "lesson_notes.mp4"
    notes.write_text("Minutes of the staff meeting. Not moving pictures.\n")
    gone = tmp_path / "moved_away.mp4"  # the driver names it; no worker can read it
    videos = [clips.first, notes, gone, clips.classroom, clips.second]
    outcomes: list[LessonOutcome] = []
    progress: list[RunProgress] = []
    db = tmp_path / "ray.duckdb"
    with Store(db) as store:
        returned = analyse_on_ray(
            [LessonRequest(v, SETTINGS, class_group=GROUP, duration_s=2.5) for v in videos],
            store, on_outcome=outcomes.append, on_progress=progress.append,
        )
    assert returned == outcomes and [o.index for o in outcomes] == [0, 1, 2, 3, 4]
    assert outcomes[1].error.startswith("lesson_notes.mp4: not a readable video file (")
    assert outcomes[2].error.startswith("moved_away.mp4: not readable on the Ray worker ")
    assert all("\n" not in o.error for o in outcomes[1:3])
    written = [outcomes[i] for i in (0, 3, 4)]
    assert all(o.result is not None for o in written)
    assert_same_lessons(db, local.db)
    assert [(o.result.students, o.result.new_students, o.result.faces) for o in written] == [
        (r.students, r.new_students, r.faces) for r in local.results]
    # the models load once per worker process, not once per video
    loaders = [o.worker for o in written if o.loaded_models]
    assert len(loaders) == len(set(loaders)) and len(loaders) < len(written)
    done = [p.lessons_done for p in progress]
    assert done == sorted(done) and done[-1] == 5 and progress[-1].video_s_done == 12.5


def test_a_worker_killed_mid_video_is_retried_and_the_lesson_stored_once(
    cluster: str, clips: Clips, tmp_path: Path
) -> None:
    killed: list[int] = []

    def kill_once(run: RunProgress) -> None:
        lesson = run.lessons.get(0)
        if not killed and lesson is not None and 0 < lesson.frames_done < lesson.frames_total:
            os.kill(run.workers[0], signal.SIGKILL)
            killed.append(run.workers[0])

    db = tmp_path / "ray.duckdb"
    with Store(db) as store:
        [outcome] = analyse_on_ray(  # through the object store, this time
            [LessonRequest(clips.whole, KILLED_SETTINGS, class_group=GROUP)], store,
            ship_videos=True, on_progress=kill_once, poll_s=0.05,
        )
    assert killed, "the lesson was done before its worker could be killed"
    assert outcome.result is not None and outcome.worker is not None
    assert not outcome.worker.endswith(f":{killed[0]}")
    reference = tmp_path / "local.duckdb"
    analyse_locally(reference, [clips.whole], KILLED_SETTINGS)
    assert_same_lessons(db, reference)


def test_the_app_queue_runs_its_jobs_on_the_cluster(
    cluster: str, clips: Clips, local: Local, tmp_path: Path
) -> None:
    queue = JobQueue(Store(tmp_path / "app.duckdb"), engine=EngineSettings("ray"))
    try:
        jobs = [queue.submit(v, class_group=GROUP, settings=SETTINGS) for v in clips.lessons]
        bad = queue.submit(tmp_path / "missing.mp4", settings=SETTINGS)
        finished = [queue.wait(j.job_id, timeout_s=300) for j in [*jobs, bad]]
    finally:
        queue.close(timeout_s=60)
        queue.store.close()
    assert [j.status for j in finished] == [DONE, DONE, DONE, FAILED]
    assert "missing.mp4: not readable on the Ray worker" in (finished[-1].error or "")
    assert_same_lessons(tmp_path / "app.duckdb", local.db)


@pytest.mark.subprocess
def test_a_driver_killed_mid_run_leaves_no_half_lesson_and_a_rerun_completes(
    cluster: str, clips: Clips, local: Local, tmp_path: Path
) -> None:
    db = tmp_path / "ray.duckdb"
    args = ["analyze", *clips.lessons, "--engine", "ray", "--ray-address", cluster, "--db", db,
            "--group", GROUP, "--emotion-model", "classroom", "--embedding-model", "Dlib"]
    driver = subprocess.Popen(
        cli_command(*args, "--progress-json"), cwd=tmp_path, env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    killed = False
    try:
        assert driver.stderr is not None
        for line in driver.stderr:
            if line.startswith("{") and json.loads(line)["lessons_done"] == 1:
                driver.send_signal(signal.SIGKILL)  # the first lesson written, others running
                killed = True
                break
    finally:
        driver.kill()
        driver.wait(timeout=60)
    assert killed, "the driver ended before it wrote its first lesson"
    with Store(db) as store, Store(local.db, read_only=True) as reference:  # opened as today
        videos = store.videos()
        assert "running" not in set(videos["status"])
        done = videos[videos["status"] == "done"]
        assert list(done["file_name"])[:1] == [clips.first.name]
        for row in videos.itertuples():  # a lesson is whole, or has no observations at all
            got = store.observations(row.video_id)
            want = reference.observations(row.video_id)
            assert len(got) == (len(want) if row.status == "done" else 0)
    with Store(db) as store:  # the rerun, here: this process's workers have their models
        rerun = analyse_on_ray(
            [LessonRequest(v, SETTINGS, class_group=GROUP) for v in clips.lessons], store
        )
    assert all(o.result is not None for o in rerun)
    assert_same_lessons(db, local.db)
