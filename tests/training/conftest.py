"""The FER2013 folder the training tests read (skipped with a reason where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.env import SHARED_DATA

FER2013 = SHARED_DATA / "fer2013"


@pytest.fixture(scope="module")
def fer2013_dir() -> Path:
    if not (FER2013 / "fer2013_train.npz").is_file():
        pytest.skip(f"FER2013 not found at {FER2013} (the shared test data is not on this machine)")
    return FER2013
