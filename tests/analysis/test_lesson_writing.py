"""A lesson analysed apart from the database (analysis/lesson_result.py, what a Ray worker
does) and written by the process holding it (analysis/lesson_writing.py) is stored exactly as
``analyse_video`` stores it; writing it again replaces it; a file that is no video fails before
anything is written. Runs in this process: no cluster needed."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from support.clips import cut_clip

from emotion_core.analysis.lesson_result import WRITER_COLUMNS, analyse_lesson
from emotion_core.analysis.lesson_writing import write_lesson
from emotion_core.analysis.models import load_detector, load_embedder, load_emotion_model
from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisSettings
from emotion_core.store.store import Store
from emotion_core.video.source import VideoError

pytestmark = pytest.mark.real_data

SETTINGS = AnalysisSettings(emotion_model="classroom", embedding_model="Dlib",
                            store_thumbnails=True)
STUDENTS = ["student_id", "display_name", "class_group", "lessons", "tracks", "observations",
            "has_reference", "has_thumbnail"]


@pytest.fixture(scope="module")
def head_pose(tmp_path_factory: pytest.TempPathFactory, videos_dir: Path) -> tuple[Path, Path]:
    """Two lessons of the same two adults (the halves of the head-pose clip)."""
    source = videos_dir / "intel_head_pose_female_and_male_preview.mp4"
    if not source.is_file():
        pytest.skip(f"{source.name} not found in {videos_dir}")
    folder = tmp_path_factory.mktemp("head_pose")
    return (cut_clip(source, folder / "a.mp4", 0.0, 2.5),
            cut_clip(source, folder / "b.mp4", 2.2, 4.7))


def test_a_lesson_written_from_its_result_is_stored_as_analyse_video_stores_it(
    head_pose: tuple[Path, Path], tmp_path: Path, deepface_home: Path
) -> None:
    detector = load_detector(SETTINGS.detector)
    model = load_emotion_model(SETTINGS.emotion_model)
    embedder = load_embedder(SETTINGS.embedding_model)
    with Store(tmp_path / "local.duckdb") as local, Store(tmp_path / "split.duckdb") as split:
        for video in head_pose:
            want = analyse_video(video, local, detector, model, SETTINGS, embedder=embedder,
                                 class_group="7B")
            lesson = analyse_lesson(video, detector, model, SETTINGS, embedder=embedder)
            assert isinstance(lesson.observations, pa.Table)
            assert not set(WRITER_COLUMNS) & set(lesson.observations.column_names)
            lesson = pickle.loads(pickle.dumps(lesson))  # as it travels from a worker
            got = write_lesson(split, lesson, class_group="7B")
            assert (got.faces, got.students, got.new_students, got.thumbnails) == (
                want.faces, want.students, want.new_students, want.thumbnails)
        assert got.students and not got.new_students, "the second lesson's people were known"
        pd.testing.assert_frame_equal(split.observations(), local.observations())
        pd.testing.assert_frame_equal(split.students()[STUDENTS], local.students()[STUDENTS])
        # written again (a rerun): replaced, with the same students, nothing doubled
        before = split.observations()
        write_lesson(split, lesson, class_group="7B")
        pd.testing.assert_frame_equal(split.observations(), before)
        assert len(split.videos()) == 2


def test_a_file_that_is_no_video_fails_before_anything_is_written(
    tmp_path: Path, deepface_home: Path
) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("not moving pictures")
    detector = load_detector(SETTINGS.detector)
    model = load_emotion_model(SETTINGS.emotion_model)
    with pytest.raises(VideoError, match=r"^notes\.mp4: not a readable video file"):
        analyse_lesson(notes, detector, model, SETTINGS, embedder=load_embedder("Dlib"))
    with pytest.raises(ValueError, match="needs an embedder"):
        analyse_lesson(notes, detector, model, SETTINGS)
