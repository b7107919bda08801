"""Building the demo database: a file of its own, never the user's database, in seconds.

The demo is built into a file beside its final name and moved into place once complete, so a
demo database that exists is a whole one. An existing file is only ever replaced when it is a
demo database (every lesson in it analysed by ``DEMO_MODEL``), and never when it is the user's
own database, whatever it holds.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emotion_core.alerts.checks import check_alerts
from emotion_core.core.errors import ClassroomMoodError
from emotion_core.demo.term import DEMO_MODEL, PLAN, demo_lessons, write_demo
from emotion_core.store import queries
from emotion_core.store.store import Store

# Where the demo lives beside a user's database (its own folder: its uploads stay apart too).
DEMO_FOLDER = "demo"
DEMO_FILE = "classroom_demo.duckdb"
# Building is shared out as: making the lessons, storing them, checking the alerts.
_MAKING, _STORING = 0.3, 0.65
# One build at a time in this process (two sessions pressing the button at once).
_BUILDING = threading.Lock()

# Told how far the build is: the fraction done (0 to 1) and what it is doing, in words.
Progress = Callable[[float, str], None]


class DemoError(ClassroomMoodError, ValueError):
    """The demo cannot be built where asked; the message is for the user."""


@dataclass(frozen=True)
class DemoTerm:
    """What a demo database holds."""

    path: Path
    lessons: int
    students: int
    faces: int
    readable_faces: int
    alerts: dict[str, int]  # raised by each rule
    seconds: float  # to build it; 0 when it was already there

    def describe(self) -> str:
        rules = ", ".join(f"{n} {rule}" for rule, n in sorted(self.alerts.items())) or "none"
        return (f"the demo term in {self.path}: {self.lessons} lessons of {self.students} "
                f"students, {self.faces} faces ({self.readable_faces} readable); alerts: "
                f"{rules}")


def demo_db_path(own_db: Path) -> Path:
    """Where the demo goes for a user whose database is ``own_db``: a folder beside it."""
    return own_db.parent / DEMO_FOLDER / DEMO_FILE


def is_demo_database(path: Path) -> bool:
    """Whether the database at ``path`` holds the demo's lessons only (read, never changed)."""
    with Store(path, read_only=True) as store:
        models = set(store.videos()["emotion_model"].dropna())
    return models <= {DEMO_MODEL}


def _refuse_unless_replaceable(path: Path, own_db: Path) -> None:
    if path.resolve() == own_db.resolve():
        raise DemoError(f"{path} is your own database: the demo is built in a file of its own "
                        f"(by default {demo_db_path(own_db)})")
    if not path.exists():
        return
    if not path.is_file():
        raise DemoError(f"{path} is not a file: give the demo a new file name")
    try:
        demo = is_demo_database(path)
    except ClassroomMoodError as exc:
        raise DemoError(f"{path} exists and cannot be checked to be a demo ({exc}): give the "
                        "demo a new file name") from exc
    if not demo:
        raise DemoError(f"{path} holds lessons that are not the demo's: it is left as it is; "
                        "give the demo a new file name")


def build_demo(path: Path, own_db: Path, on_progress: Progress | None = None) -> DemoTerm:
    """Build the demo term into ``path`` (replacing an earlier demo there); ``own_db`` is the
    user's database, which is never written. ``DemoError`` where it cannot go."""
    with _BUILDING:
        _refuse_unless_replaceable(Path(path), Path(own_db))
        return _build(Path(path), on_progress or (lambda fraction, words: None))


def open_demo(path: Path, own_db: Path, on_progress: Progress | None = None) -> Path:
    """The demo database at ``path``, built first unless a whole one is already there (one
    that this process may have open already, so it is never replaced here)."""
    with _BUILDING:
        if not Path(path).is_file():
            _refuse_unless_replaceable(Path(path), Path(own_db))
            _build(Path(path), on_progress or (lambda fraction, words: None))
    return Path(path)


def _build(path: Path, progress: Progress) -> DemoTerm:
    started = time.perf_counter()
    building = path.with_name(path.name + ".building")
    for leftover in (building, Path(f"{building}.wal")):
        leftover.unlink(missing_ok=True)
    count = PLAN.lessons
    progress(0.0, "Composing the class")
    lessons = demo_lessons(on_lesson=lambda i: progress(
        _MAKING * (i + 1) / count, f"Composing lesson {i + 1} of {count}"))
    with Store(building) as store:
        write_demo(store, lessons, on_lesson=lambda i: progress(
            _MAKING + (_STORING - _MAKING) * (i + 1) / count,
            f"Storing lesson {i + 1} of {count}"))
        progress(_STORING, "Checking the lessons for alerts")
        check_alerts(store)
        term = _summary(store, path, time.perf_counter() - started)
    os.replace(building, path)
    Path(f"{path}.wal").unlink(missing_ok=True)  # of an earlier demo, now replaced
    progress(1.0, "The demo term is ready")
    return term


def _summary(store: Store, path: Path, seconds: float) -> DemoTerm:
    faces = queries.readable_faces(store)
    return DemoTerm(
        path=path, lessons=len(store.videos()), students=len(store.students()),
        faces=int(faces["faces"].sum()), readable_faces=int(faces["readable_faces"].sum()),
        alerts=dict(Counter(store.alerts()["rule"])), seconds=round(seconds, 1),
    )
