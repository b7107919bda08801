"""``analyze --engine``: the Ray options alone, or a local cluster of no CPU, are one error line
before anything is loaded, started or written (the Ray engine itself: tests/analysis/
test_engine_ray.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.media import gradient_frames, write_video

from emotion_core.cli.main import main

# ``main`` sets the package logger's level: each test gives the session back its own
pytestmark = pytest.mark.usefixtures("keep_log_level")


@pytest.mark.parametrize(("options", "error"), [
    (["--ship-videos"], "error: --ship-videos: only with --engine ray\n"),
    (["--ray-address", "auto", "--ray-cpus", "2"],
     "error: --ray-address, --ray-cpus: only with --engine ray\n"),
    (["--engine", "ray", "--ray-cpus", "0"],
     "error: --ray-cpus is a number of CPUs from 1, for a local cluster (no --ray-address)\n"),
    (["--engine", "ray", "--ray-address", "auto", "--ray-cpus", "2"],
     "error: --ray-cpus is a number of CPUs from 1, for a local cluster (no --ray-address)\n"),
])
def test_engine_options_that_do_not_go_together_are_one_error_line(
    options: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "lessons.duckdb"
    video = tmp_path / "lesson.mp4"
    video.write_bytes(b"not looked at: the options are checked first")
    assert main(["analyze", str(video), "--db", str(db), *options]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", error)
    assert not db.exists()


def test_an_engine_that_does_not_exist_is_refused_by_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["analyze", str(tmp_path / "lesson.mp4"), "--engine", "spark"])
    assert exit_code.value.code == 2
    assert "invalid choice: 'spark'" in capsys.readouterr().err


def test_a_cluster_that_does_not_answer_is_one_error_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ray", reason="the Ray engine needs the ray package (requirements.txt)")
    db = tmp_path / "lessons.duckdb"
    video = write_video(tmp_path / "lesson.mp4", gradient_frames(10), 10)
    # port 9 (discard) is closed here: joining fails at once instead of Ray's minutes of waiting
    assert main(["analyze", str(video), "--db", str(db), "--engine", "ray",
                 "--ray-address", "127.0.0.1:9"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == (
        "error: cannot join the Ray cluster at 127.0.0.1:9: nothing answers at 127.0.0.1:9 "
        "(Connection refused)"
    )
    assert not db.exists()
