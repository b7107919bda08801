"""Keeping uploads: safe names, never overwriting, two users at once, finding them again."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from emotion_core.core.paths import upload_dir
from emotion_core.video.uploads import find_stored_video, safe_file_name, save_upload


def test_names_lose_directories_and_shell_characters() -> None:
    assert safe_file_name("../../etc/passwd.mp4") == "passwd.mp4"
    assert safe_file_name("C:\\lessons\\7B; rm -rf.MP4") == "7B_ rm -rf.mp4"
    assert safe_file_name("Урок 5.mov") == "Урок 5.mov"


def test_an_upload_never_overwrites_another(tmp_path: Path) -> None:
    first = save_upload("lesson.mp4", io.BytesIO(b"first"), tmp_path)
    second = save_upload("lesson.mp4", io.BytesIO(b"second"), tmp_path)
    assert (first.name, second.name) == ("lesson.mp4", "lesson-1.mp4")
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


def test_two_users_uploading_the_same_name_at_once_each_keep_their_file(tmp_path: Path) -> None:
    saved: list[Path] = []
    start = threading.Barrier(8)

    def user(n: int) -> None:
        start.wait()
        saved.append(save_upload("lesson.mp4", io.BytesIO(f"user {n}".encode() * 50_000), tmp_path))

    users = [threading.Thread(target=user, args=(n,)) for n in range(8)]
    for u in users:
        u.start()
    for u in users:
        u.join()
    assert len({p.name for p in saved}) == 8
    contents = sorted(p.read_bytes() for p in saved)
    assert contents == sorted(f"user {n}".encode() * 50_000 for n in range(8))


def test_a_stored_video_is_found_by_name_and_size(tmp_path: Path) -> None:
    db = tmp_path / "classroom.duckdb"
    saved = save_upload("lesson.mp4", io.BytesIO(b"12345"), upload_dir(db))
    assert find_stored_video("lesson.mp4", 5, [tmp_path / "elsewhere", upload_dir(db)]) == saved
    assert find_stored_video("lesson.mp4", 6, [upload_dir(db)]) is None  # another file now
    assert find_stored_video("gone.mp4", 5, [upload_dir(db)]) is None
