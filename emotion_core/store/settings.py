"""Settings kept in the database (the ``settings`` table), shared by the app and the command line.

A setting that was never set (or was set back to its default) has no row and reads as its
default. ``StoredSettings`` is part of ``store.Store``; its methods run on the store's connection.

Besides ``retention_days``, every threshold of the alert rules is a setting of its own, named
``alerts.<rule>.<threshold>`` (``alerts.threshold_names``), so the app and the command line
check alerts with the same thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emotion_core.core.alert_settings import AlertSettings, threshold_names
from emotion_core.core.errors import ClassroomMoodError


class SettingsError(ClassroomMoodError, ValueError):
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


ALERT_PREFIX = "alerts."


def _alert_threshold(threshold: str) -> Setting:
    default = AlertSettings().threshold(threshold)

    def parse(text: str) -> Any:
        try:
            return AlertSettings().with_overrides({threshold: text.strip()}).threshold(threshold)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    return Setting(
        ALERT_PREFIX + threshold, default, parse,
        lambda value: f"{value:g}" + ("" if value == default else f" (default {default:g})"),
    )


SETTINGS: dict[str, Setting] = {
    s.name: s for s in (
        Setting(
            "retention_days", None, _retention_days,
            lambda days: ("none: lessons are kept until someone deletes them" if days is None
                          else f"{days}: lessons older than {days} days are purged"),
        ),
        *(_alert_threshold(name) for name in threshold_names()),
    )
}


def parse_setting(name: str, text: str) -> Any:
    """The value ``text`` gives setting ``name``; ``SettingsError`` for a bad name or value."""
    return _setting(name).parse(text)


def _setting(name: str) -> Setting:
    if name not in SETTINGS:
        raise SettingsError(
            f"there is no setting {name!r}; the settings are: retention_days, and "
            f"{ALERT_PREFIX}RULE.THRESHOLD for each threshold of the alert rules "
            "(python -m emotion_core alerts --rules lists them)"
        )
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
        self._set_settings({name: value})

    def _set_settings(self, values: dict[str, Any], clear_prefix: str | None = None) -> None:
        """Store several settings in one transaction, each checked first (``SettingsError``
        for a bad name or value, and nothing is changed); a default value removes the row.
        ``clear_prefix``: first return every setting whose name starts with it to its default."""
        checked = {name: _setting(name).parse("none" if value is None else str(value))
                   for name, value in values.items()}
        with self._transaction() as cur:
            if clear_prefix is not None:
                cur.execute("DELETE FROM settings WHERE starts_with(name, ?)", [clear_prefix])
            for name, value in checked.items():
                cur.execute("DELETE FROM settings WHERE name = ?", [name])
                if value != SETTINGS[name].default:
                    cur.execute("INSERT INTO settings (name, value) VALUES (?, ?)",
                                [name, json.dumps(value)])

    def alert_settings(self) -> AlertSettings:
        """The thresholds the alert rules run with: the defaults, changed where a setting says."""
        changed = {name.removeprefix(ALERT_PREFIX): value
                   for name, value in self.settings().items()
                   if name.startswith(ALERT_PREFIX) and value != SETTINGS[name].default}
        return AlertSettings().with_overrides(changed)

    def set_alert_thresholds(self, changes: dict[str, Any], reset: bool = False) -> None:
        """Store thresholds by their rule name (``{"sharp_drop.drop": 3.0}``), in one
        transaction; ``reset`` first returns every threshold to its default. A bad name or value
        is a ``SettingsError`` and changes nothing."""
        self._set_settings({ALERT_PREFIX + name: value for name, value in changes.items()},
                           clear_prefix=ALERT_PREFIX if reset else None)

    def retention_days(self) -> int | None:
        """Days a lesson is kept after its date, or None: kept until deleted."""
        return self.setting("retention_days")
