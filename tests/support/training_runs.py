"""Running the training command for real, on a data folder that holds the training file alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.env import PROJECT_ROOT, child_env


def run_training(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emotion_core", "train-emotion", *map(str, args)],
        cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=900,
        check=False,
    )


def training_file_only(fer2013_dir: Path, folder: Path) -> Path:
    """A data folder holding the training file alone: without public_test/ a run measures only
    its validation split, which keeps tiny runs quick."""
    data = folder / "fer2013"
    data.mkdir()
    (data / "fer2013_train.npz").symlink_to(fer2013_dir / "fer2013_train.npz")
    return data
