"""The real pipeline on composed lessons with known people: stable student ids within a lesson
(two people crossing, everyone leaving and coming back), the same ids in a second lesson with
everybody in another seat, re-analysis keeping them, and identification off storing nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.compose_classroom import DEFAULT_FACES, DEFAULT_YUNET, compose_classroom
from benchmarks.detection import load_truth
from benchmarks.identity import matched_faces, score
from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.mtcnn import MTCNNDetector
from emotion_core.identity.embedders import FaceEmbedder
from emotion_core.store.store import Store

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(
        not (DEFAULT_FACES / "labels.csv").is_file() or not DEFAULT_YUNET.is_file(),
        reason=f"JAFFE faces ({DEFAULT_FACES}) or YuNet weights ({DEFAULT_YUNET}) not available",
    ),
]

# small enough to compose and analyse in seconds, big enough for a crossing and absences
LESSON = {"seed": 2, "duration_s": 16.0, "fps": 4, "people": 5, "crossing": True}
SETTINGS = AnalysisSettings(embedding_model="Dlib")


@dataclass
class Lessons:
    db: Path
    a: Path
    b: Path
    result_a: AnalysisResult
    result_b: AnalysisResult
    seen_a: pd.DataFrame  # truth faces matched to observations
    seen_b: pd.DataFrame


def analyse(store: Store, video: Path, detector: MTCNNDetector, model: EmotionModel,
            embedder: FaceEmbedder | None, settings: AnalysisSettings = SETTINGS
            ) -> tuple[AnalysisResult, pd.DataFrame]:
    result = analyse_video(video, store, detector, model, settings, embedder=embedder)
    return result, matched_faces(load_truth(video), store.observations(result.video_id))


@pytest.fixture(scope="module")
def lessons(tmp_path_factory: pytest.TempPathFactory, detector: MTCNNDetector,
            fer_model: EmotionModel, dlib_embedder: FaceEmbedder) -> Lessons:
    folder = tmp_path_factory.mktemp("lessons")
    a = compose_classroom(folder / "a.mp4", **LESSON).video_path
    b = compose_classroom(folder / "b.mp4", seat_permutation_seed=4, **LESSON).video_path
    db = folder / "lessons.duckdb"
    with Store(db) as store:
        result_a, seen_a = analyse(store, a, detector, fer_model, dlib_embedder)
        result_b, seen_b = analyse(store, b, detector, fer_model, dlib_embedder)
    return Lessons(db, a, b, result_a, result_b, seen_a, seen_b)


def test_every_face_gets_a_student(lessons: Lessons) -> None:
    with Store(lessons.db, read_only=True) as store:
        rows = store.observations()
        assert rows["student_id"].notna().all()
        assert set(store.videos()["embedding_model"]) == {"Dlib"}
        students = store.students()
    assert lessons.result_a.embedding_model == "Dlib"
    assert lessons.result_a.students == lessons.result_a.new_students == 5
    assert lessons.result_b.new_students == 0, "lesson B's people were all known"
    assert students["display_name"].str.fullmatch(r"Student \d+").all()
    assert len(students) == 5 and (students["lessons"] == 2).all()


def test_ids_are_stable_within_and_across_lessons(lessons: Lessons) -> None:
    report = score(lessons.seen_a, lessons.seen_b)
    assert report["id_purity"] == 1.0
    assert report["id_switches"] == 0
    assert report["reid_accuracy"] == 1.0
    assert report["persons_reidentified"] == report["persons"] == 5


def test_identity_cost_is_bounded_per_track(lessons: Lessons) -> None:
    for result in (lessons.result_a, lessons.result_b):
        assert result.faces_embedded <= SETTINGS.embeddings_per_track * result.tracks
        assert result.faces_embedded < result.faces / 2


def test_two_tracks_seen_together_are_never_one_student(lessons: Lessons) -> None:
    with Store(lessons.db, read_only=True) as store:
        rows = store.observations()
    per_frame = rows.groupby(["video_id", "frame_index"])["student_id"]
    assert (per_frame.nunique() == per_frame.size()).all()


def test_reanalysis_keeps_the_ids(lessons: Lessons, detector: MTCNNDetector,
                                  fer_model: EmotionModel, dlib_embedder: FaceEmbedder) -> None:
    with Store(lessons.db) as store:
        before = store.observations(lessons.result_a.video_id)
        store.rename_student(int(before["student_id"].iloc[0]), "Ada")
        again, _ = analyse(store, lessons.a, detector, fer_model, dlib_embedder)
        after = store.observations(again.video_id)
        assert again.video_id == lessons.result_a.video_id and again.new_students == 0
        pd.testing.assert_series_equal(before["student_id"], after["student_id"])
        assert len(store.students()) == 5
        assert "Ada" in store.students()["display_name"].tolist()


def test_identification_off_stores_no_embeddings(
    tmp_path: Path, lessons: Lessons, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    class NoEmbedder:
        """Fails the test if anything asks for a face embedding."""

        def __getattr__(self, name: str) -> None:
            raise AssertionError(f"identification is off, yet the embedder's {name} was used")

    with Store(tmp_path / "off.duckdb") as store:
        off = AnalysisSettings(identify=False)
        result = analyse_video(lessons.a, store, detector, fer_model, off, embedder=NoEmbedder())
        assert result.faces > 0 and result.students is None and result.faces_embedded == 0
        assert store.observations()["student_id"].isna().all()
        assert store.students().empty
        assert store.reference_embeddings("Dlib")[0].size == 0
        assert pd.isna(store.video(result.video_id)["embedding_model"])
        with store._cursor() as cur:
            assert cur.execute("SELECT count(*) FROM face_embeddings").fetchone()[0] == 0
