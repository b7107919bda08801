"""Settings kept in the database (the ``settings`` table), shared by the app and the command line.

A setting that was never set (or was set back to its default) has no row and reads as its
default. ``StoredSettings`` is part of ``store.Store``; its methods run on the store's connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class SettingsError(ValueError):
    """A setting that does not exist or a value it cannot take; the message is for the user."""


MAX_RETENTION_DAYS = 36_500  # a hundred years: more is "keep", and dates would overflow


def _retention_days(text: str) -> int | None:
    value = text.strip().lower()
    if value == "none":
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_RETENTION_DAYS:
        raise SettingsError(
            f"retention_days is a whole number of days from 1 to {MAX_RETENTION_DAYS}, or none "
            f"(keep lessons until deleted), not {text!r}"
        )
    return int(value)


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]  # from what a person types; raises SettingsError
    describe: Callable[[Any], str]  # a value in words


SETTINGS: dict[str, Setting] = {
    s.name: s for s in (
        Setting(
            "retention_days", None, _retention_days,
            lambda days: ("none: lessons are kept until someone deletes them" if days is None
                          else f"{days}: lessons older than {days} days are purged"),
        ),
    )
}


def parse_setting(name: str, text: str) -> Any:
    """The value ``text`` gives setting ``name``; ``SettingsError`` for a bad name or value."""
    return _setting(name).parse(text)


def _setting(name: str) -> Setting:
    if name not in SETTINGS:
        raise SettingsError(f"there is no setting {name!r}; the settings are: {', '.join(SETTINGS)}")
    return SETTINGS[name]


class StoredSettings:
    """Reading and writing the settings in the database."""

    # provided by Store
    _cursor: Any
    _transaction: Any

    def settings(self) -> dict[str, Any]:
        """Every setting's value, the default where none is stored."""
        with self._cursor() as cur:
            stored = dict(cur.execute("SELECT name, value FROM settings").fetchall())
        return {name: json.loads(stored[name]) if name in stored else setting.default
                for name, setting in SETTINGS.items()}

    def setting(self, name: str) -> Any:
        _setting(name)
        return self.settings()[name]

    def set_setting(self, name: str, value: Any) -> None:
        """Store ``value`` (already parsed: ``parse_setting``); the default removes the row."""
        setting = _setting(name)
        checked = setting.parse("none" if value is None else str(value))
        with self._transaction() as cur:
            cur.execute("DELETE FROM settings WHERE name = ?", [name])
            if checked != setting.default:
                cur.execute("INSERT INTO settings (name, value) VALUES (?, ?)",
                            [name, json.dumps(checked)])

    def retention_days(self) -> int | None:
        """Days a lesson is kept after its date, or None: kept until deleted."""
        return self.setting("retention_days")
