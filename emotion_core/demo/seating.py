"""Where each student of a composed class sits, and so how large, turned and sharp their face is
in each frame: synthetic rows made readable, or not, the way the pipeline judges real faces.

The synthetic term's rows are all 30-px frontal faces. A real class is not: the back row's
faces are small (some under the smallest height read), students at the sides turn towards the
board, and a face the detector was unsure of is mostly one looking down at a desk, turned away
or blurred. ``seated`` gives each row those measures and judges it with
``faces.readability.judged``, as the pipeline does; a face that cannot be read keeps its place
and its student but loses its emotion reading, as a real one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emotion_core.core.labels import EMOTIONS
from emotion_core.faces.readability import ReadabilitySettings, judged

FRAME_W, FRAME_H = 640, 360
SEATS_PER_ROW = 4
# face height (px) and the middle of the face (y) in each row of desks, the front row first
ROW_FACE_PX = (34.0, 24.0, 18.0)
ROW_Y = (290.0, 200.0, 135.0)
# the detector's score below which the synthetic term made a poor detection (looking down,
# or read at random): such a face is shown looking down, turned away or blurred
POOR_SCORE = 0.9


@dataclass(frozen=True)
class Seat:
    row: int  # 0: the front row
    x: float  # the middle of the face, px
    y: float
    face_px: float  # the face's usual height
    yaw_deg: float  # turned towards the board from the side seats


def seat_of(student: int, students: int) -> Seat:
    """Student ``student`` (from 1) sits in rows of ``SEATS_PER_ROW``, the front row first;
    the last student sits in the back corner, a little further away than the rest."""
    index = student - 1
    row = min(index // SEATS_PER_ROW, len(ROW_FACE_PX) - 1)
    column = index % SEATS_PER_ROW
    face_px = ROW_FACE_PX[row] - (1.5 if student == students else 0.0)
    yaw = (column - (SEATS_PER_ROW - 1) / 2) * -8.0
    x = FRAME_W * (column + 0.5) / SEATS_PER_ROW
    return Seat(row, x, ROW_Y[row], face_px, yaw)


def seated(rows: pd.DataFrame, students: int, rng: np.random.Generator,
           settings: ReadabilitySettings | None = None) -> pd.DataFrame:
    """``rows`` (one lesson's observations, ``track_id`` the student) with each face's box,
    size, pose and sharpness from its seat, and ``readable`` as ``settings`` (the defaults)
    judge it; the faces not read have no emotion columns or ``top_emotion``."""
    settings = settings or ReadabilitySettings()
    n = len(rows)
    seats = [seat_of(student, students) for student in range(1, students + 1)]
    seat = rows["track_id"].to_numpy() - 1  # each row's seat
    height = np.array([s.face_px for s in seats])[seat] * rng.normal(1.0, 0.06, n)
    yaw = np.array([s.yaw_deg for s in seats])[seat] + rng.normal(0.0, 9.0, n)
    pitch = rng.normal(5.0, 6.0, n)
    sharp = np.exp(rng.normal(np.log(0.03 + 0.0012 * height), 0.3, n))
    poor = rows["detection_score"].to_numpy() < POOR_SCORE
    reason = rng.random(n)
    down = poor & (reason < 0.65)
    turned = poor & (reason >= 0.65) & (reason < 0.9)
    blurred = poor & (reason >= 0.9)
    pitch[down] = rng.uniform(32.0, 60.0, int(down.sum()))
    yaw[turned] = rng.choice([-1.0, 1.0], int(turned.sum())) * rng.uniform(
        42.0, 75.0, int(turned.sum()))
    sharp[blurred] = rng.uniform(0.004, 0.014, int(blurred.sum()))
    readable, _ = judged(height, rows["detection_score"].to_numpy(), yaw, pitch, sharp, settings)
    x = np.array([s.x for s in seats])[seat] + rng.normal(0.0, 2.0, n)
    y = np.array([s.y for s in seats])[seat] + rng.normal(0.0, 2.0, n)
    out = rows.assign(
        x1=(x - 0.4 * height).astype(np.float32), y1=(y - 0.5 * height).astype(np.float32),
        x2=(x + 0.4 * height).astype(np.float32), y2=(y + 0.5 * height).astype(np.float32),
        face_height_px=height.astype(np.float32), yaw_deg=yaw.astype(np.float32),
        pitch_deg=pitch.astype(np.float32), sharpness=sharp.astype(np.float32),
        readable=readable,
    )
    for emotion in EMOTIONS:
        out[emotion] = out[emotion].where(readable)
    out["top_emotion"] = out["top_emotion"].where(readable, None)
    return out
