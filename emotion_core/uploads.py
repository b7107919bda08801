"""Keeping uploaded lesson videos on the local disk under safe file names."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
DEFAULT_UPLOAD_DIR = Path("data") / "uploads"
# The composed demo lesson the app offers to a first-time user (see sample_videos/README.md).
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_videos"
SAMPLE_VIDEO = SAMPLE_DIR / "demo_lesson.mp4"


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


def upload_dir(db_path: Path) -> Path:
    """Where uploads analysed into the database ``db_path`` are kept: beside it."""
    return db_path.parent / "uploads"


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


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """The sha256 of a file's content, read in chunks (a lesson video can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def stored_uploads(folder: Path, size_bytes: int | None, content_sha256: str) -> list[Path]:
    """Every copy of one analysed video kept in the uploads ``folder``: the file its ``videos``
    row names and any other upload of the same content (uploaded twice, under two names).

    A file counts only when its content is the video's (same size, then same sha256), so a
    different video that happens to have the same name is never taken for it. Nothing outside
    ``folder`` (the sample lesson, a video analysed from the command line where it lies) is
    ever returned.
    """
    if size_bytes is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        try:
            same_size = path.is_file() and path.stat().st_size == size_bytes
            if same_size and file_sha256(path) == content_sha256:
                found.append(path)
        except OSError:
            continue  # gone or unreadable meanwhile
    return found
