"""Where the tests find the project and the shared real data, and child processes run as a user's would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Real videos and photos live beside the repository, never inside it (see PROVENANCE.md there).
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
VIDEOS = SHARED_DATA / "videos"
JAFFE = SHARED_DATA / "faces" / "jaffe"

INTEL_CLASSROOM = "intel_classroom_preview.mp4"  # 3 s, 15 fps, 480x270, four adults
CCTV_CLASSROOM = "classroom_children_cctv.mp4"  # 11 s, 20 fps, 640x352, small faces, audio

# A closed local port: any HTTP(S) request made through it is refused at once, so DeepFace's
# download attempt fails the same, and as fast, on a machine with internet as on one without.
NO_NETWORK_PROXY = "http://127.0.0.1:9"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python process of the tests.

    The project is importable, there is no network, and variables that importing DeepFace in
    this process sets (it switches TensorFlow to legacy Keras) are not passed on.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_USE_LEGACY_KERAS", "NO_PROXY", "no_proxy")}
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        env[var] = NO_NETWORK_PROXY
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra)
    return env


def without_network(patch: pytest.MonkeyPatch) -> None:
    """No route out of this process, whatever this machine's network: ``auto`` models then find
    no weights to fetch, as offline, and fall back at once to the offline defaults."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        patch.setenv(var, NO_NETWORK_PROXY)
    for var in ("NO_PROXY", "no_proxy"):
        patch.delenv(var, raising=False)


HOLD_OPEN = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
    " sys.stdin.read()"
)


@contextmanager
def database_held_open(path: Path) -> Iterator[None]:
    """Another process holds ``path`` open for writing, as a running analysis would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.communicate(timeout=60)  # closing its stdin lets it end
