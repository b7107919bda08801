"""``Store.open_waiting``: opening a database another process holds (DuckDB: one writer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.env import database_held_open

from emotion_core.store.store import Store, StoreBusy, StoreError


def test_a_free_database_opens_without_waiting(tmp_path: Path) -> None:
    said: list[Path] = []
    with Store.open_waiting(tmp_path / "free.duckdb", 60, said.append) as store:
        assert store.videos().empty
    assert said == []


@pytest.mark.parametrize("wait_s", [0, 0.3])
def test_a_held_database_is_busy_after_the_wait(tmp_path: Path, wait_s: float) -> None:
    db = tmp_path / "held.duckdb"
    with Store(db):
        pass
    said: list[Path] = []
    with database_held_open(db), pytest.raises(StoreBusy) as error:
        Store.open_waiting(db, wait_s, said.append)
    assert isinstance(error.value, StoreError)
    assert str(error.value) == (
        f"the database {db} is in use by another process; wait for it to finish"
    )
    assert said == ([db] if wait_s else []), "said once, and only when it waits"
    with Store.open_waiting(db, 0) as store:  # free again
        assert store.videos().empty
