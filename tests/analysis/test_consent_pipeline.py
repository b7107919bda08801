"""The real pipeline on a real classroom clip (four adults, Intel's CC-BY sample): no raw frame is
ever stored, thumbnails only when asked for, and a student whose identification is turned off
is never given their id back when the lesson is analysed again."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings
from emotion_core.core.thumbnails import THUMBNAIL_PX, decode_thumbnail
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.mtcnn import MTCNNDetector
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.store import queries
from emotion_core.store.store import Store

pytestmark = pytest.mark.real_data

# the clip's faces are under the 24 px identity needs by default; identified all the same, as
# these tests are about consent, not face size
SETTINGS = AnalysisSettings(sample_fps=4.0, embedding_model="Dlib", min_identity_px=12.0)
THUMBNAILS = replace(SETTINGS, store_thumbnails=True)
# the largest value any column may hold: a thumbnail is a few KB, a frame of this clip 390 KB
LARGEST_THUMBNAIL_BYTES = 10_000
LARGEST_TEXT_CHARS = 10_000


@dataclass(frozen=True)
class Analysed:
    db: Path
    result: AnalysisResult


def analyse(db: Path, video: Path, detector: MTCNNDetector, model: EmotionModel,
            embedder: FaceEmbedder, settings: AnalysisSettings) -> AnalysisResult:
    with Store(db) as store:
        return analyse_video(video, store, detector, model, settings, embedder=embedder)


@pytest.fixture(scope="module")
def without_thumbnails(tmp_path_factory: pytest.TempPathFactory, intel_classroom: Path,
                       detector: MTCNNDetector, fer_model: EmotionModel,
                       dlib_embedder: FaceEmbedder) -> Analysed:
    db = tmp_path_factory.mktemp("no_thumbnails") / "lessons.duckdb"
    return Analysed(db, analyse(db, intel_classroom, detector, fer_model, dlib_embedder, SETTINGS))


@pytest.fixture(scope="module")
def with_thumbnails(tmp_path_factory: pytest.TempPathFactory, intel_classroom: Path,
                    detector: MTCNNDetector, fer_model: EmotionModel,
                    dlib_embedder: FaceEmbedder) -> Analysed:
    db = tmp_path_factory.mktemp("thumbnails") / "lessons.duckdb"
    return Analysed(db, analyse(db, intel_classroom, detector, fer_model, dlib_embedder,
                                THUMBNAILS))


def copy_of(analysed: Analysed, tmp_path: Path) -> Path:
    """A copy of a module's database that a test may change."""
    return Path(shutil.copy(analysed.db, tmp_path / "lessons.duckdb"))


@dataclass(frozen=True)
class Content:
    """What one column holds: how many values, and the largest one (bytes, characters or list
    items)."""

    table: str
    column: str
    data_type: str
    values: int
    largest: int


def everything_stored(store: Store) -> list[Content]:
    """Every column of every table in the database with its content, binary and list columns
    by the size of their values."""
    columns = store.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    )
    found = []
    for table, column, data_type in columns.itertuples(index=False):
        if data_type == "BLOB":
            size = f'octet_length("{column}")'
        elif data_type.endswith("[]"):
            size = f'len("{column}")'
        elif data_type in ("VARCHAR", "JSON"):
            size = f'length("{column}"::VARCHAR)'
        else:
            size = "0"
        row = store.query(
            f'SELECT count("{column}") AS n, coalesce(max({size}), 0) AS largest FROM "{table}"'
        ).iloc[0]
        found.append(Content(table, column, data_type, int(row["n"]), int(row["largest"])))
    return found


def test_thumbnails_are_off_by_default_and_need_identification() -> None:
    assert AnalysisSettings().store_thumbnails is False
    with pytest.raises(ValueError, match="need identification on"):
        AnalysisSettings(identify=False, store_thumbnails=True)


def test_without_thumbnails_the_database_holds_no_image_data(without_thumbnails: Analysed) -> None:
    assert without_thumbnails.result.students == 4 and without_thumbnails.result.thumbnails == 0
    with Store(without_thumbnails.db, read_only=True) as store:
        stored = everything_stored(store)
        assert not store.students()["has_thumbnail"].any()
    binary = [c for c in stored if c.data_type == "BLOB"]
    assert binary, "the thumbnails table exists, and is empty"
    assert all(c.values == 0 for c in binary), binary
    lists = [c for c in stored if c.data_type.endswith("[]") and c.values]
    assert [(c.table, c.column, c.largest) for c in lists] == [("face_embeddings", "embedding", 128)]
    text = [c for c in stored if c.largest > LARGEST_TEXT_CHARS and c not in lists]
    assert not text, text


def test_with_thumbnails_only_one_small_thumbnail_per_student(with_thumbnails: Analysed) -> None:
    result = with_thumbnails.result
    assert result.students == 4 and result.thumbnails == 4
    with Store(with_thumbnails.db, read_only=True) as store:
        stored = everything_stored(store)
        students = store.students()
        assert students["has_thumbnail"].all()
        held = [store.student_thumbnail(int(s)) for s in students["student_id"]]
    binary = [(c.table, c.column) for c in stored if c.data_type == "BLOB" and c.values]
    assert binary == [("student_thumbnails", "jpeg")]
    assert next(c.values for c in stored if c.table == "student_thumbnails") == 4
    for thumbnail in held:
        assert len(thumbnail["jpeg"]) < LARGEST_THUMBNAIL_BYTES
        assert decode_thumbnail(thumbnail["jpeg"]).shape == (THUMBNAIL_PX, THUMBNAIL_PX, 3)
        assert thumbnail["video_id"] == result.video_id
        assert thumbnail["file_name"] == "intel_classroom_preview.mp4"


def test_deleting_a_student_deletes_their_thumbnail(with_thumbnails: Analysed,
                                                    tmp_path: Path) -> None:
    with Store(copy_of(with_thumbnails, tmp_path)) as store:
        first = int(store.students()["student_id"].iloc[0])
        store.delete_student(first)
        assert store.student_thumbnail(first) is None
        assert len(store.query("SELECT * FROM student_thumbnails")) == 3


def test_consent_off_then_the_lesson_analysed_again(
    with_thumbnails: Analysed, tmp_path: Path, intel_classroom: Path, detector: MTCNNDetector,
    fer_model: EmotionModel, dlib_embedder: FaceEmbedder,
) -> None:
    db = copy_of(with_thumbnails, tmp_path)
    video = with_thumbnails.result.video_id
    with Store(db) as store:
        before = store.observations(video)
        lessons_before = queries.lessons(store)
        by_track = before.groupby("track_id")["student_id"].first()
        off = int(by_track.iloc[0])
        store.set_identification(off, False, "no consent")
        after = store.observations(video)
        assert after.loc[before["student_id"] == off, "student_id"].isna().all()
        assert store.query("SELECT * FROM face_embeddings WHERE student_id = ?", [off]).empty
        assert store.student_thumbnail(off) is None
        same = ["observations", "tracks", "mood_index", "angry", "happy", "neutral", "sad"]
        pd.testing.assert_frame_equal(queries.lessons(store)[same], lessons_before[same])

        # again, adding no new students: the others keep their ids, the withdrawn one is nobody
        known_only = AnalysisSettings(sample_fps=4.0, embedding_model="Dlib", min_identity_px=12.0,
                                      identify_new_students=False, store_thumbnails=True)
        again = analyse_video(intel_classroom, store, detector, fer_model, known_only,
                              embedder=dlib_embedder)
        assert again.video_id == video
        assert again.new_students == 0 and again.anonymous_people == 1 and again.students == 3
        rows = store.observations(video)
        assert off not in set(rows["student_id"].dropna())
        pd.testing.assert_series_equal(rows["student_id"].isna(), after["student_id"].isna())
        assert rows.groupby("track_id")["student_id"].first().drop(by_track.index[0]).tolist() \
            == by_track.drop(by_track.index[0]).tolist()
        assert store.query("SELECT * FROM face_embeddings WHERE student_id IS NULL").empty
        assert len(store.query("SELECT * FROM face_embeddings")) == 3
        assert len(store.query("SELECT * FROM student_thumbnails")) == 3
        register = store.student(off)
        assert register is not None and not register["identification"]

        # again with new students added: no embedding is kept to recognise the child, so they
        # come back as a new pseudonymous student, never under the withdrawn id
        default = analyse_video(intel_classroom, store, detector, fer_model, THUMBNAILS,
                                embedder=dlib_embedder)
        assert default.new_students == 1
        rows = store.observations(video)
        assert rows["student_id"].notna().all()
        assert off not in set(rows["student_id"])
        assert not store.student(off)["identification"]
        assert len(store.students()) == 5, "four identified, one on the register, off"
