"""Small media files made by the tests themselves with PyAV: videos, audio-only files, damage."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

# Grey level step between consecutive numbered frames: wide enough to survive H.264 and the
# RGB -> YUV -> RGB round trip, small enough for 30 frames to fit in 0..255.
NUMBER_STEP = 8
AUDIO_RATE = 16000


def write_video(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: int,
    *,
    rotation: int | None = None,
    faststart: bool = False,
    audio_s: float = 0.0,
) -> Path:
    """Encode RGB frames (H, W, 3) uint8 as H.264; ``rotation`` sets the display matrix.

    ``faststart`` puts the mp4 index at the front, as streaming encoders do, so that a file
    cut short still opens and decodes up to the cut. ``audio_s`` adds a silent AAC track of
    that length, which may run on after the picture ends.
    """
    options = {"movflags": "faststart"} if faststart and path.suffix == ".mp4" else {}
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "0"})
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        audio = _add_audio_stream(container) if audio_s else None
        for image in (first, *frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            _encode_audio(container, audio, np.zeros(int(audio_s * AUDIO_RATE), np.float32))
    return path


def _add_audio_stream(container: av.container.OutputContainer) -> av.AudioStream:
    stream = container.add_stream("aac", rate=AUDIO_RATE)
    stream.layout = "mono"  # before anything is muxed: the codec opens with the header
    return stream


def _encode_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray
) -> None:
    for start in range(0, len(samples), 1024):
        chunk = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[None, start : start + 1024]), format="fltp", layout="mono"
        )
        chunk.sample_rate = stream.rate
        for packet in stream.encode(chunk):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def numbered_frames(count: int, height: int = 48, width: int = 64) -> Iterable[np.ndarray]:
    """Flat grey frames whose grey level encodes their frame number (see ``frame_number``)."""
    for index in range(count):
        yield np.full((height, width, 3), index * NUMBER_STEP, dtype=np.uint8)


def frame_number(image: np.ndarray) -> int:
    return round(float(image.mean()) / NUMBER_STEP)


def gradient_frames(count: int, height: int = 180, width: int = 320) -> Iterable[np.ndarray]:
    """Smooth moving colour gradients: a video in which no detector should find a face."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for index in range(count):
        red = (xs / width * 255 + index * 4) % 256
        green = ys / height * 255
        blue = np.full_like(xs, 128)
        yield np.stack([red, green, blue], axis=-1).astype(np.uint8)


def write_tone(path: Path, seconds: float = 1.0) -> Path:
    """An audio-only AAC file: a 440 Hz sine wave."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    with av.open(str(path), mode="w") as container:
        stream = _add_audio_stream(container)
        _encode_audio(container, stream, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    return path


def truncated_copy(source: Path, out: Path, keep_fraction: float = 0.5) -> Path:
    """The first ``keep_fraction`` of ``source``'s bytes, like an interrupted download."""
    data = source.read_bytes()
    out.write_bytes(data[: int(len(data) * keep_fraction)])
    return out


# -- the bad-input corpus (tests/app/test_bad_inputs.py) ----------------------------------------------


def write_cover_art_audio(path: Path, seconds: float = 1.0) -> Path:
    """A voice memo with a cover picture: an mp4 whose only 'video' stream is one PNG."""
    cover = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(cover, "PNG")
    with av.open(str(path), mode="w", format="mp4") as container:
        audio = _add_audio_stream(container)
        picture = container.add_stream("png", rate=1)
        picture.width = picture.height = 32
        picture.pix_fmt = "rgb24"
        picture.disposition = av.stream.Disposition.attached_pic
        packet = av.Packet(cover.getvalue())
        packet.stream, packet.pts, packet.dts = picture, 0, 0
        _encode_audio(container, audio, np.zeros(int(seconds * AUDIO_RATE), np.float32))
        container.mux(packet)
    return path


def write_image(path: Path, image: np.ndarray, image_format: str) -> Path:
    """A photo (``image_format`` as PIL names it: PNG, JPEG, …), whatever ``path``'s suffix."""
    Image.fromarray(image).save(path, image_format)
    return path


def face_photo(side: int = 96) -> np.ndarray:
    """A real face, ``side`` pixels square: the astronaut of scikit-image (public domain)."""
    from skimage import data

    face = data.astronaut()[30:230, 150:350]
    return np.asarray(Image.fromarray(face).resize((side, side), Image.Resampling.LANCZOS))


def scene_with_face(height: int, width: int, top: int, left: int, side: int) -> np.ndarray:
    """A grey frame with ``face_photo(side)`` at (``top``, ``left``)."""
    scene = np.full((height, width, 3), 110, np.uint8)
    scene[top : top + side, left : left + side] = face_photo(side)
    return scene


def write_vfr_video(path: Path, frames: Iterable[np.ndarray], times_s: Sequence[float]) -> Path:
    """RGB frames shown at ``times_s`` (one each): a variable frame rate, as phones record in
    dim light. The stream counts time in milliseconds."""
    millisecond = Fraction(1, 1000)
    frames = list(frames)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30, options={"crf": "0"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.time_base = stream.codec_context.time_base = millisecond
        for time_s, image in zip(times_s, frames, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = round(time_s * 1000), millisecond
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
