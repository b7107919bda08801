"""Tests for benchmarks/detection_real.py: matching and counting by size and occlusion on
hand-made boxes, the tuning/confirming split, and a folder read as wider_dev is laid out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.detection_real import (
    PhotoTruth,
    Tally,
    read_truth,
    split,
    summary,
    tally_photo,
    with_overrides,
)
from emotion_core.faces.yunet import YuNetSettings


def truth(boxes: list[tuple[float, float, float, float]], invalid: list[bool] | None = None,
          occlusion: list[int] | None = None, image: str = "e/a.jpg") -> PhotoTruth:
    """A photo's truth from x, y, w, h boxes."""
    xywh = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return PhotoTruth(
        image=image, event=image.split("/")[0],
        boxes=np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1),
        invalid=np.array(invalid or [False] * len(xywh)),
        occlusion=np.array(occlusion or [0] * len(xywh)),
    )


def xyxy(*boxes: tuple[float, float, float, float]) -> np.ndarray:
    return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def test_faces_are_counted_by_height_and_found_at_iou_half() -> None:
    photo = truth([(0, 0, 10, 15), (100, 0, 25, 30), (200, 0, 50, 60), (300, 0, 90, 100)])
    detections = xyxy(
        (0, 0, 10, 15),  # the 15-px face, exactly
        (100, 0, 125, 30),  # the 30-px face, exactly
        (220, 20, 270, 80),  # the 60-px face shifted by 20 px: IoU 0.29, not found
        (300, 0, 390, 100),  # the 100-px face
        (600, 600, 650, 650),  # nothing there
    )
    tally = Tally()
    tally_photo(tally, photo, detections, 0.5)
    result = summary(tally)
    assert result["recall_by_height"] == {"<20": 1.0, "20-40": 1.0, "40-80": 0.0, ">=80": 1.0}
    assert result["faces_by_height"] == {"<20": 1, "20-40": 1, "40-80": 1, ">=80": 1}
    # 20 px and more: 2 of 3
    assert (result["recall_min_height"], result["faces_min_height"]) == (0.6667, 3)
    assert (result["detections"], result["unmatched"]) == (5, 2)
    assert result["unmatched_share"] == 0.4


def test_a_face_twenty_px_high_counts_as_twenty_and_over() -> None:
    tally = Tally()
    tally_photo(tally, truth([(0, 0, 18, 20), (50, 0, 18, 19.9)]), xyxy(), 0.5)
    result = summary(tally)
    assert result["faces_by_height"]["20-40"] == 1 and result["faces_by_height"]["<20"] == 1
    assert result["recall_min_height"] == 0.0


def test_invalid_faces_count_neither_way_and_their_detections_are_not_unmatched() -> None:
    photo = truth([(0, 0, 30, 30), (100, 0, 30, 30)], invalid=[False, True])
    tally = Tally()
    tally_photo(tally, photo, xyxy((100, 0, 130, 30)), 0.5)
    result = summary(tally)
    assert result["faces_min_height"] == 1 and result["recall_min_height"] == 0.0
    assert result["unmatched"] == 0


def test_one_detection_finds_one_face_only() -> None:
    photo = truth([(0, 0, 30, 30), (2, 0, 30, 30)])  # two boxes on top of each other
    tally = Tally()
    tally_photo(tally, photo, xyxy((1, 0, 31, 30)), 0.5)
    assert summary(tally)["recall_min_height"] == 0.5


def test_occlusion_is_counted_over_faces_of_twenty_px_and_more() -> None:
    photo = truth([(0, 0, 30, 30), (50, 0, 30, 30), (100, 0, 30, 30), (200, 0, 10, 10)],
                  occlusion=[0, 1, 2, 2])
    tally = Tally()
    tally_photo(tally, photo, xyxy((0, 0, 30, 30), (100, 0, 130, 30), (200, 0, 210, 10)), 0.5)
    result = summary(tally)
    assert result["recall_by_occlusion"] == {"none": 1.0, "partial": 0.0, "heavy": 1.0}
    assert result["faces_by_occlusion"] == {"none": 1, "partial": 1, "heavy": 1}


def test_tallies_add_up_over_photos_and_empty_buckets_say_none() -> None:
    tally = Tally()
    tally_photo(tally, truth([(0, 0, 30, 30)]), xyxy((0, 0, 30, 30)), 0.5)
    tally_photo(tally, truth([(0, 0, 30, 30)]), xyxy(), 0.5)
    result = summary(tally)
    assert result["recall_by_height"]["20-40"] == 0.5
    assert result["recall_by_height"]["<20"] is None
    assert summary(Tally())["unmatched_share"] is None


def test_the_split_halves_each_event_the_same_way_every_time() -> None:
    photos = [truth([(0, 0, 30, 30)], image=f"{event}/{i:02d}.jpg")
              for event in ("a", "b") for i in range(10)]
    tune, confirm = split(photos, "tune"), split(photos, "confirm")
    assert {p.image for p in tune} | {p.image for p in confirm} == {p.image for p in photos}
    assert not {p.image for p in tune} & {p.image for p in confirm}
    assert [sum(p.event == e for p in tune) for e in "ab"] == [5, 5]
    assert [p.image for p in split(photos, "tune")] == [p.image for p in tune]
    assert split(photos, "all") == photos


def test_a_folder_laid_out_like_wider_dev_is_read(tmp_path: Path) -> None:
    (tmp_path / "gt.csv").write_text(
        "event,image,img_w,img_h,x,y,w,h,invalid,occlusion,blur,expression,illumination,pose\n"
        "1--A,1--A/b.jpg,100,100,10,20,30,40,0,1,0,0,0,0\n"
        "1--A,1--A/a.jpg,100,100,0,0,5,5,1,0,0,0,0,0\n"
        "1--A,1--A/b.jpg,100,100,50,50,10,10,0,2,0,0,0,0\n"
    )
    photos = read_truth(tmp_path)
    assert [p.image for p in photos] == ["1--A/a.jpg", "1--A/b.jpg"]
    b = photos[1]
    np.testing.assert_array_equal(b.boxes, [[10, 20, 40, 60], [50, 50, 60, 60]])
    assert b.occlusion.tolist() == [1, 2] and b.invalid.tolist() == [False, False]
    assert photos[0].invalid.tolist() == [True]


def test_settings_are_overridden_by_name_and_type() -> None:
    settings = with_overrides(YuNetSettings(), ["min_score=0.5", "mirror=false"])
    assert settings.min_score == 0.5 and settings.mirror is False
    with pytest.raises(SystemExit, match="no setting 'threshold'"):
        with_overrides(YuNetSettings(), ["threshold=0.5"])
