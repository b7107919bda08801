"""Labelled photo sets from CSVs, folders and zips, and the zips that must be refused."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from emotion_core.evaluation.photos import (
    LabelsError,
    photos_from,
    read_labels,
    unpack_zip,
)


def zip_of(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_labels_from_csv_and_from_folders(tmp_path: Path) -> None:
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "a.png").write_bytes(b"")
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "b.jpg").write_bytes(b"")
    (tmp_path / "sad" / "notes.txt").write_text("not a photo")
    assert [(p.path.name, p.emotion) for p in read_labels(tmp_path)] == [
        ("a.png", "happy"), ("b.jpg", "sad"),
    ]
    labels = tmp_path / "labels.csv"
    labels.write_text("path,emotion,subject\nhappy/a.png,Happy,S1\n")
    (photo,) = read_labels(labels)
    assert photo.path == tmp_path / "happy" / "a.png" and photo.emotion == "happy"
    assert photo.subject == "S1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,label\nx.png,happy\n", "path and emotion"),
        ("path,emotion\n", "lists no photos"),
    ],
)
def test_bad_label_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(LabelsError, match=message):
        read_labels(bad)
    with pytest.raises(LabelsError, match="no such file"):
        read_labels(tmp_path / "missing.csv")


def test_a_folder_without_labels_says_how_to_label(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(LabelsError, match="no labels found.*sub-folder per emotion"):
        read_labels(tmp_path)


def test_zip_of_emotion_folders_inside_a_wrapping_folder(tmp_path: Path) -> None:
    archive = zip_of({"set/happy/a.jpg": b"x", "set/sad/b.jpg": b"y", "__MACOSX/set/._a.jpg": b""})
    source = unpack_zip(archive, tmp_path)
    assert source == tmp_path / "set"
    assert [(p.path.name, p.emotion) for p in read_labels(source)] == [("a.jpg", "happy"), ("b.jpg", "sad")]
    assert not (tmp_path / "__MACOSX").exists()


def test_zip_with_a_csv(tmp_path: Path) -> None:
    archive = zip_of({"photos/a.jpg": b"x", "labels.csv": b"path,emotion\nphotos/a.jpg,fear\n"})
    (photo,) = read_labels(unpack_zip(archive, tmp_path), within=tmp_path)
    assert photo.path == tmp_path / "photos" / "a.jpg" and photo.emotion == "fear"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil.jpg": b"x", "happy/a.jpg": b"x"}, "unsafe path.*evil"),
        ({"happy/../../evil.jpg": b"x"}, "unsafe path"),
        ({"/etc/evil.jpg": b"x"}, "unsafe path"),
        ({"..\\evil.jpg": b"x"}, "unsafe path"),
        ({}, "empty"),
        ({"empty_folder/": b""}, "empty"),
        ({"a.jpg": b"x", "b.jpg": b"y"}, "no labels found"),
        ({"one.csv": b"path,emotion\n", "two.csv": b"path,emotion\n"}, "more than one CSV"),
    ],
)
def test_bad_zips_are_refused_with_a_reason(
    tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(LabelsError, match=message):
        read_labels(unpack_zip(zip_of(members), into))
    assert not (tmp_path / "evil.jpg").exists() and not Path("/etc/evil.jpg").exists()


def test_a_link_in_a_zip_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        link = zipfile.ZipInfo("happy/a.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    buffer.seek(0)
    with pytest.raises(LabelsError, match="link"):
        unpack_zip(buffer, tmp_path)


def test_a_csv_in_a_zip_may_not_name_photos_outside_it(tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    archive = zip_of({"labels.csv": b"path,emotion\n../../secret.jpg,happy\n"})
    with pytest.raises(LabelsError, match="outside the upload"):
        read_labels(unpack_zip(archive, into), within=into)


def test_not_a_zip(tmp_path: Path) -> None:
    fake = tmp_path / "photos.zip"
    fake.write_bytes(b"this is not a zip")
    with pytest.raises(LabelsError, match="not a zip file"):
        photos_from(fake, tmp_path / "into")


def test_photos_from_a_zip_path_or_a_folder(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    archive.write_bytes(zip_of({"happy/a.jpg": b"x"}).getvalue())
    into = tmp_path / "into"
    into.mkdir()
    (photo,) = photos_from(archive, into)
    assert photo.path == into / "happy" / "a.jpg"
    assert [p.emotion for p in photos_from(into, tmp_path / "unused")] == ["happy"]
