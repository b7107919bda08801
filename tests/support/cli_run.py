"""Running ``python -m emotion_core`` in a child process as a user would, and looking at the
database it leaves (tests/cli/test_cli.py, tests/app/test_bad_inputs.py, tests/analysis/test_crash_safety.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from support.env import child_env


def cli_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "emotion_core", *map(str, args)]


def cli_env(cwd: Path, **env: str) -> dict[str, str]:
    """The child's environment: DeepFace's weight folder is an empty one in ``cwd`` unless
    ``env`` names another, so no run reads or writes the project's own cache."""
    env.setdefault("DEEPFACE_HOME", str(cwd / "deepface_home"))
    return child_env(**env)


def run_cli(*args: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m emotion_core ARGS`` in ``cwd`` (see ``cli_env``)."""
    return subprocess.run(
        cli_command(*args), cwd=cwd, env=cli_env(cwd, **env), capture_output=True, text=True,
        timeout=300, check=False,
    )


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def assert_same_values(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal cell by cell. A column that was all null comes back with another dtype (and null)
    once another row holds a string in it, so dtypes and kinds of null are not compared."""

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True).astype(object)
        return frame.where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(left), plain(right))


@dataclass(frozen=True)
class Snapshot:
    videos: pd.DataFrame
    observations: pd.DataFrame
    staged: int

    @classmethod
    def of(cls, db: Path) -> Snapshot:
        with duckdb.connect(str(db), read_only=True) as con:
            return cls(
                con.sql("SELECT * FROM videos ORDER BY video_id").df(),
                con.sql("SELECT * FROM observations ORDER BY video_id, frame_index, track_id").df(),
                con.execute("SELECT count(*) FROM observations_staging").fetchone()[0],
            )

    def assert_unchanged(self, db: Path) -> None:
        now = Snapshot.of(db)
        pd.testing.assert_frame_equal(now.videos, self.videos)
        pd.testing.assert_frame_equal(now.observations, self.observations)
        assert now.staged == 0

    def assert_kept(self, now: Snapshot) -> None:
        """The videos and observations of this snapshot are in ``now`` as they were."""
        old = self.videos["video_id"]
        assert_same_values(now.videos[now.videos["video_id"].isin(old)], self.videos)
        kept = now.observations[now.observations["video_id"].isin(old)]
        assert_same_values(kept, self.observations)
