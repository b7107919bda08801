"""``python -m emotion_core students suggest-merges [--json] [--ask]`` over a real DuckDB in which
one child became two students on two days (tests/support/split_roster.py)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from support.cli_run import error_lines, run_cli
from support.split_roster import ANA_SPLIT, BEN_SPLIT, MODEL, split_roster

from emotion_core.cli.main import main
from emotion_core.identity.thresholds import thresholds_for
from emotion_core.store.store import Store


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    db = tmp_path_factory.mktemp("suggest_merges") / "lessons.duckdb"
    with Store(db) as store:
        ids = split_roster(store)
        # Fay (close to Ana) asked not to be identified: never offered
        store.set_identification(ids["Fay"], False)
    return db, ids


@pytest.fixture
def db(split: tuple[Path, dict[str, int]], tmp_path: Path) -> Path:
    return Path(shutil.copy(split[0], tmp_path / "lessons.duckdb"))


def student_ids(db: Path) -> set[int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT student_id FROM students").fetchall()}


@pytest.mark.subprocess
def test_the_pairs_as_a_user_sees_them(split: tuple[Path, dict[str, int]], db: Path,
                                       tmp_path: Path) -> None:
    ids = split[1]
    done = run_cli("students", "suggest-merges", "--json", "--db", db, cwd=tmp_path)
    assert done.returncode == 0 and not error_lines(done), done.stderr[-3000:]
    pairs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(p["first_id"], p["second_id"]) for p in pairs] == [
        (ids["Ana"], ids["Ana2"]), (ids["Ben"], ids["Ben2"])]
    ana = pairs[0]
    assert ana["model"] == MODEL and ana["distance"] == pytest.approx(ANA_SPLIT, abs=1e-5)
    assert ana["suggest_under"] == thresholds_for(MODEL).suggest_merge
    assert ana["first_name"] == f"Student {ids['Ana']}"

    done = run_cli("students", "suggest-merges", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second, hint = done.stdout.splitlines()
    offered = f"({MODEL}, offered under {thresholds_for(MODEL).suggest_merge:g})"
    assert first.startswith(f"{ANA_SPLIT:.3f} {offered}")
    assert second.startswith(f"{BEN_SPLIT:.3f} {offered}")
    assert "aaa.mp4 on 2024-03-04" in first and "bbb.mp4 on 2024-03-05" in first
    assert "students merge KEEP_ID MERGED_ID" in hint
    assert student_ids(db) == set(ids.values()), "listing changes nothing"


@pytest.mark.usefixtures("keep_log_level")
def test_ask_merges_the_pairs_confirmed(split: tuple[Path, dict[str, int]], db: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ids = split[1]
    monkeypatch.setattr("sys.stdin", io.StringIO("y\nn\n"))
    assert main(["students", "suggest-merges", "--ask", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"student {ids['Ana2']} merged into {ids['Ana']}" in out
    assert "1 pair(s) merged" in out
    assert student_ids(db) == set(ids.values()) - {ids["Ana2"]}
    with Store(db, read_only=True) as store:
        assert store.student(ids["Ana"])["lessons"] == 2
        assert store.student(ids["Ben2"])["lessons"] == 1, "Ben and Ben2 were refused"


@pytest.mark.usefixtures("keep_log_level")
def test_an_empty_roster_and_bad_options(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    assert main(["students", "suggest-merges", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("no possible duplicates")
    assert main(["students", "suggest-merges", "--json", "--db", str(db)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["students", "suggest-merges", "--json", "--ask", "--db", str(db)]) == 2
    assert capsys.readouterr().err.startswith("error: --ask and --json do not go together")
    assert main(["students", "suggest-merges", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert capsys.readouterr().err.startswith("error: no database at")
