"""How many of the faces behind a page's figures could be read, and what would help, in words."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.store import queries
from emotion_core.store.store import Store

# Under this share of readable faces a page says what would let more be read.
FEW_READABLE = 0.5
CLOSER_CAMERA = "a camera closer to the class or a higher resolution would let more faces be read"
FACING_CAMERA = ("a camera in front of the class, at about eye height, would see more faces "
                 "straight on")


@dataclass(frozen=True)
class ReadableShare:
    """The faces behind some figures: how many were seen, how many read, and with which
    thresholds (None where every lesson was analysed before faces were told apart)."""

    faces: int
    readable: int
    small: int  # of the faces not read, those under the smallest readable height
    settings: ReadabilitySettings | None
    same_settings: bool  # every lesson analysed with ``settings``

    @property
    def share(self) -> float:
        return self.readable / self.faces if self.faces else 1.0

    def describe(self) -> str:
        """"41 of 91 faces readable: faces under 20 px, … are not read"."""
        if not self.faces:
            return "no face was seen"
        counted = f"{self.readable} of {self.faces} faces readable"
        if self.settings is None:
            return (f"{counted}: these lessons were analysed before faces were checked for "
                    "readability, so every face was read")
        unread = self.settings.describe_unread()
        if not self.same_settings:
            unread += " (in the latest lessons; each lesson keeps the thresholds it was analysed with)"
        return f"{counted}: {unread}"

    def advice(self) -> str | None:
        """What would let more faces be read, where fewer than FEW_READABLE were; else None."""
        if not self.faces or self.share >= FEW_READABLE:
            return None
        unread = self.faces - self.readable
        helps = CLOSER_CAMERA if self.small * 2 >= unread else FACING_CAMERA
        return f"Fewer than half of the faces could be read: {helps}."


def readable_share(
    store: Store, video_ids: Sequence[int] | None = None, student_id: int | None = None
) -> ReadableShare:
    """The readable faces of the lessons ``video_ids`` (else all analysed), only
    ``student_id``'s when one is given (``queries.readable_faces``)."""
    return share_of(queries.readable_faces(store, video_ids, student_id))


def share_of(per_lesson: pd.DataFrame) -> ReadableShare:
    """The ``ReadableShare`` of the rows of ``queries.readable_faces``."""
    stored = [json.loads(r) for r in per_lesson["readability"].dropna()]
    kinds = {json.dumps(s, sort_keys=True) for s in stored}
    return ReadableShare(
        faces=int(per_lesson["faces"].sum()),
        readable=int(per_lesson["readable_faces"].sum()),
        small=int(per_lesson["small_faces"].sum()),
        settings=ReadabilitySettings.from_json(stored[-1]) if stored else None,
        same_settings=len(kinds) <= 1 and len(stored) in (0, len(per_lesson)),
    )
