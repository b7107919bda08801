"""End to end in a real headless browser: upload lessons, wait for them, then open the demo term
and see the class over weeks, a student across lessons and an alert with its evidence.

Drives Debian's chromium (``make test`` installs it where it may) through Playwright against
``streamlit run app.py`` on a free localhost port. Screenshots of each page go to
``$SCREENSHOT_DIR`` when it is set (``docs/screenshots`` for the README), else to a temporary
folder: the Analyse page's of the lessons uploaded, the other pages' of the demo term. Only the
composed sample and the CC-BY Intel clip are uploaded, never the CCTV clip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.env import INTEL_CLASSROOM, PROJECT_ROOT, VIDEOS, child_env

from emotion_core.core.paths import SAMPLE_VIDEO
from emotion_core.demo.term import APART, DECLINING
from emotion_core.store.store import DB_ENV_VAR
from ui.demo import BANNER, OPEN_LABEL

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (`make test` installs it with apt-get where it runs as "
    "root or with sudo; here it could not)",
)
ANALYSIS_TIMEOUT_MS = 600_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The app served on a free localhost port, over a new database."""
    port = free_port()
    env = child_env(**{DB_ENV_VAR: str(tmp_path / "classroom.duckdb"),
                       "DEEPFACE_HOME": str(tmp_path / "deepface")})
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    f"{url}/_stcore/health", timeout=2
                ) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def settled(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished running the page's script."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_timeout(1000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
    page.wait_for_timeout(1500)


def choose(page, label: str, typed: str,  # type: ignore[no-untyped-def]
           option: re.Pattern[str]) -> None:
    """In the select box labelled ``label``, type ``typed`` (a long list shows only some of its
    options) and pick the first option that ``option`` matches."""
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$")))
    box.click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=option).first.click()
    settled(page)


def tall_screenshot(page, path: Path, height: int = 2900) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of a page taller than the window (Streamlit scrolls inside the page, so
    a full-page screenshot stops at the window's height)."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    settled(page)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)


def test_upload_analyse_and_see_the_class_overview(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    # the real Intel clip where the shared test data is here, and the composed sample, which
    # is long enough (30 s: 60 frames in several batches) for its progress to be seen
    assert SAMPLE_VIDEO.is_file(), SAMPLE_VIDEO
    videos = [v for v in (VIDEOS / INTEL_CLASSROOM,) if v.is_file()] + [SAMPLE_VIDEO]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--no-proxy-server"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(app_url)
            page.get_by_text("No lesson has been analysed yet").wait_for(timeout=60_000)
            settled(page)
            page.screenshot(path=shots / "0_first_visit.png", full_page=True)

            page.locator('input[type="file"]').set_input_files([str(v) for v in videos])
            page.locator('[data-testid="stFileChip"]').nth(len(videos) - 1).wait_for(
                timeout=60_000
            )
            page.get_by_label("Class or group").fill("7B")
            page.get_by_role("button", name="Analyse", exact=True).click()

            # progress, then one success message per video, then the annotated frames
            page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
            done = page.locator('[data-testid="stAlertContentSuccess"]')
            # a bar counting frames, faces and the time left, caught while it is there
            counting = page.get_by_text(re.compile(r"\d+ of \d+ frames, \d+ faces"))
            deadline = time.monotonic() + ANALYSIS_TIMEOUT_MS / 1000
            while counting.count() == 0:
                assert done.count() < len(videos), "every lesson was done and no progress shown"
                assert time.monotonic() < deadline, "no progress was shown"
                page.wait_for_timeout(200)
            page.screenshot(path=shots / "1_analysing.png", full_page=True)
            # a reload is a new session: the analyses go on and are still shown
            page.reload()
            page.get_by_role("heading", name="Analyses").wait_for(timeout=60_000)
            while done.count() < len(videos):
                errors = page.locator('[data-testid="stAlertContentError"]')
                assert errors.count() == 0, errors.first.inner_text()
                assert time.monotonic() < deadline, "the analyses did not finish in time"
                page.wait_for_timeout(1000)
            page.locator('[data-testid="stImage"] img').nth(2).wait_for(timeout=120_000)
            settled(page)
            page.screenshot(path=shots / "2_analyse.png", full_page=True)

            # the demo term, offered below the user's lessons: six weeks of a composed class
            page.get_by_text("A demo term: every page at work").click()
            page.get_by_role("button", name=OPEN_LABEL).click()
            # (in the DOM is enough here: right after the rerun that opens the demo the banner
            # could stay "not visible" to the browser while the page below it re-laid out)
            page.get_by_text(BANNER).first.wait_for(state="attached", timeout=120_000)
            settled(page)

            page.get_by_role("link", name="Class overview").click()
            page.get_by_role("heading", name="Class overview").wait_for(timeout=60_000)
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            chart.locator("canvas, svg").first.wait_for(timeout=60_000)
            settled(page)
            assert page.get_by_text("Expressions over lesson time").count() >= 1
            assert page.get_by_text(BANNER).count() == 1
            tall_screenshot(page, shots / "3_class_overview.png")  # down to the weeks' chart

            # the student whose mood falls from week 5 on, against the class
            page.get_by_role("link", name="Students").click()
            page.get_by_role("heading", name="Students").wait_for(timeout=60_000)
            settled(page)
            choose(page, "Student", f"Student {DECLINING}",
                   re.compile(rf"^Student {DECLINING}$"))
            page.get_by_role("heading", name=f"Student {DECLINING}").wait_for(timeout=60_000)
            settled(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            tall_screenshot(page, shots / "4_students.png")  # down to the student's lessons

            # the student who does not join the class's laugh, the window shaded
            page.get_by_role("link", name="Alerts").click()
            page.get_by_role("heading", name="Alerts", exact=True).wait_for(timeout=60_000)
            settled(page)
            choose(page, "Look at", "Apart from the class",
                   re.compile(rf"· Student {APART} · Apart from the class"))
            page.get_by_role("heading", name=f"Student {APART}: Apart from the class").wait_for(
                timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=shots / "5_alerts.png", full_page=True)

            page.get_by_role("link", name="Evaluate").click()
            page.get_by_role("heading", name="Evaluate an emotion model").wait_for(timeout=60_000)
            settled(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=shots / "6_evaluate.png", full_page=True)
        finally:
            browser.close()
