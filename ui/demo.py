"""The demo term as this session's choice: opening it (built the first time, with a progress
bar), the banner every page shows while it is open, and the way back to the user's database.

The choice lives in the session only: another person's session, and the command line, go on
reading the user's database, which the demo never opens.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.demo.build import demo_db_path, open_demo
from emotion_core.store.store import default_db_path

DEMO_DB = "demo_db"  # session state: the demo database this session reads, when it does
BANNER = "Demo data: a composed class, not real children"
OPEN_LABEL = "Open the demo term"
BACK_LABEL = "Back to my own database"


def opened_demo() -> Path | None:
    """The demo database this session reads, or None (the user's own)."""
    path = st.session_state.get(DEMO_DB)
    return Path(path) if path else None


def open_button(key: str = "open_demo") -> None:
    """**Open the demo term**: build it the first time (seconds, with a progress bar), then show
    every page over it in this session."""
    if not st.button(OPEN_LABEL, key=key,
                     help="Six weeks of a composed class in a database of its own, with an "
                          "alert of each kind: every page at work. Your own lessons stay as "
                          "they are."):
        return
    own = default_db_path()
    bar = st.progress(0.0, text="Building the demo term…")
    try:
        path = open_demo(demo_db_path(own), own,
                         lambda fraction, words: bar.progress(fraction, text=words))
    except (ClassroomMoodError, OSError) as exc:  # refused, or the disk would not take it
        bar.empty()
        st.error(f"The demo could not be opened: {exc}")
        return
    st.session_state[DEMO_DB] = str(path)
    st.rerun()


def banner() -> None:
    """While the demo is open: say so, and offer the way back to the user's database."""
    if opened_demo() is None:
        return
    text, back = st.columns([3, 1], vertical_alignment="center")
    text.warning(
        f"**{BANNER}.** Six weeks of lessons made up to show every page at work; whatever is "
        "deleted, merged or dismissed here, your own database stays as it is.",
        icon=":material/theater_comedy:",
    )
    if back.button(BACK_LABEL, key="close_demo"):
        del st.session_state[DEMO_DB]
        st.rerun()
