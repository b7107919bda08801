"""Files on the local disk: content hashes, and the kept copies of one analysed video."""

from __future__ import annotations

import hashlib
from pathlib import Path


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
