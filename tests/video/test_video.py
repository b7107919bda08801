"""Tests for emotion_core/video/source.py: sampling arithmetic, rotation, and clear errors for bad input."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.media import (
    frame_number,
    gradient_frames,
    numbered_frames,
    truncated_copy,
    write_tone,
    write_video,
)

from emotion_core.video.source import VideoError, VideoSource, _upright, expected_samples, probe

FPS = 10
SECONDS = 3
FRAMES = FPS * SECONDS


@pytest.fixture(scope="module")
def numbered_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s at 10 fps; frame i is flat grey at level 8·i, so a decoded frame tells its number."""
    path = tmp_path_factory.mktemp("video") / "numbered.mp4"
    return write_video(path, numbered_frames(FRAMES), FPS)


def test_probe_reads_the_header(numbered_video: Path) -> None:
    info = probe(numbered_video)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == FPS
    assert info.duration_s == pytest.approx(SECONDS)
    assert info.frame_count == FRAMES
    assert (info.rotation, info.codec) == (0, "h264")
    assert info.size_bytes == numbered_video.stat().st_size


def test_two_per_second_takes_every_fifth_frame(numbered_video: Path) -> None:
    frames = list(VideoSource(numbered_video).frames(2.0))
    assert [f.index for f in frames] == [0, 5, 10, 15, 20, 25]
    assert [frame_number(f.image) for f in frames] == [0, 5, 10, 15, 20, 25], "the pixels agree"
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert all(f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8 for f in frames)


@pytest.mark.parametrize("sample_fps", [0.5, 1, 2, 3, 4, 7, 10, 25])
def test_sampling_takes_the_first_frame_at_or_after_each_tick(
    numbered_video: Path, sample_fps: float
) -> None:
    source = VideoSource(numbered_video)
    frames = list(source.frames(sample_fps))
    if sample_fps >= FPS:
        expected = list(range(FRAMES))
    else:
        ticks = np.arange(0, SECONDS, 1 / sample_fps)
        expected = [math.ceil(round(t * FPS, 6)) for t in ticks]
    assert [frame_number(f.image) for f in frames] == expected
    assert [f.index for f in frames] == expected
    assert len(frames) == expected_samples(source.info, sample_fps)


def test_sampling_rate_must_be_positive(numbered_video: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        next(VideoSource(numbered_video).frames(0))


# -- rotation ---------------------------------------------------------------------------------


def upright_test_card(height: int = 64, width: int = 48) -> np.ndarray:
    """What a person should see: bright top-left quadrant, everything else dark."""
    card = np.zeros((height, width, 3), np.uint8)
    card[: height // 2, : width // 2] = 255
    return card


def quadrant_means(image: np.ndarray) -> list[float]:
    h, w = image.shape[0] // 2, image.shape[1] // 2
    quads = [image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:]]
    return [round(float(q.mean())) for q in quads]


def write_rotated(path: Path, rotation: int) -> Path:
    """A video stored sideways whose display matrix says how to turn it upright.

    The display matrix rotation (as PyAV's ``set_display_rotation`` and ``frame.rotation``
    express it) is the counter-clockwise turn to apply for display, so the stored frames are
    the upright card turned the other way.
    """
    stored = np.ascontiguousarray(np.rot90(upright_test_card(), k=-(rotation // 90)))
    return write_video(path, [stored] * 3, FPS, rotation=rotation)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video_comes_out_upright(tmp_path: Path, rotation: int) -> None:
    source = VideoSource(write_rotated(tmp_path / f"rot{rotation}.mp4", rotation))
    assert source.info.rotation == rotation
    assert (source.info.width, source.info.height) == (48, 64), "sizes are as displayed"
    frame = next(source.frames(2.0)).image
    assert frame.shape == (64, 48, 3)
    assert quadrant_means(frame) == [255, 0, 0, 0]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg command is not installed")
@pytest.mark.parametrize("rotation", [90, 270])
def test_rotation_agrees_with_ffmpeg_autorotate(tmp_path: Path, rotation: int) -> None:
    """ffmpeg's own player logic turns frames by the display matrix: an independent reference."""
    path = write_rotated(tmp_path / f"rot{rotation}.mp4", rotation)
    ours = next(VideoSource(path).frames(2.0)).image
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(ours.shape)
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 2


def test_upright_turns_counter_clockwise() -> None:
    image = np.array([[1, 2], [3, 4]])
    assert _upright(image, 0) is image
    assert _upright(image, 90).tolist() == [[2, 4], [1, 3]]
    assert _upright(image, 180).tolist() == [[4, 3], [2, 1]]
    assert _upright(image, 270).tolist() == [[3, 1], [4, 2]]


# -- unreadable input -------------------------------------------------------------------------


def assert_one_line(error: pytest.ExceptionInfo[VideoError], *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as error:
        VideoSource(tmp_path / "absent.mp4")
    assert_one_line(error, "absent.mp4", "not found")


def test_folder_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as error:
        VideoSource(tmp_path)
    assert_one_line(error, "not a file")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").touch()
    with pytest.raises(VideoError) as error:
        VideoSource(tmp_path / "empty.mp4")
    assert_one_line(error, "empty.mp4", "empty (0 bytes)")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("minutes of the staff meeting\n" * 20)
    with pytest.raises(VideoError) as error:
        VideoSource(path)
    assert_one_line(error, "notes.mp4", "not a readable video file")


def test_audio_only_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as error:
        VideoSource(write_tone(tmp_path / "tone.m4a"))
    assert_one_line(error, "tone.m4a", "no video stream", "audio")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_truncated_video_with_its_index_up_front(tmp_path: Path, suffix: str) -> None:
    """A file cut in half whose header survives decodes to a shorter video: that must fail."""
    whole = write_video(tmp_path / f"whole{suffix}", gradient_frames(100, 96, 128), FPS,
                        faststart=True)
    assert len(list(VideoSource(whole).frames(2.0))) == 20
    half = VideoSource(truncated_copy(whole, tmp_path / f"half{suffix}"))
    assert half.info.duration_s == pytest.approx(10.0), "the header still promises 10 s"
    with pytest.raises(VideoError) as error:
        list(half.frames(2.0))
    assert_one_line(error, f"half{suffix}", "truncated", "promises 10.0 s")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_sound_that_runs_on_after_the_picture_is_not_truncation(tmp_path: Path, suffix: str) -> None:
    video = write_video(tmp_path / f"talk{suffix}", numbered_frames(FRAMES), FPS, audio_s=6.0)
    source = VideoSource(video)
    assert source.info.duration_s == pytest.approx(SECONDS), "the picture's length, not the sound's"
    assert [frame_number(f.image) for f in source.frames(1.0)] == [0, 10, 20]


def test_truncated_video_with_its_index_at_the_end(tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.mp4", gradient_frames(100, 96, 128), FPS)
    with pytest.raises(VideoError) as error:
        VideoSource(truncated_copy(whole, tmp_path / "half.mp4"))
    assert_one_line(error, "half.mp4", "not a readable video file")


@pytest.mark.real_data
def test_truncated_real_video_fails_before_the_end(tmp_path: Path, cctv_classroom: Path) -> None:
    source = VideoSource(truncated_copy(cctv_classroom, tmp_path / "cut.mp4"))
    sampled = []
    with pytest.raises(VideoError) as error:
        for frame in source.frames(2.0):
            sampled.append(frame.time_s)
    assert_one_line(error, "cut.mp4", "truncated")
    assert 0 < len(sampled) < 22, "the first half decodes, then the error"


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "size", "fps", "frames"),
    [
        ("classroom_children_cctv.mp4", (640, 352), 20, 219),
        ("intel_classroom_preview.mp4", (480, 270), 15, 45),
        ("intel_head_pose_female_and_male_preview.mp4", (480, 270), 12, 56),
    ],
)
def test_real_videos_decode_completely(
    videos_dir: Path, name: str, size: tuple[int, int], fps: int, frames: int
) -> None:
    source = VideoSource(videos_dir / name)
    assert (source.info.width, source.info.height, source.info.fps) == (*size, fps)
    times, shapes = [], set()
    for frame in source.frames(float(fps)):  # one frame at a time: 219 frames would be 150 MB
        times.append(frame.time_s)
        shapes.add(frame.image.shape)
    assert len(times) == frames
    assert times == sorted(times) and times[0] == 0.0
    assert shapes == {(size[1], size[0], 3)}
