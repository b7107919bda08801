"""The composed demo lesson: small, labelled, made by its script from public-domain faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion_core.core.paths import SAMPLE_VIDEO
from emotion_core.video.source import VideoSource, probe
from sample_videos.compose_demo_lesson import HEIGHT, WIDTH, compose


def test_the_committed_sample_is_a_small_30_second_video() -> None:
    info = probe(SAMPLE_VIDEO)
    assert SAMPLE_VIDEO.stat().st_size < 2_000_000
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert abs(info.duration_s - 30.0) < 0.2


def test_the_script_composes_a_labelled_lesson(tmp_path: Path) -> None:
    out = compose(tmp_path / "demo.mp4", seconds=2.0, fps=5)
    frames = list(VideoSource(out).frames(5))
    assert len(frames) == 10
    first = frames[0].image
    assert first.shape == (HEIGHT, WIDTH, 3)
    banner = first[:20].astype(int)
    # white letters on the dark banner that says this is a composed demo
    assert (banner.mean(axis=2) < 60).mean() > 0.5 and (banner.mean(axis=2) > 200).any()
    # the faces change between frames (expressions and sway), the room does not
    assert not np.array_equal(frames[0].image, frames[-1].image)
