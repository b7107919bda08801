"""The analysis queue: one at a time, every job finishes, readers never see half a lesson."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path

import pytest

from emotion_core.analysis.jobs import DONE, FAILED, QUEUED, JobQueue, queue_for
from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings
from emotion_core.core.paths import SAMPLE_VIDEO
from emotion_core.core.types import Progress
from emotion_core.store.store import Store
from emotion_core.video.source import VideoError


class FakeAnalysis:
    """Stands in for ``analyse_video``: records how many run at once, reports progress."""

    def __init__(self, seconds: float = 0.05, fail: dict[str, Exception] | None = None) -> None:
        self.seconds = seconds
        self.fail = fail or {}
        self.running = 0
        self.most_at_once = 0
        self.order: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, path: Path, store, detector, model, settings, *, on_progress, **_):  # type: ignore[no-untyped-def]
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.order.append(path.name)
        try:
            on_progress(Progress(1, 2, 3, 0.1))
            time.sleep(self.seconds)
            if path.name in self.fail:
                raise self.fail[path.name]
            return AnalysisResult(len(self.order), path.name, 2, 3, 1, "fake", "fake", 0.1)
        finally:
            with self._lock:
                self.running -= 1


def no_models(settings):  # type: ignore[no-untyped-def]
    return None, None


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "jobs.duckdb") as store:
        yield store


def test_jobs_from_many_threads_run_one_at_a_time_in_order(store: Store) -> None:
    fake = FakeAnalysis()
    queue = JobQueue(store, run=fake, models=no_models)
    submitted: list[int] = []
    lock = threading.Lock()

    def user(name: str) -> None:
        job = queue.submit(Path(name))
        with lock:
            submitted.append(job.job_id)

    users = [threading.Thread(target=user, args=(f"lesson{i}.mp4",)) for i in range(6)]
    for u in users:
        u.start()
    for u in users:
        u.join()
    finished = [queue.wait(job_id, timeout_s=30) for job_id in sorted(submitted)]
    assert [j.status for j in finished] == [DONE] * 6
    assert fake.most_at_once == 1
    assert fake.order == [j.name for j in finished]  # first come, first served
    assert queue.finished_count == 6 and not queue.active()
    assert all(j.progress == Progress(1, 2, 3, 0.1) for j in finished)


def test_a_failing_job_is_reported_and_the_next_still_runs(store: Store) -> None:
    fake = FakeAnalysis(fail={
        "broken.mp4": VideoError("broken.mp4: not a readable video file"),
        "crash.mp4": RuntimeError("model exploded"),
    })
    queue = JobQueue(store, run=fake, models=no_models)
    jobs = [queue.submit(Path(n)) for n in ("broken.mp4", "crash.mp4", "good.mp4")]
    broken, crash, good = (queue.wait(j.job_id, timeout_s=30) for j in jobs)
    assert broken.status == FAILED and broken.error == "broken.mp4: not a readable video file"
    assert crash.status == FAILED and "model exploded" in (crash.error or "")
    assert good.status == DONE and good.result is not None


def test_snapshots_do_not_change_and_queued_jobs_know_their_place(store: Store) -> None:
    gate = threading.Event()

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        gate.wait(30)
        return FakeAnalysis(0)(*args, **kwargs)

    queue = JobQueue(store, run=held, models=no_models)
    first, second, third = (queue.submit(Path(f"{n}.mp4"), class_group="7B") for n in "abc")
    assert first.status == QUEUED  # the snapshot taken at submission stays as it was
    with pytest.raises(FrozenInstanceError):
        first.status = DONE  # type: ignore[misc]
    deadline = time.monotonic() + 10
    while queue.job(first.job_id).status == QUEUED and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.ahead_of(first.job_id) == 0
    assert queue.ahead_of(third.job_id) == 2
    assert queue.active()
    assert queue.wait(third.job_id, timeout_s=0.05).status == QUEUED  # timed out, not finished
    gate.set()
    assert queue.wait(third.job_id, timeout_s=30).status == DONE
    assert queue.job(second.job_id).class_group == "7B"


def test_one_queue_and_store_per_database_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    assert queue_for(db) is queue_for(str(db))
    assert queue_for(db).store.path == db.resolve()


@dataclass(frozen=True)
class Reading:
    """What a reader saw of one lesson: its row, its observations and its staged rows."""

    midway_of: str | None  # the video whose analysis was paused after a batch, if any
    faces_so_far: int  # of that analysis, staged by then
    video_id: int
    file_name: str
    status: str
    rows: int
    staged: int
    faces: int  # what the videos row says


LESSONS_NOW = """
    SELECT v.video_id, v.file_name, v.status, coalesce(v.faces, 0) AS faces,
        (SELECT count(*) FROM observations o WHERE o.video_id = v.video_id) AS rows,
        (SELECT count(*) FROM observations_staging s WHERE s.video_id = v.video_id) AS staged
    FROM videos v ORDER BY v.video_id
"""


@pytest.mark.real_data
def test_two_real_analyses_finish_and_readers_never_see_half_a_lesson(
    tmp_path: Path, intel_classroom: Path, detector, fer_model  # type: ignore[no-untyped-def]
) -> None:
    """Two users queue videos at once, then one queues the second again, while a reader reads
    the lessons the whole time. The analysis also waits after every batch (its rows staged,
    not yet swapped in) until the reader has read, so the reader certainly reads midway."""
    checkpoints: queue.SimpleQueue[tuple[str, int, threading.Event]] = queue.SimpleQueue()

    def paused_after_each_batch(  # type: ignore[no-untyped-def]
        path, store, det, model, settings, *, on_progress, **rest
    ):
        def progress(p: Progress) -> None:
            on_progress(p)
            read = threading.Event()
            checkpoints.put((Path(path).name, p.faces, read))
            assert read.wait(60), "the reader read"

        return analyse_video(path, store, det, model, settings, on_progress=progress, **rest)

    queue_ = JobQueue(Store(tmp_path / "two.duckdb"), run=paused_after_each_batch,
                      models=lambda s: (detector, fer_model))
    seen: list[Reading] = []
    stop = threading.Event()

    def read(midway_of: str | None = None, faces_so_far: int = 0) -> None:
        for r in queue_.store.query(LESSONS_NOW).itertuples():
            seen.append(Reading(midway_of, faces_so_far, int(r.video_id), r.file_name,
                                r.status, int(r.rows), int(r.staged), int(r.faces)))

    def reader() -> None:
        while not stop.is_set():
            try:
                name, faces, done_reading = checkpoints.get(timeout=0.02)
            except queue.Empty:
                read()
                continue
            read(name, faces)
            done_reading.set()

    polling = threading.Thread(target=reader)
    polling.start()
    settings = AnalysisSettings(embedding_model="Dlib")
    try:
        jobs = [queue_.submit(SAMPLE_VIDEO, class_group="Demo", settings=settings),
                queue_.submit(intel_classroom, class_group="7B", settings=settings)]
        done = [queue_.wait(j.job_id, timeout_s=600) for j in jobs]
        again = queue_.wait(queue_.submit(intel_classroom, settings=settings).job_id, 600)
    finally:
        stop.set()
        polling.join()
    assert [j.status for j in (*done, again)] == [DONE] * 3, [j.error for j in (*done, again)]
    sample, adults = (j.result for j in done)
    assert sample and adults and again.result and again.result.video_id == adults.video_id
    first = {sample.video_id: sample.faces, adults.video_id: adults.faces}
    assert all(faces > 0 for faces in first.values())
    # at every moment a lesson had no rows or all of them, and as many as its row says
    assert seen and all(r.rows in (0, first[r.video_id], again.result.faces) for r in seen)
    assert all(r.rows == r.faces for r in seen if r.rows)
    # midway through its first analysis a lesson shows nothing, its rows wait in staging
    midway = [r for r in seen if r.midway_of == r.file_name]
    first_time = [r for r in midway if r.faces == 0]
    assert {r.file_name for r in first_time} == {SAMPLE_VIDEO.name, intel_classroom.name}
    assert all((r.status, r.rows, r.staged) == ("running", 0, r.faces_so_far)
               for r in first_time)
    # midway through the re-analysis the earlier complete result is what readers see
    again_midway = [r for r in midway if r.faces > 0]
    assert again_midway and all(
        (r.status, r.rows, r.staged) == ("running", adults.faces, r.faces_so_far)
        for r in again_midway
    )
    # the other lesson, meanwhile, is whole
    assert all(r.rows == first[r.video_id] for r in seen
               if r.midway_of == intel_classroom.name and r.video_id == sample.video_id)
