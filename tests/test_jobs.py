"""The analysis queue: one at a time, every job finishes, readers never see half a lesson."""

from __future__ import annotations

import threading
import time
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from emotion_core.jobs import DONE, FAILED, QUEUED, JobQueue, queue_for
from emotion_core.pipeline import AnalysisResult
from emotion_core.store import Store
from emotion_core.types import Progress
from emotion_core.uploads import SAMPLE_VIDEO
from emotion_core.video import VideoError


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


@pytest.mark.real_data
def test_two_real_analyses_finish_and_readers_never_see_half_a_lesson(
    tmp_path: Path, intel_classroom: Path, detector, fer_model  # type: ignore[no-untyped-def]
) -> None:
    """Two users queue videos at once while a reader polls the lessons the whole time."""
    queue = JobQueue(Store(tmp_path / "two.duckdb"), models=lambda s: (detector, fer_model))
    seen: list[tuple[int, int, int]] = []  # (video id, rows seen, faces the video row says)
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            counts = queue.store.query(
                "SELECT v.video_id, count(o.video_id) AS n, coalesce(any_value(v.faces), 0) AS faces"
                " FROM videos v LEFT JOIN observations o USING (video_id) GROUP BY 1"
            )
            seen.extend((int(r.video_id), int(r.n), int(r.faces)) for r in counts.itertuples())
            time.sleep(0.02)

    polling = threading.Thread(target=reader)
    polling.start()
    try:
        jobs = [queue.submit(SAMPLE_VIDEO, class_group="Demo"),
                queue.submit(intel_classroom, class_group="7B")]
        done = [queue.wait(j.job_id, timeout_s=600) for j in jobs]
    finally:
        stop.set()
        polling.join()
    assert [j.status for j in done] == [DONE, DONE], [j.error for j in done]
    final = {j.video_id: j.result.faces for j in done if j.result}
    assert all(faces > 0 for faces in final.values())
    # at every moment a lesson had either no rows or all of them, never part of them
    assert seen and all(n in (0, final[v]) for v, n, _ in seen)
    assert all(n == faces for _, n, faces in seen if n)
