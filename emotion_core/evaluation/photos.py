"""Labelled photos a user brings: a CSV, a folder of per-emotion folders, or a zip of either."""

from __future__ import annotations

import csv
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import cv2
import numpy as np

from emotion_core.core.errors import ClassroomMoodError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# What an uploaded zip may unpack to: a labelled photo set is a few thousand small files, and a
# zip that claims much more is a mistake or a zip bomb.
MAX_ZIP_MEMBERS = 50_000
MAX_ZIP_BYTES = 4 << 30
# Folders some zip tools add that hold no photos of the user's.
_IGNORED_PARTS = ("__MACOSX",)


class LabelsError(ClassroomMoodError, ValueError):
    """The labelled photos cannot be read; the message is meant for the user."""


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    emotion: str
    subject: str | None = None


def read_labels(source: str | Path, within: Path | None = None) -> list[LabelledPhoto]:
    """Photos and labels from a CSV (``path,emotion[,subject]``, paths relative to the CSV) or a
    folder holding one sub-folder per emotion.

    ``within``: refuse a CSV that names photos outside this folder (an unpacked upload).
    """
    source = Path(source)
    if source.is_dir():
        return _labels_from_folders(source)
    if not source.is_file():
        raise LabelsError(f"{source}: no such file or folder")
    try:
        with source.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {"path", "emotion"} - set(reader.fieldnames or ())
            if missing:
                raise LabelsError(
                    f"{source.name}: needs the columns path and emotion (missing {sorted(missing)})"
                )
            photos = [
                LabelledPhoto(
                    source.parent / (row["path"] or "").strip(),
                    (row["emotion"] or "").strip().lower(),
                    (row.get("subject") or None),
                )
                for row in reader
            ]
    except UnicodeDecodeError as exc:
        raise LabelsError(f"{source.name}: is not a text CSV file (UTF-8)") from exc
    if not photos:
        raise LabelsError(f"{source.name}: lists no photos")
    if within is not None:
        root = within.resolve()
        for photo in photos:
            if not photo.path.resolve().is_relative_to(root):
                raise LabelsError(f"{source.name}: names a photo outside the upload: {photo.path.name}")
    return photos


def _labels_from_folders(folder: Path) -> list[LabelledPhoto]:
    photos = [
        LabelledPhoto(path, sub.name.strip().lower())
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in _IGNORED_PARTS)
        for path in sorted(sub.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not photos:
        raise LabelsError(
            f"{folder.name or folder}: no labels found: give a CSV with the columns path and "
            "emotion, or one sub-folder per emotion holding its photos"
        )
    return photos


def unpack_zip(archive: str | Path | BinaryIO, into: Path) -> Path:
    """Unpack a zip of labelled photos into the empty folder ``into``; returns what to read
    labels from (a CSV or a folder of per-emotion folders).

    Refuses, with a message for the user: a file that is not a zip, an empty zip, members whose
    names would land outside ``into`` (absolute paths, ``..``), links, too many or too large
    members, and a zip with neither a CSV nor per-emotion folders of photos.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not _ignored(m.filename)]
            _check_members(members)
            files = [m for m in members if not m.is_dir()]
            if not files:
                raise LabelsError("the zip is empty: it holds no files")
            for member in files:
                target = into.joinpath(*_member_path(member).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except zipfile.BadZipFile as exc:
        raise LabelsError(f"not a zip file, or a damaged one ({exc})") from exc
    return labels_source(into)


def _member_path(member: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(member.filename.replace("\\", "/"))


def _ignored(name: str) -> bool:
    return any(part in _IGNORED_PARTS for part in PurePosixPath(name.replace("\\", "/")).parts)


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_ZIP_MEMBERS:
        raise LabelsError(f"the zip holds {len(members)} files; at most {MAX_ZIP_MEMBERS} are read")
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise LabelsError(f"the zip unpacks to more than {MAX_ZIP_BYTES >> 30} GB")
    for member in members:
        path = _member_path(member)
        drive = bool(path.parts) and ":" in path.parts[0]  # C:/... from a Windows zip tool
        if path.is_absolute() or ".." in path.parts or drive:
            raise LabelsError(f"the zip holds an unsafe path, refused: {member.filename}")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise LabelsError(f"the zip holds a link, refused: {member.filename}")


def labels_source(folder: Path) -> Path:
    """In an unpacked set: the one CSV (a ``labels.csv`` nearest the top wins), else the folder
    holding the per-emotion folders, below any single wrapping folder."""
    csvs = sorted(
        (p for p in folder.rglob("*.csv") if not _ignored(str(p.relative_to(folder)))),
        key=lambda p: (len(p.parts), str(p)),
    )
    if csvs:
        top = [p for p in csvs if len(p.parts) == len(csvs[0].parts)]
        named = [p for p in top if p.name == "labels.csv"]
        if len(named) == 1 or len(top) == 1:
            return (named or top)[0]
        names = ", ".join(str(p.relative_to(folder)) for p in top)
        raise LabelsError(f"more than one CSV, and none called labels.csv: {names}")
    while True:
        entries = [p for p in folder.iterdir() if p.name not in _IGNORED_PARTS]
        only = entries[0] if len(entries) == 1 and entries[0].is_dir() else None
        if only is not None and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in only.iterdir()):
            folder = only  # a zip of a folder wraps everything in one more folder
        else:
            return folder


def load_rgb(path: Path) -> np.ndarray | None:
    """An RGB uint8 image, or None when the file cannot be read as an image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # also converts grey and palette images
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def photos_from(source: str | Path, unpack_into: Path) -> list[LabelledPhoto]:
    """The labelled photos of a CSV, a folder of per-emotion folders, or a zip of either (which
    is unpacked into the empty folder ``unpack_into`` and may name no photo outside it)."""
    source = Path(source).expanduser()
    if source.is_file() and source.suffix.lower() == ".zip":
        return read_labels(unpack_zip(source, unpack_into), within=unpack_into)
    return read_labels(source)
