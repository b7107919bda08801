"""The one interface every face detector offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from emotion_core.core.types import Faces, Frame


class FaceDetector(Protocol):
    """Finds every face in a batch of frames."""

    name: str
    description: str  # name and settings, stored with each analysis

    def detect(self, frames: Sequence[Frame]) -> list[Faces]: ...
