"""A second process that embeds face chips, so that embedding uses two cores instead of one."""

from __future__ import annotations

import collections
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.identity.embedders import DlibEmbedder

log = logging.getLogger(__name__)

WORKER_MODELS = ("Dlib",)
# Below the analysis: while the video is being analysed, the worker gets what the analysis leaves
# of the cores; a worker at the analysis's own priority slowed it by more than it took off it
# (BENCHMARKS.md, Identity).
WORKER_NICENESS = 10
# Protocol, little-endian, over the worker's stdin and stdout:
# - worker, once ready: ``RDY1`` + uint32 dimension; or ``ERR1`` + uint32 length + message, and
#   it exits;
# - analysis, per batch: ``JOB1`` + uint32 count, height, width + count·height·width·3 RGB bytes;
# - worker, per batch in order: ``VEC1`` + uint32 count, dimension + float32 rows; or ``ERR1`` as
#   above (that batch failed; the worker goes on).
_U32 = struct.Struct("<I")
_JOB = struct.Struct("<III")
_VECTORS = struct.Struct("<II")


class HelperFailed(ClassroomMoodError, RuntimeError):
    """The worker could not embed a batch (or is gone): embed it in the analysis process."""


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("the pipe closed")
    return data


def _write_error(out: BinaryIO, message: str) -> None:
    text = message.encode("utf-8", "replace")[:4000]
    out.write(b"ERR1" + _U32.pack(len(text)) + text)
    out.flush()


def serve(model_name: str, requests: BinaryIO, replies: BinaryIO) -> int:
    """The worker's loop: embed each batch read from ``requests`` until it closes; unit rows,
    as ``DlibEmbedder.embed`` gives them in the analysis process."""
    try:
        if model_name not in WORKER_MODELS:
            raise ValueError(f"{model_name!r} cannot run in the worker (only {WORKER_MODELS})")
        embedder = DlibEmbedder()
        dimension = embedder.dimension
    except Exception as exc:  # noqa: BLE001  (anything: the analysis process embeds it all)
        _write_error(replies, f"{type(exc).__name__}: {exc}")
        return 1
    replies.write(b"RDY1" + _U32.pack(dimension))
    replies.flush()
    while True:
        try:
            if _read_exactly(requests, 4) != b"JOB1":
                _write_error(replies, "bad request")
                return 1
            count, height, width = _JOB.unpack(_read_exactly(requests, _JOB.size))
            pixels = _read_exactly(requests, count * height * width * 3)
        except EOFError:
            return 0
        try:
            chips = np.frombuffer(pixels, dtype=np.uint8).reshape(count, height, width, 3)
            vectors = embedder.embed(chips)
            vectors = np.ascontiguousarray(vectors.reshape(count, dimension))
        except Exception as exc:  # noqa: BLE001  (that batch is embedded by the analysis)
            _write_error(replies, f"{type(exc).__name__}: {exc}")
            continue
        replies.write(b"VEC1" + _VECTORS.pack(count, dimension) + vectors.tobytes())
        replies.flush()


class Pending:
    """The vectors of one batch handed to the worker, once it has sent them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._done = threading.Event()
        self._vectors: np.ndarray | None = None
        self._error = ""

    def _finish(self, vectors: np.ndarray | None, error: str = "") -> None:
        self._vectors, self._error = vectors, error
        self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout_s: float | None = None) -> np.ndarray:
        """(count, dimension) float32, as the worker computed them; ``HelperFailed`` if it could
        not, or has not within ``timeout_s``."""
        if not self._done.wait(timeout_s):
            raise HelperFailed(f"no vectors from the embedding worker after {timeout_s:.0f} s")
        if self._vectors is None:
            raise HelperFailed(self._error or "the embedding worker stopped")
        return self._vectors


class EmbeddingHelper:
    """A worker process for one embedding model, fed by a writer thread and read by a reader
    thread so that ``submit`` returns at once. Thread-safe; batches come back in order.

    dlib computes an embedding on one core and holds Python's lock while it does, so a thread
    cannot run two at once; a process can. This starts ``python -m emotion_core.identity.worker
    MODEL`` once, hands it batches of chips, and collects their vectors in the order it sent
    them, without ever blocking the analysis while the worker is busy. The worker runs the same
    DeepFace code as the analysis process (``DeepFace.represent`` is a thin front for
    ``deepface.modules.representation.represent``, which the worker calls directly so it does not
    load TensorFlow), so its vectors are the analysis process's own, to the bit.

    Only models that need no TensorFlow can run there: ``Dlib``. The chips never leave the
    machine: they go through a pipe to a child process and are not written anywhere.
    """

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.dimension = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._jobs: queue.Queue[tuple[np.ndarray, Pending] | None] = queue.Queue()
        self._waiting: collections.deque[Pending] = collections.deque()
        self._backlog = 0
        self._failed = ""
        # the worker imports this package from where this process found it, whatever its cwd
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "emotion_core.identity.worker", model_name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        threading.Thread(target=self._write, name="embedding-writer", daemon=True).start()
        threading.Thread(target=self._read, name="embedding-reader", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self._failed and self._process.poll() is None

    @property
    def pid(self) -> int:
        """The helper process's id (the speed benchmark reads its CPU time from ``/proc``)."""
        return self._process.pid

    @property
    def backlog(self) -> int:
        """Chips handed over whose vectors have not come back yet."""
        with self._lock:
            return self._backlog

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the worker has loaded its model (waiting at most ``timeout_s``)."""
        return self._ready.wait(timeout_s) and self.alive

    def submit(self, chips: np.ndarray) -> Pending:
        """Hand ``chips`` (N, S, S, 3) RGB uint8 to the worker; returns at once."""
        pending = Pending(len(chips))
        with self._lock:
            if self._failed:
                pending._finish(None, self._failed)
                return pending
            self._backlog += len(chips)
            self._waiting.append(pending)
            self._jobs.put((np.ascontiguousarray(chips, dtype=np.uint8), pending))
        return pending

    def close(self, kill: bool = False) -> None:
        """Stop the worker, at once with ``kill`` (batches still out fail, and are embedded by
        their owners)."""
        self._jobs.put(None)
        self._fail("the embedding worker was closed")
        if kill:
            self._process.kill()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _fail(self, reason: str) -> None:
        with self._lock:
            if not self._failed:
                self._failed = reason
            waiting, self._waiting = list(self._waiting), collections.deque()
            self._backlog = 0
        for pending in waiting:
            pending._finish(None, reason)
        self._ready.set()

    def _write(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            while (job := self._jobs.get()) is not None:
                chips, _ = job
                count, height, width = chips.shape[:3]
                stdin.write(b"JOB1" + _JOB.pack(count, height, width))
                stdin.write(memoryview(chips).cast("B"))
                stdin.flush()
        except (OSError, ValueError) as exc:  # the worker is gone
            self._fail(f"the embedding worker stopped ({exc})")
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while True:
                tag = _read_exactly(stdout, 4)
                if tag == b"RDY1":
                    self.dimension = _U32.unpack(_read_exactly(stdout, 4))[0]
                    self._ready.set()
                    continue
                if tag == b"ERR1":
                    (length,) = _U32.unpack(_read_exactly(stdout, 4))
                    message = _read_exactly(stdout, length).decode("utf-8", "replace")
                    if not self._ready.is_set():  # it could not start
                        log.warning("the embedding worker did not start: %s", message)
                        self._fail(message)
                        return
                    self._settle(None, message)
                    continue
                if tag != b"VEC1":
                    raise EOFError(f"unexpected reply {tag!r}")
                count, dimension = _VECTORS.unpack(_read_exactly(stdout, _VECTORS.size))
                data = _read_exactly(stdout, count * dimension * 4)
                self._settle(np.frombuffer(data, dtype=np.float32).reshape(count, dimension))
        except (EOFError, OSError, ValueError) as exc:
            self._fail(f"the embedding worker stopped ({exc})")

    def _settle(self, vectors: np.ndarray | None, error: str = "") -> None:
        with self._lock:
            pending = self._waiting.popleft()
            self._backlog -= pending.count
        pending._finish(vectors, error)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m emotion_core.identity.worker MODEL", file=sys.stderr)
        return 2
    # the analysis comes first: this process takes the cores when the analysis leaves them idle
    os.nice(WORKER_NICENESS)
    # the protocol owns the real stdout; anything printed (DeepFace logs with print) goes to stderr
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return serve(args[0], sys.stdin.buffer, replies)


if __name__ == "__main__":
    sys.exit(main())
