"""How ``main`` ends a command that fails: any library error is one ``error:`` line and exit 2,
Ctrl-C is ``interrupted`` and 130; in-process, with the command's function replaced."""

from __future__ import annotations

import argparse

import pytest

from emotion_core.cli import lessons
from emotion_core.cli.main import main
from emotion_core.core.errors import ClassroomMoodError


class UnheardOfError(ClassroomMoodError, RuntimeError):
    """An error class the command line does not name anywhere."""


# ``main`` sets the package logger's level: each test gives the session back its own
pytestmark = pytest.mark.usefixtures("keep_log_level")


def test_any_library_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise UnheardOfError("the weights are not where they should be")

    monkeypatch.setattr(lessons, "export_observations", fail)
    assert main(["export", "--out", "observations.csv"]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: the weights are not where they should be\n")


def test_other_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise ValueError("a bug, not the user's doing")

    monkeypatch.setattr(lessons, "export_observations", fail)
    with pytest.raises(ValueError, match="a bug"):
        main(["export", "--out", "observations.csv"])


def test_an_interrupt_is_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(lessons, "export_observations", interrupted)
    assert main(["export", "--out", "observations.csv"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_the_command_as_given_reaches_its_function(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(lessons, "export_observations", lambda args: seen.append(args) or 0)
    assert main(["export", "--format", "parquet", "--out", "o.parquet"]) == 0
    [args] = seen
    assert (args.command, args.format, args.argv) == (
        "export", "parquet", ["export", "--format", "parquet", "--out", "o.parquet"]
    )
