"""Where the project's files are: its root, the shipped models and sample lesson, uploads."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = PROJECT_ROOT / "models"
# The composed demo lesson the app offers to a first-time user (see sample_videos/README.md).
SAMPLE_DIR = PROJECT_ROOT / "sample_videos"
SAMPLE_VIDEO = SAMPLE_DIR / "demo_lesson.mp4"
DEFAULT_UPLOAD_DIR = Path("data") / "uploads"


def upload_dir(db_path: Path) -> Path:
    """Where uploads analysed into the database ``db_path`` are kept: beside it."""
    return db_path.parent / "uploads"
