"""``demo``: the demo term built from the command line, beside the user's database and never over
it; in-process."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from support.store_rows import lesson

from emotion_core.cli.main import main
from emotion_core.store.store import DB_ENV_VAR, Store

pytestmark = pytest.mark.usefixtures("keep_log_level")


def test_the_demo_is_built_beside_the_users_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "data" / "classroom.duckdb"
    monkeypatch.setenv(DB_ENV_VAR, str(own))
    assert main(["demo", "--json"]) == 0
    captured = capsys.readouterr()
    built = json.loads(captured.out)
    demo = tmp_path / "data" / "demo" / "classroom_demo.duckdb"
    assert built["db"] == str(demo) and demo.is_file()
    assert built["lessons"] == 12 and built["students"] == 13  # (one of them twice)
    assert 0 < built["readable_faces"] < built["faces"]
    assert set(built["alerts"]) == {"sustained_negative", "below_own_baseline",
                                    "apart_from_class", "sharp_drop"}
    assert "100% The demo term is ready" in captured.err, "progress is shown"
    assert not own.exists(), "the user's database is not made"
    with Store(demo, read_only=True) as store:
        assert len(store.alerts()) == sum(built["alerts"].values())


def test_the_users_own_database_is_refused_and_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "classroom.duckdb"
    with Store(own) as store:
        lesson(store, "maths.mp4", date(2026, 1, 5), {1: (None, [1])})
    before = hashlib.sha256(own.read_bytes()).hexdigest()
    monkeypatch.setenv(DB_ENV_VAR, str(own))
    assert main(["demo", "--db", str(own)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "is your own database" in line
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "another.duckdb"))
    assert main(["demo", "--db", str(own)]) == 2
    assert "holds lessons that are not the demo's" in capsys.readouterr().err
    assert hashlib.sha256(own.read_bytes()).hexdigest() == before
