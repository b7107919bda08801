"""Tests for emotion_core/analysis/readable_share.py: what a page says about the faces read."""

from __future__ import annotations

import json

import pandas as pd

from emotion_core.analysis.readable_share import CLOSER_CAMERA, FACING_CAMERA, share_of
from emotion_core.faces.readability import ReadabilitySettings

DEFAULTS = json.dumps(ReadabilitySettings().as_json())


def per_lesson(*rows: tuple[int, int, int, str | None]) -> pd.DataFrame:
    """``queries.readable_faces`` rows: (faces, readable, small, readability JSON)."""
    return pd.DataFrame(rows, columns=["faces", "readable_faces", "small_faces", "readability"])


def test_most_faces_turned_away_asks_for_a_camera_facing_the_class() -> None:
    share = share_of(per_lesson((91, 41, 10, DEFAULTS)))
    assert share.describe() == (
        "41 of 91 faces readable: faces under 16 px, turned more than 40°, looking down more "
        "than 30° or blurred are not read")
    assert share.advice() == f"Fewer than half of the faces could be read: {FACING_CAMERA}."


def test_most_faces_too_small_asks_for_a_closer_camera() -> None:
    share = share_of(per_lesson((91, 1, 84, DEFAULTS)))
    assert share.advice() == f"Fewer than half of the faces could be read: {CLOSER_CAMERA}."


def test_half_or_more_read_needs_no_advice_and_no_face_says_nothing_wrong() -> None:
    assert share_of(per_lesson((10, 5, 5, DEFAULTS))).advice() is None
    nothing = share_of(per_lesson())
    assert (nothing.faces, nothing.share, nothing.advice()) == (0, 1.0, None)


def test_lessons_with_other_thresholds_say_so() -> None:
    other = json.dumps(ReadabilitySettings(min_face_px=16).as_json())
    share = share_of(per_lesson((10, 8, 1, DEFAULTS), (10, 9, 0, other)))
    assert not share.same_settings
    assert share.describe().startswith("17 of 20 faces readable: faces under 16 px")
    assert share.describe().endswith("(in the latest lessons; each lesson keeps the thresholds "
                                     "it was analysed with)")
    old_and_new = share_of(per_lesson((10, 10, 0, None), (10, 9, 0, DEFAULTS)))
    assert not old_and_new.same_settings
