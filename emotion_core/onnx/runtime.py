"""One way to open onnxruntime sessions, for every network the app runs on it."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from emotion_core.core.errors import ClassroomMoodError


class OnnxModelUnusable(ClassroomMoodError, RuntimeError):
    """onnxruntime cannot load the model (a missing or damaged file, an unknown operator)."""


def onnx_session(model: str | bytes, what: str) -> Any:
    """An onnxruntime session for ``model`` (a file's path or the serialised model): CUDA when
    onnxruntime has it and sees a GPU, else the CPU with at most 4 threads.

    onnxruntime keeps the largest blocks of memory a session ever needed (its arena), so callers
    whose inputs vary in size feed it in bounded pieces (``run_in_pieces``).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # onnxruntime would otherwise start a thread per core, fighting the detector for them; and
    # its threads sleep when idle rather than spin, leaving the cores to the detector and the
    # embedding helper (no slower on its own: BENCHMARKS.md)
    options.intra_op_num_threads = min(4, os.cpu_count() or 1)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                 if p in ort.get_available_providers()]
    try:
        return ort.InferenceSession(model, options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for a bad file
        raise OnnxModelUnusable(f"cannot load {what}: {str(exc).splitlines()[0]}") from exc


def run_in_pieces(session: Any, batch: np.ndarray, rows_per_call: int) -> list[np.ndarray]:
    """The session's outputs for ``batch`` (its one input), run ``rows_per_call`` rows at a time
    and joined: onnxruntime's memory then follows the piece, not the largest batch of a video
    (BENCHMARKS.md, Memory)."""
    name = session.get_inputs()[0].name
    step = max(1, rows_per_call)
    pieces = [session.run(None, {name: batch[i:i + step]})
              for i in range(0, max(len(batch), 1), step)]
    return pieces[0] if len(pieces) == 1 else [np.concatenate(p) for p in zip(*pieces)]
