"""The frame every page shares: the access gate, the wording about what the app infers and does
not, and how names and times are written on a page."""

from __future__ import annotations

import time

import streamlit as st
from streamlit.errors import Error as StreamlitError

from emotion_core.analysis.readable_share import ReadableShare
from emotion_core.cli.access import Access, configured_password, decide, password_matches
from ui import demo

CAVEAT = (
    "A facial expression is not an inner feeling, and the models were trained on adults: read "
    "the numbers as trends, never as a verdict about a child. Everything stays on this computer."
)
GO_ANALYSE = (
    "Open **Analyse** in the sidebar and upload a lesson video, or press **Try the sample "
    "lesson** there to see the app with a short composed demo, or **Open the demo term** to "
    "see every page at work on six weeks of a composed class."
)


# What the app infers and what it does not, and the law a school must check: shown on the first
# page and in the README.
WHAT_IT_INFERS = (
    "**What this app infers, and what it does not.** It finds faces in lesson videos, tells "
    "the students apart under pseudonyms, and reads each face's *expression* as probabilities "
    "over seven classes (angry, disgust, fear, happy, sad, surprise, neutral). It does **not** "
    "read feelings, thoughts, attention, personality or health: an expression is not an inner "
    "state, the models were trained on adults and are less accurate on children, and a flag "
    "is a prompt for a person to look, never a finding about a child."
)
LEGAL_NOTICE = (
    "**Check your legal basis before using it with pupils.** In the European Union the AI Act "
    "(Regulation (EU) 2024/1689, Article 5(1)(f)) prohibits AI systems that infer the emotions "
    "of a natural person in education institutions, except where the system is intended for "
    "medical or safety reasons. Whoever deploys this app must establish that their use is "
    "lawful where they are (and have a basis under data-protection law for processing "
    "children's biometric data) before analysing any lesson."
)
SIGNED_IN = "signed_in"


def require_access() -> None:
    """Let the session in, ask for the password, or refuse (``emotion_core.cli.access``); stops the
    script unless the session may see the app."""
    try:
        secrets = dict(st.secrets)
    except FileNotFoundError:  # no secrets file: Streamlit's own kind of FileNotFoundError
        secrets = {}
    except StreamlitError as exc:  # a secrets file that cannot be read: fail closed
        st.error(f"The app's secrets (.streamlit/secrets.toml) cannot be read: {exc}")
        st.stop()
    password = configured_password(secrets)
    decision = decide(st.get_option("server.address"), password)
    if decision.access is Access.OPEN or st.session_state.get(SIGNED_IN):
        if decision.access is Access.PASSWORD and st.sidebar.button("Sign out"):
            st.session_state[SIGNED_IN] = False
            st.rerun()
        return
    st.title("Classroom mood")
    if decision.access is Access.REFUSED:
        st.error(f"**Not served on this address.** {decision.reason}")
        st.stop()
    with st.form("sign_in"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if password is not None and password_matches(given, password):
            st.session_state[SIGNED_IN] = True
            st.rerun()
        time.sleep(1.0)  # a wrong guess costs a second
        st.error("That is not the password.")
    st.stop()


def demo_banner() -> None:
    """While this session has the demo term open: a banner that says so, with the way back to
    the user's own database (ui/demo.py). Every page shows it under its title."""
    demo.banner()


def readable_faces(share: ReadableShare) -> None:
    """How many of the faces behind a page's figures could be read, and what would let more be
    read where few were; nothing where no face was seen."""
    if not share.faces:
        return
    st.caption(f"{share.describe()}. The figures are over the readable faces only.")
    advice = share.advice()
    if advice is not None:
        st.warning(advice, icon=":material/photo_camera:")


_MARKDOWN_SPECIAL = "\\`*_[]$<>~|"


def plain(text: str) -> str:
    """``text`` shown as it is where Streamlit reads Markdown (a file name like ``a*b*.mp4``
    or ``$x$.mp4`` would otherwise turn into emphasis or a formula)."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in text)


def minutes(seconds: float) -> str:
    """``seconds`` as m:ss."""
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
