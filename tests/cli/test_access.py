"""Who may open the app: open on localhost, a password elsewhere, refused without one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest
from support.env import child_env

from emotion_core.cli.access import (
    PASSWORD_ENV_VAR,
    Access,
    configured_address,
    configured_password,
    decide,
    is_local_address,
    password_matches,
)
from emotion_core.store.store import DB_ENV_VAR

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]",
                                     "LOCALHOST"])
def test_loopback_addresses_are_local(address: str) -> None:
    assert is_local_address(address)


@pytest.mark.parametrize("address", ["", None, "0.0.0.0", "::", "192.168.1.20", "10.0.0.5",
                                     "school-server", "localhost.evil.example"])
def test_every_other_address_is_not_local(address: str | None) -> None:
    assert not is_local_address(address)


def test_password_from_the_environment_before_the_secrets() -> None:
    assert configured_password({"password": "from-secrets"}, {PASSWORD_ENV_VAR: "env"}) == "env"
    assert configured_password({"password": "from-secrets"}, {}) == "from-secrets"
    assert configured_password({}, {}) is None
    # an empty password is no password: it would let anybody in
    assert configured_password({"password": ""}, {PASSWORD_ENV_VAR: ""}) is None
    assert configured_password({"password": 1234}, {}) is None


def test_decisions() -> None:
    assert decide("localhost", None).access is Access.OPEN
    assert decide("localhost", "secret").access is Access.PASSWORD
    assert decide("0.0.0.0", "secret").access is Access.PASSWORD
    refused = decide("0.0.0.0", None)
    assert refused.access is Access.REFUSED
    assert PASSWORD_ENV_VAR in refused.reason and "0.0.0.0" in refused.reason
    # Streamlit's default, no address at all, listens everywhere
    assert decide("", None).access is Access.REFUSED
    assert decide(None, None).access is Access.REFUSED


def test_password_comparison() -> None:
    assert password_matches("correct horse", "correct horse")
    assert not password_matches("correct hors", "correct horse")
    assert not password_matches("", "correct horse")
    assert password_matches("pässwört", "pässwört")


def test_the_address_streamlit_would_use(tmp_path: Path) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\naddress = "localhost"\n')
    assert configured_address(tmp_path, [], {}) == "localhost"
    assert configured_address(tmp_path, [], {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}) == "0.0.0.0"
    assert configured_address(tmp_path, ["--server.address", "10.1.1.1"], {}) == "10.1.1.1"
    assert configured_address(tmp_path, ["--server.address=::"], {}) == "::"
    (tmp_path / ".streamlit" / "config.toml").write_text("[server]\nport = 8600\n")
    assert configured_address(tmp_path, [], {}) == ""


def test_this_projects_config_listens_on_localhost_only() -> None:
    assert is_local_address(configured_address(ROOT, [], {}))


def preflight(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = child_env(**env)
    environ.pop(PASSWORD_ENV_VAR, None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "emotion_core.cli.access", *args], cwd=ROOT, env=environ,
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_make_run_refuses_to_start_beyond_localhost_without_a_password() -> None:
    refused = preflight("--server.address", "0.0.0.0")
    assert refused.returncode == 2
    assert "refuses" in refused.stderr and PASSWORD_ENV_VAR in refused.stderr
    assert preflight().returncode == 0, preflight().stderr  # the project's config: localhost
    allowed = preflight("--server.address", "0.0.0.0", **{PASSWORD_ENV_VAR: "s3cret"})
    assert allowed.returncode == 0, allowed.stderr


@pytest.fixture
def listening_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The app as the server would run it on another address, over an empty database."""
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "classroom.duckdb"))
    monkeypatch.delenv(PASSWORD_ENV_VAR, raising=False)
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


def texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


def test_app_shows_nothing_beyond_localhost_without_a_password(listening_on: None) -> None:
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception, [e.message for e in app.exception]
    assert "Not served on this address" in texts(app.error)
    assert not app.text_input and not app.button and not app.file_uploader
    assert "No lesson has been analysed yet" not in texts(app.info)


def test_app_asks_for_the_password_beyond_localhost(
    listening_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV_VAR, "s3cret")
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception, [e.message for e in app.exception]
    assert [t.label for t in app.text_input] == ["Password"]
    assert "No lesson has been analysed yet" not in texts(app.info)

    app.text_input[0].input("guess")
    app.button[0].click().run()
    assert "not the password" in texts(app.error)
    assert "No lesson has been analysed yet" not in texts(app.info)

    app.text_input[0].input("s3cret")
    app.button[0].click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert "No lesson has been analysed yet" in texts(app.info)  # the Analyse page


def test_first_page_says_what_is_inferred_and_the_law(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "classroom.duckdb"))
    monkeypatch.delenv(PASSWORD_ENV_VAR, raising=False)
    app = AppTest.from_file(APP, default_timeout=60).run()  # localhost: no password asked
    assert not app.exception, [e.message for e in app.exception]
    shown = texts(app.markdown) + texts(app.warning)
    assert "does **not** read feelings" in shown
    assert "Article 5(1)(f)" in shown and "medical or safety reasons" in shown
