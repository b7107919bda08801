"""The one base class of every error the library raises for bad input or a missing resource.

Its message is written for the person using the app or the command line, so the CLI prints it
as ``error: …`` and the pages show it as it is. Each subclass also keeps the built-in type it had
(``ValueError``, ``RuntimeError``), so callers that catch those still do.
"""

from __future__ import annotations


class ClassroomMoodError(Exception):
    """Something the user can act on: a bad file, a bad setting, missing weights, a busy store."""
