"""Compose the demo lesson in sample_videos/: a drawn classroom with six faces from public-domain photos.

The app offers this video to a first-time user ("Try the sample"), so every page can be seen
filled without a real lesson. It is a composition, not a recording, and says so in the picture.

Faces (both public domain, both shipped inside pip packages, nothing from ../shared/data):
* Eileen Collins, NASA astronaut: ``skimage.data.astronaut()`` (scikit-image; NASA photo,
  public domain).
* Grace Hopper, US Navy: ``matplotlib.cbook.get_sample_data("grace_hopper.jpg")`` (matplotlib;
  official US Navy photo, public domain).

Six "students" are made from the two photos: as they are, mirrored, and in grey. Each one's
expression changes over the lesson through a small smooth warp of the mouth corners and brows
(corners up reads as a smile, corners down with lowered brows as a frown), with a moment when the
whole class smiles, one student who turns sad in the second half, and one who leaves the room for
a few seconds and comes back. The room is drawn by ``benchmarks/compose_classroom.py``.

Usage::

    .venv/bin/python sample_videos/compose_demo_lesson.py [--out sample_videos/demo_lesson.mp4]
        [--seconds 30] [--fps 10]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.compose_classroom import open_h264, render_background

DEFAULT_OUT = Path(__file__).resolve().parent / "demo_lesson.mp4"
WIDTH, HEIGHT = 640, 360
BANNER = "COMPOSED DEMO LESSON - public-domain photos (NASA, US Navy), not real pupils"
CONTEXT = 1.9  # the sprite spans this many face-box widths around the face


@dataclass(frozen=True)
class SourceFace:
    """A photo with its face box and mouth corners and eye centres, in photo pixels.

    The points were measured once with the app's MTCNN detector and are fixed here, so the
    video is the same on every machine and composing it needs no model.
    """

    name: str
    image: np.ndarray  # RGB uint8
    box: tuple[float, float, float, float]
    eyes: tuple[tuple[float, float], tuple[float, float]]
    mouth: tuple[tuple[float, float], tuple[float, float]]

    def mirrored(self) -> SourceFace:
        w = self.image.shape[1]

        def flip(p: tuple[float, float]) -> tuple[float, float]:
            return (w - p[0], p[1])

        x1, y1, x2, y2 = self.box
        return SourceFace(
            f"{self.name}, mirrored", np.ascontiguousarray(self.image[:, ::-1]),
            (w - x2, y1, w - x1, y2),
            (flip(self.eyes[1]), flip(self.eyes[0])), (flip(self.mouth[1]), flip(self.mouth[0])),
        )

    def grey(self) -> SourceFace:
        g = cv2.cvtColor(self.image, cv2.COLOR_RGB2GRAY)
        return SourceFace(
            f"{self.name}, grey", np.repeat(g[:, :, None], 3, axis=2), self.box, self.eyes,
            self.mouth,
        )


def source_faces() -> tuple[SourceFace, SourceFace]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    collins = SourceFace(
        "Eileen Collins (NASA)", skimage.data.astronaut(), (182, 64, 265, 171),
        ((204, 100), (245, 102)), ((202, 139), (244, 140)),
    )
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as photo:
        hopper_image = np.asarray(photo.convert("RGB"))
    hopper = SourceFace(
        "Grace Hopper (US Navy)", hopper_image, (178, 110, 351, 330),
        ((220, 190), (308, 186)), ((232, 277), (304, 273)),
    )
    return collins, hopper


@dataclass(frozen=True)
class Student:
    face: SourceFace
    cx: float  # face centre in the frame
    cy: float
    face_width: float
    mood: float  # baseline of the smile (-1 frown … +1 smile)
    phase: float  # of the student's slow mood swing, radians
    sad_from_s: float | None = None  # turns sad from this time on
    away_s: tuple[float, float] | None = None  # leaves the room between these times


def students() -> list[Student]:
    collins, hopper = source_faces()
    return [
        Student(hopper, 120, 128, 56, 0.2, 0.0),
        Student(collins.grey(), 320, 122, 54, -0.6, 1.3, away_s=(17.0, 21.0)),
        Student(hopper.mirrored().grey(), 520, 128, 56, 0.5, 2.6),
        Student(collins.mirrored(), 150, 238, 72, -0.3, 3.9),
        Student(hopper.mirrored(), 330, 232, 74, 0.3, 5.2, sad_from_s=16.0),
        Student(collins, 510, 238, 72, -0.9, 0.7),
    ]


def mood_at(student: Student, t: float, seconds: float) -> tuple[float, float]:
    """(mouth, brows) at time ``t``: each in -1…1; +mouth smiles, -brows frowns."""
    mouth = student.mood + 0.5 * math.sin(2 * math.pi * t / 11.0 + student.phase)
    brows = 0.0
    laugh = math.exp(-(((t - 0.35 * seconds) / 1.6) ** 2))  # the class laughs together
    mouth = mouth * (1 - laugh) + 1.0 * laugh
    if student.sad_from_s is not None and t >= student.sad_from_s:
        ramp = min(1.0, (t - student.sad_from_s) / 3.0)
        mouth = mouth * (1 - ramp) - 1.0 * ramp
        brows = -1.0 * ramp
    return float(np.clip(mouth, -1, 1)), brows


@dataclass(frozen=True)
class Sprite:
    rgb: np.ndarray  # float32
    alpha: np.ndarray  # float32 0..1
    eyes: np.ndarray  # (2, 2) in sprite pixels
    mouth: np.ndarray  # (2, 2)
    face_width: float


def make_sprite(face: SourceFace, face_width: float) -> Sprite:
    x1, y1, x2, y2 = face.box
    cx, cy, w = (x1 + x2) / 2, (y1 + y2) / 2 + 0.1 * (y2 - y1), x2 - x1
    half = CONTEXT * w / 2
    h_img, w_img = face.image.shape[:2]
    left, top = int(max(0, cx - half)), int(max(0, cy - half))
    right, bottom = int(min(w_img, cx + half)), int(min(h_img, cy + half))
    scale = face_width / w
    size = (round((right - left) * scale), round((bottom - top) * scale))
    rgb = cv2.resize(face.image[top:bottom, left:right], size, interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    ex, ey = (cx - left) * scale, (cy - top) * scale
    d = np.hypot((xs - ex) / (0.46 * size[0]), (ys - ey) / (0.5 * size[1]))
    alpha = np.clip((1.0 - d) / 0.2, 0.0, 1.0).astype(np.float32)

    def place(points: tuple[tuple[float, float], ...]) -> np.ndarray:
        return (np.array(points, np.float32) - [left, top]) * scale

    return Sprite(rgb.astype(np.float32), alpha, place(face.eyes), place(face.mouth), face_width)


def expression(sprite: Sprite, mouth: float, brows: float) -> np.ndarray:
    """The sprite's pixels with mouth corners moved up (mouth > 0) or down, and brows lowered."""
    h, w = sprite.rgb.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x, map_y = xs.copy(), ys.copy()
    fw = sprite.face_width
    sigma2 = 2 * (0.12 * fw) ** 2
    moves = [((x, y), (side * 0.03 * fw * mouth, -0.1 * fw * mouth))
             for side, (x, y) in zip((-1, 1), sprite.mouth)]
    moves += [((x, y - 0.12 * fw), (0.0, -0.08 * fw * brows)) for x, y in sprite.eyes]
    for (px, py), (dx, dy) in moves:
        weight = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / sigma2)
        map_x -= dx * weight
        map_y -= dy * weight
    return cv2.remap(sprite.rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def paste(canvas: np.ndarray, pixels: np.ndarray, alpha: np.ndarray, cx: float, cy: float) -> None:
    h, w = alpha.shape
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(canvas.shape[1], x0 + w), min(canvas.shape[0], y0 + h)
    a = alpha[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None]
    roi = canvas[cy0:cy1, cx0:cx1]
    roi *= 1 - a
    roi += a * pixels[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]


def draw_banner(image: np.ndarray) -> None:
    cv2.rectangle(image, (0, 0), (WIDTH, 20), (32, 32, 32), -1)
    cv2.putText(image, BANNER, (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)


def compose(out: Path, seconds: float = 30.0, fps: int = 10, crf: int = 27) -> Path:
    """Write the demo lesson to ``out`` (H.264 mp4) and return ``out``."""
    cast = students()
    sprites = [make_sprite(s.face, s.face_width) for s in cast]
    background = cv2.cvtColor(render_background((WIDTH, HEIGHT), seed=7), cv2.COLOR_BGR2RGB)
    out.parent.mkdir(parents=True, exist_ok=True)
    container, stream = open_h264(out, WIDTH, HEIGHT, fps, crf=crf)
    import av

    with container:
        for index in range(round(seconds * fps)):
            t = index / fps
            canvas = background.astype(np.float32)
            for student, sprite in zip(cast, sprites):
                if student.away_s and student.away_s[0] <= t < student.away_s[1]:
                    continue
                mouth, brows = mood_at(student, t, seconds)
                sway = 2.0 * math.sin(2 * math.pi * t / 7.0 + student.phase)
                paste(canvas, expression(sprite, mouth, brows), sprite.alpha,
                      student.cx + sway, student.cy + 0.5 * sway)
            image = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
            draw_banner(image)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args(argv)
    path = compose(args.out, args.seconds, args.fps)
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
