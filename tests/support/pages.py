"""Driving the app's pages through Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


APP = str(ROOT / "app.py")


ANALYSE, OVERVIEW, STUDENTS, ALERTS = (
    str(ROOT / "pages" / name)
    for name in ("0_Analyse.py", "1_Class_overview.py", "2_Students.py", "3_Alerts.py")
)
PAGES = (ANALYSE, OVERVIEW, STUDENTS, ALERTS)


TIMEOUT_S = 120


def run(page: str) -> AppTest:
    app = AppTest.from_file(page, default_timeout=TIMEOUT_S).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


def button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label)
