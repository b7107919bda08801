"""The Analyse page's engine setting: choosing a Ray cluster (with its address) sends the
analyses queued from then on there (analysis/jobs.py), and choosing this computer brings them
back; nothing is started or analysed by choosing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.pages import ANALYSE, button, run

from emotion_core.analysis import jobs
from emotion_core.analysis.settings import EngineSettings
from emotion_core.store.store import DB_ENV_VAR


@pytest.fixture
def engine_restored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "classroom.duckdb"))
    before = jobs.current_engine()
    yield
    jobs.use_engine(before)


@pytest.mark.usefixtures("engine_restored")
def test_choosing_a_ray_cluster_then_this_computer() -> None:
    jobs.use_engine(EngineSettings())
    app = run(ANALYSE)
    app.radio(key="engine").set_value("A Ray cluster")
    app.text_input(key="ray_address").set_value(" head.school.lan:6379 ")
    app.checkbox(key="ship_videos").check()
    button(app, "Use this engine").click().run()
    assert not app.exception
    assert jobs.current_engine() == EngineSettings("ray", "head.school.lan:6379", True)
    assert "Analyses queued from now on run there." in [s.value for s in app.success]

    app = run(ANALYSE)  # drawn again: the page shows the engine in use
    assert app.radio(key="engine").value == "A Ray cluster"
    assert app.text_input(key="ray_address").value == "head.school.lan:6379"
    app.radio(key="engine").set_value("This computer")
    app.text_input(key="ray_address").set_value("")
    app.checkbox(key="ship_videos").uncheck()
    button(app, "Use this engine").click().run()
    assert jobs.current_engine() == EngineSettings()
