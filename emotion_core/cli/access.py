"""Who may open the app: no password on this computer alone, a password on any other address.

The app holds biometric data about children. Listening only on this computer (localhost) lets
in nobody who cannot already read the database file; listening on any other address lets in
the network, so a password is required there, and without one the app refuses to serve.

The password comes from the ``CLASSROOM_PASSWORD`` environment variable or ``password`` in
Streamlit's secrets (``.streamlit/secrets.toml``). A configured password is asked for on
localhost too. This module holds the rules; ``ui.require_access`` applies them to a page, and
``python -m emotion_core.cli.access`` checks the configuration before ``make run`` starts the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

PASSWORD_ENV_VAR = "CLASSROOM_PASSWORD"
PASSWORD_SECRET = "password"
# what Streamlit reads for server.address besides its config file and command line flags
ADDRESS_ENV_VAR = "STREAMLIT_SERVER_ADDRESS"
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class Access(Enum):
    OPEN = "open"  # listening on this computer only, and no password set
    PASSWORD = "password"  # a password is set: ask for it
    REFUSED = "refused"  # listening beyond this computer with no password set


@dataclass(frozen=True)
class AccessDecision:
    access: Access
    address: str  # what the server listens on, as configured ("" = every address)
    reason: str  # for the person starting or opening the app


def is_local_address(address: str | None) -> bool:
    """Whether a server listening on ``address`` is reachable from this computer only.

    An empty or missing address is Streamlit's default, which listens on every interface.
    """
    if not address:
        return False
    host = address.strip().strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def configured_password(
    secrets: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The password the app asks for, or None when none is set (an empty one counts as none)."""
    environ = os.environ if environ is None else environ
    password = environ.get(PASSWORD_ENV_VAR) or ""
    if not password and secrets is not None:
        value = secrets.get(PASSWORD_SECRET)
        password = value if isinstance(value, str) else ""
    return password or None


def decide(address: str | None, password: str | None) -> AccessDecision:
    address = address or ""
    shown = address or "every network address (0.0.0.0)"
    if password is not None:
        return AccessDecision(Access.PASSWORD, address, f"listening on {shown}, password set")
    if is_local_address(address):
        return AccessDecision(Access.OPEN, address, f"listening on {shown} only")
    return AccessDecision(
        Access.REFUSED, address,
        f"the app would listen on {shown}, where other computers can reach it, and no password "
        f"is set. It holds data about children, so it refuses to serve there without one: set "
        f"the {PASSWORD_ENV_VAR} environment variable or `{PASSWORD_SECRET} = \"...\"` in "
        f".streamlit/secrets.toml, or listen on localhost (server.address in "
        f".streamlit/config.toml).",
    )


def password_matches(given: str, expected: str) -> bool:
    """Compared in constant time, so the time taken says nothing about the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def configured_address(project_root: Path, argv: list[str] | None = None,
                       environ: Mapping[str, str] | None = None) -> str:
    """The address ``streamlit run`` would listen on: a ``--server.address`` flag, else the
    environment variable, else ``.streamlit/config.toml``, else Streamlit's default (every
    address)."""
    argv = [] if argv is None else argv
    environ = os.environ if environ is None else environ
    for i, arg in enumerate(argv):
        if arg.startswith("--server.address="):
            return arg.split("=", 1)[1]
        if arg == "--server.address" and i + 1 < len(argv):
            return argv[i + 1]
    if environ.get(ADDRESS_ENV_VAR):
        return environ[ADDRESS_ENV_VAR]
    config = project_root / ".streamlit" / "config.toml"
    if config.is_file():
        with config.open("rb") as f:
            return str(tomllib.load(f).get("server", {}).get("address", ""))
    return ""


def configured_secrets(project_root: Path) -> dict[str, object]:
    secrets = project_root / ".streamlit" / "secrets.toml"
    if not secrets.is_file():
        return {}
    with secrets.open("rb") as f:
        return tomllib.load(f)


def main(argv: list[str] | None = None) -> int:
    """Check before starting the server; extra arguments are those given to ``streamlit run``."""
    argv = sys.argv[1:] if argv is None else argv
    root = Path.cwd()
    decision = decide(configured_address(root, argv),
                      configured_password(configured_secrets(root)))
    if decision.access is Access.REFUSED:
        print(f"error: {decision.reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
