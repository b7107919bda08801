"""A queue that runs analyses in the background, one at a time, visible to every session.

Why the queue lives in memory, beside ``videos.status``, and not in a table of its own: DuckDB
lets one process write a database file, so every analysis that can write to it runs in the
process that holds it open — here, the app's server process — and that process is the only
place a queued job can run. Its state is therefore in-process state; a table would add a
migration and still could not resume a job whose worker died with the process. What must
survive a crash already does: ``videos.status`` marks a lesson ``running`` while it is analysed,
``Store`` marks it failed (or keeps the earlier complete result) when it next opens after a
crash, and the uploaded file stays on disk to be queued again.

What the queue guarantees:

- One worker thread per queue, started on the first job; one analysis at a time per process
  (across queues too, so two databases in one process never compete for the cores).
- ``jobs()`` returns frozen snapshots: a page reading them never sees a half-updated job.
- Readers never see half a lesson: ``analyse_video`` stages rows and swaps them in atomically.
- A failing job (bad file, crash in a model) is marked failed with its reason; the worker goes
  on with the next.

Where the analyses run is the process's engine (``use_engine``; ``CLASSROOM_ENGINE`` and
``CLASSROOM_RAY_ADDRESS`` at start): here, or on a Ray cluster. With Ray the worker thread
sends every job waiting at that moment to the cluster at once and writes each lesson here,
in the order submitted, as it arrives (``engine_ray.analyse_on_ray``).
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings, EngineSettings
from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Progress
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.detector import FaceDetector
from emotion_core.store.store import Store
from emotion_core.video.source import VideoError, printable

if TYPE_CHECKING:
    from emotion_core.analysis.engine_ray import LessonOutcome, RunProgress

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# Finished jobs kept for the page to show; older ones are in the videos table anyway.
FINISHED_KEPT = 50

# Two analyses at once would share the same cores and hold two videos' batches in memory, so
# neither would finish sooner: one runs at a time in a process, whatever its queue.
_ONE_ANALYSIS_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class Job:
    """One analysis as the queue last saw it. A snapshot: it never changes once returned."""

    job_id: int
    video_path: Path
    name: str  # the name the user knows the video by (the uploaded file's own), printable
    class_group: str | None
    recorded_on: date | None
    settings: AnalysisSettings
    status: str = QUEUED
    submitted_at: float = field(default_factory=time.time)
    progress: Progress | None = None
    result: AnalysisResult | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def video_id(self) -> int | None:
        return self.result.video_id if self.result else None


Runner = Callable[..., AnalysisResult]
ModelLoader = Callable[[AnalysisSettings], tuple[FaceDetector, EmotionModel]]

_engine = EngineSettings.from_environment(os.environ)
_engine_lock = threading.Lock()


def use_engine(engine: EngineSettings) -> None:
    """Run this process's analyses on ``engine`` from the next job a queue starts on."""
    global _engine
    with _engine_lock:
        _engine = engine


def current_engine() -> EngineSettings:
    """Where this process's analyses run (``use_engine``)."""
    with _engine_lock:
        return _engine


def load_models(settings: AnalysisSettings) -> tuple[FaceDetector, EmotionModel]:
    """The detector and emotion model ``settings`` ask for, built once per process."""
    from emotion_core.analysis.models import load_detector, load_emotion_model

    return load_detector(settings.detector), load_emotion_model(settings.emotion_model)


class JobQueue:
    """Analyses queued for one ``Store``; see the module docstring."""

    def __init__(
        self, store: Store, run: Runner = analyse_video, models: ModelLoader = load_models,
        engine: EngineSettings | None = None,
    ) -> None:
        """``run`` and ``models`` serve the local engine; ``engine`` fixes this queue's
        engine (by default it follows the process's, ``use_engine``)."""
        self.store = store
        self._run = run
        self._load_models = models
        self._engine = engine
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[int, Job] = {}
        self._pending: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._worker: threading.Thread | None = None
        self._finished = 0

    # -- asking ---------------------------------------------------------------------------------

    def submit(
        self,
        video_path: str | Path,
        *,
        name: str | None = None,
        class_group: str | None = None,
        recorded_on: date | None = None,
        settings: AnalysisSettings | None = None,
    ) -> Job:
        """Queue one video; returns its job at once.

        The worker thread loads the models (the first time) and analyses it, so nothing the
        caller's page does afterwards, leaving or reloading, stops it.
        """
        path = Path(video_path)
        with self._lock:
            job = Job(
                job_id=next(self._ids), video_path=path, name=printable(name or path.name),
                class_group=class_group or None, recorded_on=recorded_on,
                settings=settings or AnalysisSettings(),
            )
            self._jobs[job.job_id] = job
            self._start_worker()
            self._changed.notify_all()
        self._pending.put(job.job_id)
        return job

    def jobs(self) -> list[Job]:
        """Every job this queue knows, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def job(self, job_id: int) -> Job:
        with self._lock:
            return self._jobs[job_id]

    def active(self) -> bool:
        """Whether any job is queued or running."""
        with self._lock:
            return any(not j.finished for j in self._jobs.values())

    def ahead_of(self, job_id: int) -> int:
        """How many jobs will run before ``job_id`` starts (0 when it is running or finished)."""
        with self._lock:
            job = self._jobs[job_id]
            if job.status != QUEUED:
                return 0
            return sum(1 for j in self._jobs.values() if not j.finished and j.job_id < job_id)

    @property
    def finished_count(self) -> int:
        """Jobs finished so far: changes exactly when a lesson may have landed or failed."""
        with self._lock:
            return self._finished

    def wait(self, job_id: int, timeout_s: float | None = None) -> Job:
        """Block until ``job_id`` has finished (or ``timeout_s`` passed); returns its job."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._changed:
            while not self._jobs[job_id].finished:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left)
            return self._jobs[job_id]

    def close(self, timeout_s: float | None = None) -> None:
        """Let the worker finish the jobs already queued, then stop it."""
        self._pending.put(None)
        if self._worker is not None:
            self._worker.join(timeout_s)

    # -- the worker -----------------------------------------------------------------------------

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name=f"analyses:{self.store.path.name}", daemon=True
            )
            self._worker.start()

    def _update(self, job_id: int, **changes: object) -> None:
        with self._lock:
            job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)
            if job.finished:
                self._finished += 1
                self._forget_old()
            self._changed.notify_all()

    def _forget_old(self) -> None:
        finished = [j.job_id for j in self._jobs.values() if j.finished]
        for job_id in finished[:-FINISHED_KEPT]:
            del self._jobs[job_id]

    @property
    def engine(self) -> EngineSettings:
        return self._engine or current_engine()

    def _work(self) -> None:
        while (job_id := self._pending.get()) is not None:
            engine = self.engine
            if engine.name == "ray":
                job_ids, more = self._waiting_now(job_id)
                with _ONE_ANALYSIS_AT_A_TIME:
                    self._run_on_ray(job_ids, engine)
                if not more:
                    return
                continue
            job = self.job(job_id)
            with _ONE_ANALYSIS_AT_A_TIME:
                self._update(job_id, status=RUNNING)
                try:
                    detector, emotion_model = self._load_models(job.settings)
                    result = self._run(
                        job.video_path, self.store, detector, emotion_model, job.settings,
                        class_group=job.class_group, recorded_on=job.recorded_on,
                        on_progress=lambda p, job_id=job_id: self._update(job_id, progress=p),
                    )
                except VideoError as exc:
                    self._update(job_id, status=FAILED, error=str(exc))
                except Exception as exc:  # the worker must outlive any one job
                    log.exception("analysis of %s failed", job.name)
                    self._update(job_id, status=FAILED, error=f"{type(exc).__name__}: {exc}")
                else:
                    self._update(job_id, status=DONE, result=result)

    def _waiting_now(self, first: int) -> tuple[list[int], bool]:
        """``first`` and the jobs queued behind it now; False when ``close`` was asked."""
        job_ids = [first]
        while True:
            try:
                job_id = self._pending.get_nowait()
            except queue.Empty:
                return job_ids, True
            if job_id is None:
                return job_ids, False
            job_ids.append(job_id)

    def _run_on_ray(self, job_ids: list[int], engine: EngineSettings) -> None:
        """Analyse the jobs on the cluster of ``engine``, each written here as it arrives."""
        from emotion_core.analysis.engine_ray import LessonRequest, analyse_on_ray, connect

        jobs = [self.job(job_id) for job_id in job_ids]
        for job_id in job_ids:
            self._update(job_id, status=RUNNING)
        requests = [
            LessonRequest(j.video_path, j.settings, class_group=j.class_group,
                          recorded_on=j.recorded_on)
            for j in jobs
        ]

        def progress(run: RunProgress) -> None:
            for index, lesson in run.lessons.items():
                if self.job(job_ids[index]).progress != lesson:
                    self._update(job_ids[index], progress=lesson)

        def outcome(lesson: LessonOutcome) -> None:
            if lesson.result is not None:
                self._update(job_ids[lesson.index], status=DONE, result=lesson.result)
            else:
                self._update(job_ids[lesson.index], status=FAILED, error=lesson.error)

        try:
            connect(engine.ray_address)
            analyse_on_ray(requests, self.store, ship_videos=engine.ship_videos,
                           on_progress=progress, on_outcome=outcome)
        except Exception as exc:  # the cluster went away, the store failed: the worker goes on
            log.exception("analysing %d job(s) on Ray failed", len(jobs))
            reason = str(exc) if isinstance(exc, ClassroomMoodError) else (
                f"{type(exc).__name__}: {exc}")
            for job_id in job_ids:
                if not self.job(job_id).finished:
                    self._update(job_id, status=FAILED, error=reason)


_QUEUES: dict[Path, JobQueue] = {}
_QUEUES_LOCK = threading.Lock()


def queue_for(db_path: str | Path) -> JobQueue:
    """The one queue of this process for a database file, with the one ``Store`` it writes through.

    Made (and the database created or migrated) on first use; every later call, from any
    session or thread, gets the same queue, so all of them see the same jobs.
    """
    key = Path(db_path).resolve()
    with _QUEUES_LOCK:
        if key not in _QUEUES:
            _QUEUES[key] = JobQueue(Store(key))
        return _QUEUES[key]
