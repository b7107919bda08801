"""The migration to readable faces (schema 6) on a database the release before it left: every
row kept, every old face readable, and new lessons with faces that could not be read beside them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.store_rows import (
    PRE_READABILITY_COLUMNS,
    lesson_of_schema_5,
    observations,
    record,
    summary,
)

from emotion_core.analysis.readable_share import readable_share
from emotion_core.core.labels import EMOTIONS
from emotion_core.store import queries
from emotion_core.store.schema import OBSERVATION_COLUMNS, SCHEMA_VERSION
from emotion_core.store.store import Store

MEASURES = ["face_height_px", "yaw_deg", "pitch_deg", "sharpness"]


@pytest.fixture
def migrated(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "old.duckdb"
    assert SCHEMA_VERSION == 6, "this test is about migration 6: the previous schema is 5"
    return path, lesson_of_schema_5(path)


def test_old_rows_are_all_kept_and_count_as_readable(migrated: tuple[Path, pd.DataFrame]) -> None:
    path, written = migrated
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        rows = store.observations()
        assert list(rows.columns) == list(OBSERVATION_COLUMNS)
        assert len(rows) == len(written) == 12
        pd.testing.assert_frame_equal(
            rows[list(PRE_READABILITY_COLUMNS)].reset_index(drop=True),
            written.sort_values(["video_id", "frame_index", "track_id"]).reset_index(drop=True),
            check_dtype=False,
        )
        assert rows["readable"].all()
        assert rows[MEASURES].isna().all().all(), "measured by no one: unknown"
        # the app's figures: every old face read, the mood index as before
        lesson = queries.lessons(store).iloc[0]
        assert lesson["observations"] == lesson["readable_faces"] == 12
        expected = (written["happy"] - written[["angry", "disgust", "fear", "sad"]].sum(axis=1))
        assert lesson["mood_index"] == pytest.approx(expected.mean(), abs=1e-6)
        share = readable_share(store)
        assert (share.faces, share.readable, share.settings) == (12, 12, None)
        assert share.describe().startswith("12 of 12 faces readable: these lessons were "
                                           "analysed before faces were checked")
        assert share.advice() is None
        assert len(store.alert_observations(1, ["observed_at_s", "student_id", "happy"])) == 12
        assert len(queries.student_profiles(store)) == 4


def test_a_new_lesson_with_unreadable_faces_lands_beside_the_old_one(
    migrated: tuple[Path, pd.DataFrame],
) -> None:
    path, _ = migrated
    with Store(path) as store:
        video_id = store.begin_analysis(record("new.mp4", "b" * 64), {
            "sample_fps": 2.0, "readability": {"min_face_px": 20.0, "max_yaw_deg": 40.0,
                                               "max_pitch_deg": 30.0}})
        rows = observations(video_id, 2, 3, seed=2)
        small = rows["track_id"] != 1  # two of three children too far away to read
        rows.loc[small, [*EMOTIONS, "top_emotion"]] = None
        rows.loc[small, ["face_height_px", "readable"]] = [12.0, False]
        store.stage_observations(rows)
        store.finish_analysis(video_id, summary(2, len(rows), 3))
        stored = store.observations(video_id)
        assert (~stored["readable"]).sum() == 4
        assert stored.loc[~stored["readable"], list(EMOTIONS)].isna().all().all()
        lessons = queries.lessons(store).set_index("file_name")
        assert lessons.loc["new.mp4", ["observations", "readable_faces"]].tolist() == [6, 2]
        read = rows[~small]
        assert lessons.loc["new.mp4", "happy"] == pytest.approx(read["happy"].mean(), abs=1e-6)
        share = readable_share(store, [video_id])
        assert share.describe() == (
            "2 of 6 faces readable: faces under 20 px, turned more than 40°, looking down more "
            "than 30° or blurred are not read")
        assert share.advice() == ("Fewer than half of the faces could be read: a camera closer "
                                  "to the class or a higher resolution would let more faces be "
                                  "read.")
        both = readable_share(store)
        assert (both.faces, both.readable, both.same_settings) == (18, 14, False)
        assert np.isclose(both.share, 14 / 18)
