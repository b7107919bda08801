"""``analyze --detector``: an unknown name is one error line before anything is loaded or
written; each detector offered analyses a real lesson and is named in the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotion_core.cli.main import main
from emotion_core.faces.choice import DETECTORS

# ``main`` sets the package logger's level: each test gives the session back its own
pytestmark = pytest.mark.usefixtures("keep_log_level")


def test_an_unknown_detector_is_one_error_line_and_nothing_is_written(
    tmp_path: Path, deepface_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "lessons.duckdb"
    video = tmp_path / "lesson.mp4"
    video.write_bytes(b"not looked at: the detector is checked first")
    assert main(["analyze", str(video), "--db", str(db), "--detector", "retinaface"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: unknown face detector 'retinaface'; choose one of mtcnn, yunet\n"
    )
    assert not db.exists()


@pytest.mark.real_data
@pytest.mark.parametrize("name", list(DETECTORS))
def test_each_detector_analyses_a_lesson_and_is_named_in_the_result(
    name: str, tmp_path: Path, intel_classroom: Path, deepface_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "lessons.duckdb"
    code = main(["analyze", str(intel_classroom), "--db", str(db), "--detector", name,
                 "--emotion-model", "fer", "--no-identify", "--no-progress", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["detector"].startswith(name + "(")
    # four adults in every sampled frame
    assert result["faces"] >= 4 * result["frames_sampled"] - 1
