"""Keeping uploaded lesson videos on the local disk under safe file names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from emotion_core.core.paths import DEFAULT_UPLOAD_DIR

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def safe_file_name(name: str) -> str:
    """A file name with no directory parts, shell characters or control characters.

    Letters of any script are kept (a Cyrillic or accented lesson name stays readable), and so
    are spaces, dashes, dots, commas, brackets and plus signs ("Урок 5 — алгебра (7Б).mp4").
    """
    name = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"[^\w\- .,()\[\]+\u2010-\u2015]+", "_", stem).strip(" ._-") or "video"
    suffix = re.sub(r"[^\w]+", "", suffix).lower()
    return f"{stem[:120]}.{suffix}" if suffix else stem[:120]


def save_upload(name: str, data: BinaryIO, folder: Path = DEFAULT_UPLOAD_DIR) -> Path:
    """Copy an uploaded file into ``folder`` without overwriting an earlier upload.

    The name is claimed by creating the file exclusively, so two users uploading files of the
    same name at the same moment each get a file of their own.
    """
    folder.mkdir(parents=True, exist_ok=True)
    first = Path(safe_file_name(name))
    counter = 0
    while True:
        target = folder / (first.name if counter == 0 else f"{first.stem}-{counter}{first.suffix}")
        try:
            out = target.open("xb")
        except FileExistsError:
            counter += 1
            continue
        with out:
            while chunk := data.read(1 << 20):
                out.write(chunk)
        return target


def find_stored_video(file_name: str, size_bytes: int, folders: Iterable[Path]) -> Path | None:
    """The kept copy of an analysed video, found by its stored file name and size, or None.

    Videos are analysed from where they were saved (``save_upload``) or from the sample folder,
    under the name the ``videos`` table records.
    """
    for folder in folders:
        path = folder / file_name
        if path.is_file() and path.stat().st_size == size_bytes:
            return path
    return None

