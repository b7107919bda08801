"""Tests for emotion_core/analysis/pipeline.py: the real pipeline on the real videos into a real
store, re-analysis, and analyses that fail part-way."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from support.media import gradient_frames, truncated_copy, write_video

from emotion_core.analysis.pipeline import analyse_video
from emotion_core.analysis.reading import ReadFaces
from emotion_core.analysis.rows import observation_rows
from emotion_core.analysis.settings import AnalysisResult, AnalysisSettings
from emotion_core.core.labels import EMOTIONS
from emotion_core.core.types import Faces, Progress
from emotion_core.emotion.model import EmotionModel
from emotion_core.faces.mtcnn import MTCNNDetector, MTCNNSettings
from emotion_core.faces.readability import Readability, ReadabilitySettings
from emotion_core.store.schema import OBSERVATION_COLUMNS
from emotion_core.store.store import Store
from emotion_core.video.source import VideoError

# the offline embedding model: no test tries to download VGG-Face's weights
TWO_PER_SECOND = AnalysisSettings(sample_fps=2.0, embedding_model="Dlib")
# no face too small, turned or blurred to be read
READ_EVERY_FACE = ReadabilitySettings.every_face()


@dataclass
class Analysed:
    result: AnalysisResult
    video: dict
    rows: pd.DataFrame
    progress: list[Progress]


def analyse_into(db: Path, video: Path, detector: MTCNNDetector, model: EmotionModel,
                 settings: AnalysisSettings = TWO_PER_SECOND) -> Analysed:
    progress: list[Progress] = []
    with Store(db) as store:
        result = analyse_video(video, store, detector, model, settings,
                               on_progress=progress.append)
        return Analysed(result, store.video(result.video_id), store.observations(result.video_id),
                        progress)


def staged_rows(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM observations_staging").fetchone()[0]


class FailingModel:
    """A real emotion model (it delegates to another) whose ``fail_on``-th call raises, like a
    model running out of memory part-way through a lesson."""

    def __init__(self, inner: EmotionModel, fail_on: int) -> None:
        self.inner, self.fail_on, self.calls = inner, fail_on, 0
        self.name, self.description = inner.name, inner.description
        self.input_size, self.crop_margin = inner.input_size, inner.crop_margin

    def predict(self, crops: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("out of memory on the emotion model")
        return self.inner.predict(crops)


# -- small pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes", [{"sample_fps": 0}, {"sample_fps": -1}, {"sample_fps": 61}, {"batch_frames": 0}]
)
def test_settings_are_checked(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AnalysisSettings(**changes)


def read_faces(faces: Faces, emotions: np.ndarray, readable: list[bool]) -> ReadFaces:
    n = len(faces)
    measured = Readability(
        face_height_px=faces.boxes[:, 3] - faces.boxes[:, 1], yaw_deg=np.zeros(n, np.float32),
        pitch_deg=np.full(n, np.nan, np.float32), sharpness=np.full(n, 0.1, np.float32),
        readable=np.array(readable, bool),
        reasons=tuple(None if r else "too small" for r in readable),
    )
    return ReadFaces(faces.with_emotions(emotions), measured)


def test_observation_rows_follow_the_store_columns() -> None:
    faces = Faces(
        frame_index=10, time_s=0.5,
        boxes=np.array([[1, 2, 3, 40], [5, 6, 7, 8], [9, 10, 11, 50]], np.float32),
        scores=np.array([0.95, 0.99, 0.9], np.float32), landmarks=np.zeros((3, 5, 2), np.float32),
    ).with_track_ids(np.array([2, 1, 3]))
    emotions = np.eye(7, dtype=np.float32)[[3, 0, 6]]
    emotions[1] = np.nan  # not read
    empty = Faces(frame_index=11, time_s=1.0)
    rows = observation_rows(5, [read_faces(faces, emotions, [True, False, True]),
                                read_faces(empty, np.zeros((0, 7)), [])])
    assert list(rows.columns) == list(OBSERVATION_COLUMNS)
    assert rows["top_emotion"].fillna("-").tolist() == ["happy", "-", "neutral"]
    assert rows["readable"].tolist() == [True, False, True]
    assert rows[list(EMOTIONS)].iloc[1].isna().all()
    assert rows["face_height_px"].tolist() == [38, 2, 40]
    assert rows["track_id"].tolist() == [2, 1, 3] and (rows["video_id"] == 5).all()
    assert rows["student_id"].isna().all()
    assert observation_rows(5, [read_faces(empty, np.zeros((0, 7)), [])]).empty


def test_a_file_that_is_no_video_writes_nothing(tmp_path: Path, detector: MTCNNDetector,
                                                fer_model: EmotionModel) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with Store(tmp_path / "db.duckdb") as store:
        with pytest.raises(VideoError):
            analyse_video(bad, store, detector, fer_model)
        assert store.videos().empty


def test_a_video_without_faces_is_done_with_no_rows(
    tmp_path: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    video = write_video(tmp_path / "empty_room.mp4", gradient_frames(30), 10)
    done = analyse_into(tmp_path / "db.duckdb", video, detector, fer_model)
    assert (done.result.frames_sampled, done.result.faces, done.result.tracks) == (6, 0, 0)
    assert done.video["status"] == "done" and done.rows.empty


# -- the real videos ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_adults(tmp_path_factory: pytest.TempPathFactory, intel_classroom: Path,
                detector: MTCNNDetector, fer_model: EmotionModel) -> Analysed:
    """Every frame of the four-adults clip (45 frames at 15 fps)."""
    db = tmp_path_factory.mktemp("four_adults") / "lessons.duckdb"
    settings = AnalysisSettings(sample_fps=15, embedding_model="Dlib")
    return analyse_into(db, intel_classroom, detector, fer_model, settings)


@pytest.fixture(scope="module")
def cctv(tmp_path_factory: pytest.TempPathFactory, cctv_classroom: Path,
         detector: MTCNNDetector, fer_model: EmotionModel) -> Analysed:
    """The schoolchildren CCTV clip at the default two frames a second."""
    db = tmp_path_factory.mktemp("cctv") / "lessons.duckdb"
    return analyse_into(db, cctv_classroom, detector, fer_model)


@pytest.mark.real_data
def test_four_adults_are_four_tracks(four_adults: Analysed) -> None:
    result, rows = four_adults.result, four_adults.rows
    assert result.frames_sampled == 45
    assert result.tracks == 4
    assert result.faces == len(rows)
    faces_per_frame = rows.groupby("frame_index").size().reindex(range(45), fill_value=0)
    assert (faces_per_frame == 4).mean() >= 0.8, faces_per_frame.tolist()
    assert faces_per_frame.max() == 4
    assert sorted(rows["track_id"].unique()) == [1, 2, 3, 4]
    # each person stays in their seat: one track's boxes move little over 3 s
    centres = rows.assign(cx=(rows.x1 + rows.x2) / 2).groupby("track_id")["cx"]
    assert (centres.max() - centres.min()).max() < 30


@pytest.mark.real_data
def test_progress_runs_to_the_end(four_adults: Analysed) -> None:
    done = [p.frames_done for p in four_adults.progress]
    assert done == sorted(done) and done[-1] == 45
    assert four_adults.progress[-1].fraction == 1.0
    assert four_adults.progress[-1].faces == four_adults.result.faces


@pytest.mark.real_data
def test_cctv_observations_are_well_formed(cctv: Analysed) -> None:
    result, rows, video = cctv.result, cctv.rows, cctv.video
    assert result.frames_sampled == 22  # 10.95 s at two a second
    assert result.faces == len(rows) > 0
    assert rows["frame_index"].nunique() >= 11, "faces in at least half the sampled frames"
    # small children's faces: some read, some not; those not read have no reading at all
    assert result.readable_faces == rows["readable"].sum() > 0
    unread = rows[~rows["readable"]]
    assert unread[[*EMOTIONS, "top_emotion"]].isna().all().all()
    readable = ReadabilitySettings()
    assert (unread["face_height_px"] < readable.min_face_px).any()
    read = rows[rows["readable"]]
    assert (read["face_height_px"] >= readable.min_face_px).all()
    assert (read["pitch_deg"] <= readable.max_pitch_deg).all()
    assert (read["yaw_deg"].abs() <= readable.max_yaw_deg).all()
    np.testing.assert_allclose(rows["face_height_px"], rows.y2 - rows.y1, atol=1e-3)
    rows = read
    probabilities = rows[list(EMOTIONS)].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert (rows["top_emotion"] == np.asarray(EMOTIONS)[probabilities.argmax(axis=1)]).all()
    assert (rows.x1 >= 0).all() and (rows.y1 >= 0).all()
    assert (rows.x2 <= 640).all() and (rows.y2 <= 352).all()
    assert ((rows.x2 > rows.x1) & (rows.y2 > rows.y1)).all()
    assert (rows.detection_score >= MTCNNSettings().min_score).all()
    frames = rows.groupby("frame_index")["observed_at_s"].agg(["min", "max"])
    assert (frames["min"] == frames["max"]).all(), "one time per frame"
    assert frames["min"].is_monotonic_increasing and frames.index.is_monotonic_increasing
    assert frames["min"].diff().dropna().ge(0.5 - 1e-6).all(), "no closer than the sample rate"
    assert not rows.duplicated(["frame_index", "track_id"]).any()
    assert (video["status"], video["emotion_model"], video["fps"]) == ("done", "fer", 20.0)
    assert (video["width"], video["height"]) == (640, 352)
    assert json.loads(video["parameters"])["sample_fps"] == 2.0
    assert json.loads(video["parameters"])["readability"] == asdict(ReadabilitySettings())


@pytest.mark.real_data
def test_faces_that_cannot_be_read_are_counted_and_identified_but_not_read(
    tmp_path: Path, intel_classroom: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    counting = FailingModel(fer_model, fail_on=0)  # counts the model's calls, never fails
    settings = AnalysisSettings(sample_fps=2.0, embedding_model="Dlib", min_identity_px=12.0,
                                readability=ReadabilitySettings(min_face_px=4000))
    done = analyse_into(tmp_path / "db.duckdb", intel_classroom, detector, counting, settings)
    assert counting.calls == 0, "no face was shown to the emotion model"
    assert done.result.faces == len(done.rows) > 0 and done.result.readable_faces == 0
    assert done.result.tracks == 4 and done.result.students == 4
    assert done.rows["student_id"].notna().all(), "identified all the same"
    assert not done.rows["readable"].any()
    assert done.rows[[*EMOTIONS, "top_emotion"]].isna().all().all()
    assert (done.rows["face_height_px"] > 0).all() and done.rows["sharpness"].notna().all()
    stored = json.loads(done.video["parameters"])["readability"]
    assert ReadabilitySettings.from_json(stored) == settings.readability


@pytest.mark.real_data
def test_faces_too_small_to_identify_are_counted_but_nobody(
    tmp_path: Path, intel_classroom: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    """The four adults of this clip are under the 24 px identity needs: their faces are stored
    and read, but no student is made of them and no embedding is kept."""
    settings = AnalysisSettings(sample_fps=2.0, embedding_model="Dlib")
    done = analyse_into(tmp_path / "db.duckdb", intel_classroom, detector, fer_model, settings)
    assert done.rows["face_height_px"].max() < 24
    assert done.result.faces > 0 and done.result.tracks == 4
    assert done.result.students == 0 and done.result.faces_embedded == 0
    assert done.rows["student_id"].isna().all()


# -- re-analysis and failures --------------------------------------------------------------------


@pytest.mark.real_data
def test_analysing_twice_replaces_the_rows(
    tmp_path: Path, intel_classroom: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    db = tmp_path / "lessons.duckdb"
    first = analyse_into(db, intel_classroom, detector, fer_model)
    second = analyse_into(db, intel_classroom, detector, fer_model)
    assert second.result.video_id == first.result.video_id
    assert len(second.rows) == len(first.rows) > 0
    assert not second.rows.duplicated(["frame_index", "track_id"]).any()
    pd.testing.assert_frame_equal(second.rows, first.rows)  # same input, same model: same rows
    with Store(db, read_only=True) as store:
        assert len(store.videos()) == 1
        assert len(store.observations()) == len(first.rows)
    assert staged_rows(db) == 0


@pytest.fixture
def lesson_db(tmp_path: Path, intel_classroom: Path, detector: MTCNNDetector,
              fer_model: EmotionModel) -> tuple[Path, Analysed]:
    """A database holding one successfully analysed lesson."""
    db = tmp_path / "lessons.duckdb"
    return db, analyse_into(db, intel_classroom, detector, fer_model)


@pytest.mark.real_data
def test_a_truncated_video_fails_and_leaves_no_rows(
    tmp_path: Path, lesson_db: tuple[Path, Analysed], cctv_classroom: Path,
    detector: MTCNNDetector, fer_model: EmotionModel,
) -> None:
    db, earlier = lesson_db
    cut = truncated_copy(cctv_classroom, tmp_path / "cut.mp4")
    with Store(db) as store:
        with pytest.raises(VideoError, match="truncated"):
            analyse_video(cut, store, detector, fer_model, TWO_PER_SECOND)
        failed = store.videos().set_index("file_name").loc["cut.mp4"]
        assert failed["status"] == "failed"
        assert "cut.mp4: the file looks truncated" in failed["failure_reason"]
        assert store.observations(int(failed["video_id"])).empty
        pd.testing.assert_frame_equal(store.observations(earlier.result.video_id), earlier.rows)
        assert store.video(earlier.result.video_id)["status"] == "done"
    assert staged_rows(db) == 0


@pytest.mark.real_data
def test_a_model_failing_midway_keeps_the_earlier_analysis(
    lesson_db: tuple[Path, Analysed], intel_classroom: Path, cctv_classroom: Path,
    detector: MTCNNDetector, fer_model: EmotionModel,
) -> None:
    db, earlier = lesson_db
    # several batches staged first; every face read, so that every batch calls the model
    settings = AnalysisSettings(sample_fps=2.0, batch_frames=2, embedding_model="Dlib",
                                readability=READ_EVERY_FACE)
    with Store(db) as store:
        # a new lesson: marked failed, with the reason
        failing = FailingModel(fer_model, fail_on=3)
        with pytest.raises(RuntimeError, match="out of memory"):
            analyse_video(cctv_classroom, store, detector, failing, settings)
        assert failing.calls == 3
        new = store.videos().set_index("file_name").loc[cctv_classroom.name]
        assert new["status"] == "failed"
        assert new["failure_reason"] == (
            "analysis failed: RuntimeError: out of memory on the emotion model"
        )
        assert store.observations(int(new["video_id"])).empty
        # a re-analysis of the finished lesson: its earlier result stays, the failure is noted
        with pytest.raises(RuntimeError):
            analyse_video(intel_classroom, store, detector, FailingModel(fer_model, 2), settings)
        again = store.video(earlier.result.video_id)
        pd.testing.assert_frame_equal(store.observations(earlier.result.video_id), earlier.rows)
    assert again["status"] == "done" and "out of memory" in again["failure_reason"]
    assert again["frames_sampled"] == earlier.video["frames_sampled"]
    assert again["parameters"] == earlier.video["parameters"]
    assert staged_rows(db) == 0
