"""Short clips cut from the real videos, so tests analyse a few seconds of real faces."""

from __future__ import annotations

from pathlib import Path

import av
from support.media import write_video


def cut_clip(source: Path, out: Path, start_s: float, end_s: float) -> Path:
    """The frames of ``source`` shown from ``start_s`` to ``end_s``, encoded anew (lossless)
    at its own frame rate: another file, with the same people."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        fps = round(float(stream.average_rate))
        frames = [
            frame.to_ndarray(format="rgb24") for frame in container.decode(stream)
            if frame.time is not None and start_s <= frame.time < end_s
        ]
    return write_video(out, frames, fps)
