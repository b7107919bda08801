"""The Ray engine: lesson videos analysed on a Ray cluster, written by the one process that
holds the database.

DuckDB lets one process write a file, so the work is divided there: each Ray task analyses one
video (``ray_worker.analyse_task``: decoding, detection, emotion, readability, tracking,
embeddings, people) and returns it whole, and this process, the driver, matches its people to
the roster and writes it (``lesson_writing.write_lesson``). Lessons are written in the order
asked, each as soon as it and those before it have arrived, so the roster each one meets, and
so the students it gets, are those the local engine would give. At most ``2 × CPUs`` lessons are
in flight or waiting, so neither the object store nor the driver's memory grows with the run.

Faults: a task whose worker process dies is run again by Ray (``max_retries``); a video that
cannot be analysed fails alone, with its one-line reason; a driver killed mid-run leaves the
lesson being written failed (``Store`` recovers it), and running again replaces it.

Videos reach the workers by path, on storage every node sees (the default: nothing is copied),
or with ``ship_videos`` as bytes through Ray's object store. A worker that cannot read a path
refuses that lesson, saying so.
"""

from __future__ import annotations

import itertools
import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from emotion_core.analysis.lesson_writing import write_lesson
from emotion_core.analysis.ray_worker import (
    LessonFailed,
    LessonTask,
    ProgressBoard,
    WorkerLesson,
    analyse_task,
)
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings
from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Progress
from emotion_core.store.store import Store
from emotion_core.video.source import file_label

log = logging.getLogger(__name__)

RAY_REQUIREMENT = "ray==2.60.0"
# A task whose worker process dies (killed, out of memory, its node lost) is run again this
# many times before its lesson fails.
MAX_RETRIES = 3
# How long joining a cluster waits for its head to answer before saying it cannot.
CONNECT_TIMEOUT_S = 10.0


class ClusterUnavailable(ClassroomMoodError, RuntimeError):
    """Ray is not installed, or the cluster cannot be started or joined."""


@dataclass(frozen=True)
class LessonRequest:
    """One lesson to analyse on the cluster."""

    path: Path
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    name: str | None = None  # the name the store keeps (the file's own by default)
    class_group: str | None = None
    recorded_on: date | None = None
    duration_s: float | None = None  # when known, for the progress over all lessons

    @property
    def label(self) -> str:
        return self.name or file_label(self.path)


@dataclass(frozen=True)
class LessonOutcome:
    """A lesson written (``result``) or failed (``error``, one line)."""

    index: int
    request: LessonRequest
    result: AnalysisResult | None = None
    error: str | None = None
    worker: str | None = None  # host:pid of the worker process that analysed it
    loaded_models: bool = False  # whether that task loaded the models (its process's first)


@dataclass(frozen=True)
class RunProgress:
    """How far a run over several lessons has come."""

    lessons: dict[int, Progress]  # the progress of each lesson started, by index
    workers: dict[int, int]  # the worker process (pid) analysing each of those
    lessons_done: int  # written or failed
    lessons_total: int
    video_s_done: float
    video_s_total: float  # of the lessons whose duration is known
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        if not self.video_s_done or self.video_s_done >= self.video_s_total:
            return None
        return self.elapsed_s / self.video_s_done * (self.video_s_total - self.video_s_done)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(
            f"the Ray engine needs the ray package: .venv/bin/pip install {RAY_REQUIREMENT}"
        ) from None
    return ray


_connected: dict[str, str | None] = {}  # the address this process joined, if it did
_boards: dict[str, Any] = {}  # this driver's progress board, by the Ray job it belongs to
_runs = itertools.count(1)


def connect(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` (``auto``: the one started on this machine with
    ``ray start``), or start a local one of ``num_cpus`` (all by default) when None. Joining
    another address than the one joined before leaves that one first."""
    ray = _ray()
    if ray.is_initialized():
        if _connected.get("address", address) == address:
            return
        ray.shutdown()
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                               "logging_level": logging.WARNING}
    try:
        if address:
            _check_reachable(address)
            ray.init(address=address, **options)
        else:
            ray.init(address="local", num_cpus=num_cpus, **options)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError, OSError) as exc:
        where = f"join the Ray cluster at {address}" if address else "start a local Ray cluster"
        reason = (
            "no Ray cluster runs on this machine (start one with `ray start --head`)"
            if address == "auto" and isinstance(exc, ConnectionError) else _first_line(exc)
        )
        raise ClusterUnavailable(f"cannot {where}: {reason}") from None
    _connected["address"] = address
    log.info("analysing on a Ray cluster of %d CPUs", int(ray.cluster_resources().get("CPU", 0)))


def _check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ``OSError`` when nothing answers at ``HOST:PORT`` (Ray itself would wait for
    minutes); other forms (``auto``, ``ray://…``) are left to Ray."""
    host, _, port = address.rpartition(":")
    if not host or "/" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise OSError(f"nothing answers at {address} ({exc.strerror or exc})") from None


def disconnect() -> None:
    """Leave the cluster (a local one started here stops)."""
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()
    _connected.clear()
    _boards.clear()


def _progress_board(ray: Any) -> Any:
    """This driver's ``ProgressBoard`` actor, started on its first run and kept: a new actor
    takes seconds to start, during which no progress could be read."""
    job = ray.get_runtime_context().get_job_id()
    if job not in _boards:
        _boards.clear()
        _boards[job] = ray.remote(num_cpus=0)(ProgressBoard).remote()
    return _boards[job]


@contextmanager
def ray_cluster(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[None]:
    """Connected to a cluster (``connect``) for the block, left afterwards."""
    connect(address, num_cpus=num_cpus)
    try:
        yield
    finally:
        disconnect()


def analyse_on_ray(
    requests: Sequence[LessonRequest],
    store: Store,
    *,
    ship_videos: bool = False,
    on_progress: Callable[[RunProgress], None] | None = None,
    on_outcome: Callable[[LessonOutcome], None] | None = None,
    poll_s: float = 0.5,
) -> list[LessonOutcome]:
    """Analyse ``requests`` on the cluster joined (a local one is started when none is) and
    write each into ``store`` in their order; one outcome per request, in that order.

    ``on_outcome`` hears of each lesson as it is written or fails; ``on_progress`` about every
    ``poll_s`` seconds while lessons are analysed.
    """
    ray = _ray()
    if not ray.is_initialized():
        connect()
    run = _Run(ray, list(requests), store, ship_videos, on_progress, on_outcome)
    try:
        return run.until_done(poll_s)
    finally:
        run.stop()


class _Run:
    """One ``analyse_on_ray``: lessons submitted, gathered, and written in order."""

    def __init__(
        self, ray: Any, requests: list[LessonRequest], store: Store, ship_videos: bool,
        on_progress: Callable[[RunProgress], None] | None,
        on_outcome: Callable[[LessonOutcome], None] | None,
    ) -> None:
        self.ray, self.requests, self.store = ray, requests, store
        self.ship_videos = ship_videos
        self.on_progress, self.on_outcome = on_progress, on_outcome
        self.started = time.perf_counter()
        self.task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(analyse_task)
        self.board = _progress_board(ray)
        self.run = next(_runs)
        self.prefer = tuple(store.embedding_models())
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.window = max(2, 2 * cpus)  # lessons in flight or waiting to be written
        self.pending: dict[Any, int] = {}  # task result -> lesson index
        self.arrived: dict[int, WorkerLesson | LessonFailed] = {}
        self.next_submit = 0
        self.outcomes: list[LessonOutcome] = []

    def until_done(self, poll_s: float) -> list[LessonOutcome]:
        while len(self.outcomes) < len(self.requests):
            self._submit()
            if self.pending:
                ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=poll_s)
                for ref in ready:
                    index = self.pending.pop(ref)
                    self.arrived[index] = self._gather(ref, self.requests[index])
            self._write_arrived()
            self._report()
        return self.outcomes

    def _submit(self) -> None:
        while (self.next_submit < len(self.requests)
               and len(self.pending) + len(self.arrived) < self.window):
            index = self.next_submit
            request = self.requests[index]
            task = LessonTask(
                self.run, index, str(Path(request.path).resolve()), request.label,
                # one core per task: Ray runs the lessons side by side instead of a helper
                replace(request.settings, embedding_helper=False), self.prefer,
            )
            self.next_submit += 1
            try:
                video = self.ray.put(Path(request.path).read_bytes()) if self.ship_videos else None
            except OSError as exc:
                self.arrived[index] = LessonFailed(
                    f"{request.label}: cannot read it to send to the cluster: "
                    f"{exc.strerror or exc}"
                )
                continue
            self.pending[self.task.remote(task, video, self.board)] = index

    def _gather(self, ref: Any, request: LessonRequest) -> WorkerLesson | LessonFailed:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None) or exc
            return LessonFailed(
                f"{request.label}: analysis failed on the cluster: "
                f"{type(cause).__name__}: {_first_line(cause)}"
            )
        except self.ray.exceptions.RayError as exc:  # its worker died every time, node lost
            return LessonFailed(
                f"{request.label}: the cluster could not analyse it "
                f"({MAX_RETRIES + 1} tries): {_first_line(exc)}"
            )

    def _write_arrived(self) -> None:
        while (index := len(self.outcomes)) in self.arrived:
            arrived = self.arrived.pop(index)
            request = self.requests[index]
            if isinstance(arrived, LessonFailed):
                outcome = LessonOutcome(index, request, error=arrived.message)
            else:
                result = write_lesson(
                    self.store, arrived.lesson, class_group=request.class_group,
                    recorded_on=request.recorded_on,
                )
                outcome = LessonOutcome(index, request, result, None, arrived.worker,
                                        arrived.loaded_models)
            self.outcomes.append(outcome)
            self._report()  # first, so that the outcome is heard of with the progress it makes
            if self.on_outcome is not None:
                self.on_outcome(outcome)

    def _report(self) -> None:
        if self.on_progress is None:
            return
        posted = self.ray.get(self.board.read.remote(self.run))
        lessons = {i: p for i, (_, p) in posted.items()}
        finished = len(self.outcomes)
        done = total = 0.0
        for index, request in enumerate(self.requests):
            duration = request.duration_s or 0.0
            total += duration
            if index < finished:
                done += duration
            elif index in lessons:
                done += duration * lessons[index].fraction
        self.on_progress(RunProgress(
            lessons, {i: pid for i, (pid, _) in posted.items()}, finished, len(self.requests),
            done, total, time.perf_counter() - self.started,
        ))

    def stop(self) -> None:
        """Cancel what is still running (the driver was interrupted); forget the progress."""
        for ref in self.pending:
            with suppress(Exception):  # already finished, or gone: nothing to cancel
                self.ray.cancel(ref, force=True)
        self.board.forget.remote(self.run)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
