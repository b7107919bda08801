"""The FER2013 label set every model reads into, and its positive and negative groups."""

from __future__ import annotations

# The order every model's output columns follow, and the order of the probability columns stored.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NEGATIVE_EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "sad")
POSITIVE_EMOTIONS: tuple[str, ...] = ("happy",)
