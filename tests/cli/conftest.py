"""What the command-line tests that call ``main`` in-process share."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def keep_log_level() -> Iterator[None]:
    """``main`` sets the package logger's level; the rest of the session keeps its own."""
    logger = logging.getLogger("emotion_core")
    level = logger.level
    yield
    logger.setLevel(level)
