"""The Students page's possible duplicates through Streamlit's AppTest, over a real DuckDB in
which one child became two students on two days (tests/support/split_roster.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.pages import STUDENTS, TIMEOUT_S, button, texts
from support.split_roster import ANA_SPLIT, MODEL, split_roster

from emotion_core.analysis.jobs import queue_for
from emotion_core.store.store import DB_ENV_VAR, Store


@pytest.fixture
def split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "classroom.duckdb"
    with Store(path) as store:
        ids = split_roster(store)
        store.set_identification(ids["Fay"], False)  # close to Ana, but never offered
    monkeypatch.setenv(DB_ENV_VAR, str(path))
    return path, ids


def checked(app: AppTest) -> AppTest:
    assert not app.exception, [e.message for e in app.exception]
    return app


def duplicates(app: AppTest) -> list:  # type: ignore[type-arg]
    return [e for e in app.expander if e.label.startswith("Possible duplicates")]


def test_the_pairs_are_shown_side_by_side_and_merged_on_confirmation(
    split: tuple[Path, dict[str, int]],
) -> None:
    db, ids = split
    ana, ana2, ben, ben2 = (f"Student {ids[n]}" for n in ("Ana", "Ana2", "Ben", "Ben2"))
    app = checked(AppTest.from_file(STUDENTS, default_timeout=TIMEOUT_S).run())
    [expander] = duplicates(app)
    assert expander.label == "Possible duplicates (2)"
    assert [c.label for c in expander.checkbox] == [
        f"Yes, {ana} and {ana2} are the same child", f"Yes, {ben} and {ben2} are the same child"]
    # Ana's thumbnail where it was kept, and for everyone when and where they were seen
    [image] = expander.image
    assert image.captions == [f"{ana}, from aaa.mp4"]
    captions = texts(expander.caption)
    assert "04 Mar 2024: aaa.mp4, 0:00–0:00 (2 faces)" in captions
    assert "05 Mar 2024: bbb.mp4, 0:00–0:00 (2 faces)" in captions
    assert f"Face distance {ANA_SPLIT:.3f} ({MODEL}" in captions
    # the twins Dee and Eve, seen in the same frames, are not offered
    shown = texts(expander.markdown)
    assert f"Student {ids['Dee']}" not in shown and f"Student {ids['Eve']}" not in shown

    assert button(app, f"Merge, keeping {ana}").disabled, "only once a person confirms it"
    store = queue_for(db).store
    assert store.student(ids["Ana2"]) is not None, "nothing changes before the confirmation"
    checked(expander.checkbox[0].check().run())
    checked(button(app, f"Merge, keeping {ana}").click().run())
    assert store.student(ids["Ana2"]) is None
    assert store.student(ids["Ana"])["lessons"] == 2

    [expander] = duplicates(app)
    assert expander.label == "Possible duplicates (1)"
    assert [c.label for c in expander.checkbox] == [f"Yes, {ben} and {ben2} are the same child"]
    # keeping the second one's name merges the first into it
    checked(expander.checkbox[0].check().run())
    checked(button(app, f"Merge, keeping {ben2}").click().run())
    assert store.student(ids["Ben"]) is None and store.student(ids["Ben2"])["lessons"] == 2
    assert not duplicates(app), "no pair is left"
