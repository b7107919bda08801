"""What runs on a Ray worker: one lesson analysed, with the models loaded once per process.

Nothing here imports Ray: ``engine_ray`` wraps ``analyse_task`` as a Ray task and
``ProgressBoard`` as an actor, so this module runs (and is tested) in any process. A task
returns an ``AnalysedLesson`` or, for a video it cannot analyse, a ``LessonFailed`` with the
one-line reason; anything else it raises reaches the driver as Ray's task error.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emotion_core.analysis.lesson_result import AnalysedLesson, analyse_lesson
from emotion_core.analysis.settings import AnalysisSettings
from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Progress
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.detector import FaceDetector
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.video.source import VideoError


class VideoUnreachable(VideoError):
    """A video the driver sees that a worker cannot read: not on storage every node sees."""


@dataclass(frozen=True)
class LessonTask:
    """One lesson for a worker: where the video is, and how to analyse it."""

    run: int  # which run of the driver it belongs to (its progress is posted under it)
    index: int  # its place in the run: lessons are written in this order
    path: str  # absolute, as the driver sees it (unused when the video travels as bytes)
    name: str  # the video's name as the store keeps it
    settings: AnalysisSettings
    # the embedding models the roster's students were embedded with (``auto`` keeps to them)
    prefer_embedders: tuple[str, ...] = ()


@dataclass(frozen=True)
class LessonFailed:
    """A lesson that could not be analysed, and why, on one line."""

    message: str


@dataclass(frozen=True)
class WorkerLesson:
    """A lesson a worker analysed, and which worker process did it."""

    lesson: AnalysedLesson
    worker: str  # host:pid
    loaded_models: bool  # whether this task loaded the models (the first on its process)


class ProgressBoard:
    """Where workers post how far their lessons have come, for the driver to read (a Ray
    actor of no CPU, one per driver: starting one takes seconds). A lesson retried after its
    worker died starts again from nothing."""

    def __init__(self) -> None:
        self._runs: dict[int, dict[int, tuple[int, Progress]]] = {}

    def post(self, run: int, index: int, worker_pid: int, progress: Progress) -> None:
        self._runs.setdefault(run, {})[index] = (worker_pid, progress)

    def read(self, run: int) -> dict[int, tuple[int, Progress]]:
        """By lesson index: the worker process analysing it and its latest progress."""
        return dict(self._runs.get(run, {}))

    def forget(self, run: int) -> None:
        self._runs.pop(run, None)


def analyse_task(
    task: LessonTask, video: bytes | None = None, board: Any = None
) -> WorkerLesson | LessonFailed:
    """Analyse one lesson on this worker: the video at ``task.path`` on storage every node
    sees or, when given, its ``video`` bytes (sent through Ray's object store). Progress goes
    to ``board`` (a ``ProgressBoard`` actor) when there is one."""
    try:
        with _video_here(task, video) as path:
            (detector, emotion_model, embedder), loaded = worker_models(
                task.settings, task.prefer_embedders
            )
            lesson = analyse_lesson(
                path, detector, emotion_model, task.settings, embedder=embedder,
                file_name=task.name, on_progress=_poster(board, task),
            )
    except ClassroomMoodError as exc:  # a bad video, missing weights: the user's to act on
        return LessonFailed(str(exc))
    return WorkerLesson(lesson, f"{socket.gethostname()}:{os.getpid()}", loaded)


def _poster(board: Any, task: LessonTask) -> Any:
    if board is None:
        return None
    pid = os.getpid()

    def post(progress: Progress) -> None:
        # not awaited: progress must not slow the work
        board.post.remote(task.run, task.index, pid, progress)

    return post


@contextmanager
def _video_here(task: LessonTask, video: bytes | None) -> Iterator[Path]:
    """The video as a file on this worker: its path, checked, or a temporary copy of the
    bytes sent, removed afterwards."""
    if video is None:
        path = Path(task.path)
        if not (path.is_file() and os.access(path, os.R_OK)):
            raise VideoUnreachable(
                f"{task.name}: not readable on the Ray worker {socket.gethostname()} at "
                f"{task.path}: keep the videos on storage every node sees at the same path, "
                "or send them through Ray's object store (analyze --ship-videos)"
            )
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="classroom-video-") as folder:
        copy = Path(folder) / f"lesson{Path(task.path).suffix}"
        copy.write_bytes(video)
        yield copy


_models_lock = threading.Lock()
_loaded: set[tuple[object, ...]] = set()

Models = tuple[FaceDetector, EmotionModel, FaceEmbedder | None]


def worker_models(
    settings: AnalysisSettings, prefer_embedders: tuple[str, ...] = ()
) -> tuple[Models, bool]:
    """The models ``settings`` ask for, loaded once per worker process (``analysis.models``
    keeps them), and whether this call was the one that loaded them."""
    from emotion_core.analysis.models import (
        configure_environment,
        load_detector,
        load_embedder,
        load_emotion_model,
    )

    configure_environment()
    key = (settings.detector, settings.emotion_model, settings.identify,
           settings.embedding_model, prefer_embedders)
    with _models_lock:
        loaded = key not in _loaded
        models = (
            load_detector(settings.detector),
            load_emotion_model(settings.emotion_model),
            load_embedder(settings.embedding_model, prefer_embedders)
            if settings.identify else None,
        )
        _loaded.add(key)
    return models, loaded
