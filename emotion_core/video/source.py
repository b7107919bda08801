"""Decoding and sampling lesson videos (PyAV), with clear errors for unreadable input."""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Frame, VideoInfo

log = logging.getLogger(__name__)

# A decode that stops this much short of the length the container promises is a damaged file.
_TRUNCATION_TOLERANCE_S = 1.0
_TRUNCATION_TOLERANCE_FRACTION = 0.1
# Demuxers of picture files: FFmpeg opens a photo (PNG, JPEG, WebP, GIF, …) as a "video" of one
# frame, which would be analysed as a lesson lasting no time at all. Every ``*_pipe`` demuxer
# reads images too.
_IMAGE_DEMUXERS = frozenset({"image2", "image2pipe", "apng", "gif", "webp"})


class VideoError(ClassroomMoodError):
    """A video that cannot be analysed; the message is meant for the user, on one line."""


def printable(text: str) -> str:
    """``text`` as it can be stored and shown: what is no UTF-8 (bytes of a file name made on an
    old system, held as surrogates) and control characters (a newline) become U+FFFD, so that it
    fits the database, the terminal, a web page and one line."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        pass  # a surrogate that holds no byte: replaced below, as the others
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)


def file_label(path: Path) -> str:
    """A file's name as it is stored and shown (see ``printable``)."""
    return printable(path.name)


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{file_label(path)}: file not found")
    if not path.is_file():
        raise VideoError(f"{file_label(path)}: not a file")
    if path.stat().st_size == 0:
        raise VideoError(f"{file_label(path)}: the file is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise VideoError(f"{file_label(path)}: not a readable video file ({_reason(exc)})") from exc


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _image_format(container: av.container.InputContainer) -> str | None:
    """The image format (e.g. 'png') when the file is a picture, not a video; else None."""
    demuxer = container.format.name
    if demuxer not in _IMAGE_DEMUXERS and not demuxer.endswith("_pipe"):
        return None
    codecs = [s.codec_context.name for s in container.streams.video]
    name = codecs[0] if codecs else demuxer.removesuffix("_pipe")
    return {"mjpeg": "jpeg"}.get(name, name).upper()


def _moving_pictures(container: av.container.InputContainer) -> list[av.VideoStream]:
    """The video streams, without cover art (a music or voice file's picture is no video)."""
    return [s for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic]


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    image = _image_format(container)
    if image is not None:
        raise VideoError(f"{file_label(path)}: this is a picture ({image}), not a video")
    streams = _moving_pictures(container)
    if not streams:
        kinds = sorted({s.type for s in container.streams if s not in container.streams.video})
        if container.streams.video:
            kinds.append("a cover picture")
        raise VideoError(
            f"{file_label(path)}: no video stream in the file"
            f" (it holds {', '.join(kinds) or 'nothing'})"
        )
    return streams[0]


def _stream_fps(stream: av.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _tagged_duration_s(stream: av.VideoStream) -> float | None:
    """The track length Matroska and WebM keep in a DURATION tag ('HH:MM:SS.fraction')."""
    text = next((v for k, v in stream.metadata.items() if k.upper() == "DURATION"), None)
    if not text:
        return None
    try:
        hours, minutes, seconds = text.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    # The container's duration is that of its longest stream: an audio track that runs on after
    # the picture would make a whole file look truncated, so the video track's own tag comes first.
    tagged = _tagged_duration_s(stream)
    if tagged is not None:
        return tagged
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply display rotation (degrees counter-clockwise) so people appear upright."""
    quarter_turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=quarter_turns)) if quarter_turns else image


def _first_frame_rotation(path: Path) -> int:
    with _open(path) as container:
        stream = _video_stream(container, path)
        try:
            for frame in container.decode(stream):
                return round(frame.rotation or 0)
        except av.FFmpegError as exc:
            raise VideoError(
                f"{file_label(path)}: cannot decode the video ({_reason(exc)})"
            ) from exc
    raise VideoError(f"{file_label(path)}: the video stream holds no decodable frame")


def probe(path: str | Path) -> VideoInfo:
    """Read a video's metadata and check that at least one frame decodes."""
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        fps = _stream_fps(stream)
        duration = _duration_s(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        codec = stream.codec_context.name
        frame_count = stream.frames or (round(duration * fps) if fps else 0)
    rotation = _first_frame_rotation(path) % 360
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration_s=duration,
        frame_count=frame_count,
        rotation=rotation,
        codec=codec,
        size_bytes=path.stat().st_size,
    )


def expected_samples(info: VideoInfo, sample_fps: float) -> int:
    """How many frames ``VideoSource.frames(sample_fps)`` will yield, as far as the header tells."""
    if info.fps and sample_fps >= info.fps:
        return max(1, info.frame_count)
    return max(1, math.ceil(info.duration_s * sample_fps - 1e-6))


class VideoSource:
    """Decodes a video once, front to back, yielding frames sampled at a chosen rate.

    Only the sampled frames are converted to arrays, and only one at a time is held, so memory
    does not grow with the length of the video.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info = probe(self.path)

    def frames(self, sample_fps: float) -> Iterator[Frame]:
        if sample_fps <= 0:
            raise ValueError(f"sample rate must be positive, got {sample_fps}")
        step = 1.0 / sample_fps
        next_sample_s = 0.0
        last_time_s = 0.0
        path = self.path
        with _open(path) as container:
            stream = _video_stream(container, path)
            stream.thread_type = "AUTO"
            start = stream.start_time or 0
            time_base = stream.time_base or Fraction(1, 1)
            index = -1
            try:
                for frame in container.decode(stream):
                    index += 1
                    pts = frame.pts if frame.pts is not None else frame.dts
                    if pts is not None:
                        time_s = float((pts - start) * time_base)
                    else:
                        time_s = index / self.info.fps if self.info.fps else float(index)
                    last_time_s = max(last_time_s, time_s)
                    # small tolerance so a 20 fps video sampled at 2 fps takes every 10th frame
                    if time_s + 1e-3 < next_sample_s:
                        continue
                    while next_sample_s <= time_s + 1e-3:
                        next_sample_s += step
                    image = _upright(frame.to_ndarray(format="rgb24"), self.info.rotation)
                    yield Frame(index=index, time_s=time_s, image=image)
            except av.FFmpegError as exc:
                raise VideoError(
                    f"{file_label(path)}: the video is damaged near {last_time_s:.1f} s"
                    f" ({_reason(exc)})"
                ) from exc
        if index < 0:
            raise VideoError(f"{file_label(path)}: the video stream holds no decodable frame")
        self._check_complete(last_time_s + (1.0 / self.info.fps if self.info.fps else 0.0))

    def _check_complete(self, decoded_until_s: float) -> None:
        promised = self.info.duration_s
        shortfall = promised - decoded_until_s
        tolerance = max(_TRUNCATION_TOLERANCE_S, _TRUNCATION_TOLERANCE_FRACTION * promised)
        if promised > 0 and shortfall > tolerance:
            raise VideoError(
                f"{file_label(self.path)}: the file looks truncated: frames end at"
                f" {decoded_until_s:.1f} s"
                f" but the header promises {promised:.1f} s"
            )
