"""Tests for benchmarks/compose_classroom.py (needs the shared JAFFE photos and YuNet weights)."""

from __future__ import annotations

import csv
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.compose_classroom import (
    DEFAULT_FACES,
    DEFAULT_YUNET,
    EMOTIONS,
    TRUTH_COLUMNS,
    ComposedVideo,
    FrameRenderer,
    _pick_subjects,
    build_absence_schedule,
    build_expression_schedule,
    compose_classroom,
    load_face_photos,
    main,
    plan_classroom,
    render_background,
)

needs_data = pytest.mark.skipif(
    not (DEFAULT_FACES / "labels.csv").is_file() or not DEFAULT_YUNET.is_file(),
    reason=f"JAFFE faces ({DEFAULT_FACES}) or YuNet weights ({DEFAULT_YUNET}) not available",
)

SIZE = (960, 540)
FPS = 5
DURATION = 4.0
PEOPLE = 4
N_FRAMES = int(DURATION * FPS)


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> ComposedVideo:
    out = tmp_path_factory.mktemp("classroom") / "short.mp4"
    return compose_classroom(out, seed=3, duration_s=DURATION, fps=FPS, size=SIZE, people=PEOPLE)


@pytest.fixture(scope="module")
def truth(composed: ComposedVideo) -> list[dict[str, str]]:
    with composed.truth_csv.open(newline="") as fh:
        return list(csv.DictReader(fh))


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@needs_data
def test_video_decodes_with_expected_frames_and_size(composed: ComposedVideo) -> None:
    frames = decode_frames(composed.video_path)
    assert len(frames) == N_FRAMES
    assert all(f.shape == (SIZE[1], SIZE[0], 3) for f in frames)
    with av.open(str(composed.video_path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.average_rate == FPS


@needs_data
def test_truth_rows_are_well_formed(composed: ComposedVideo, truth: list[dict[str, str]]) -> None:
    assert list(truth[0].keys()) == list(TRUTH_COLUMNS)
    frames = {int(r["frame_index"]) for r in truth}
    assert len(frames) > N_FRAMES // 2
    people = {r["person"] for r in truth}
    assert len(people) == PEOPLE
    for r in truth:
        i = int(r["frame_index"])
        assert 0 <= i < N_FRAMES
        assert float(r["time_s"]) == pytest.approx(i / FPS)
        assert r["emotion"] in EMOTIONS
        x1, y1, x2, y2 = (float(r[k]) for k in ("x1", "y1", "x2", "y2"))
        assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1]
    # one row per person per frame at most
    assert len({(r["frame_index"], r["person"]) for r in truth}) == len(truth)


@needs_data
def test_face_widths_follow_seats(composed: ComposedVideo, truth: list[dict[str, str]]) -> None:
    meta = json.loads(composed.truth_json.read_text())
    expected = {p["person"]: p["face_width"] for p in meta["people"]}
    assert sorted(expected.values()) == pytest.approx(list(np.linspace(20, 120, PEOPLE)), abs=0.01)
    for r in truth:
        assert float(r["x2"]) - float(r["x1"]) == pytest.approx(expected[r["person"]], abs=0.05)
    boxes = defaultdict(set)
    for r in truth:
        boxes[r["person"]].add((r["x1"], r["y1"]))
    assert all(len(b) > 1 for b in boxes.values()), "faces should sway"


@needs_data
def test_every_person_is_absent_somewhere_but_room_never_empty(truth: list[dict[str, str]]) -> None:
    present = defaultdict(set)
    for r in truth:
        present[r["person"]].add(int(r["frame_index"]))
    for person, frames in present.items():
        assert len(frames) < N_FRAMES, f"{person} never leaves"
    for i in range(N_FRAMES):
        assert any(i in f for f in present.values()), f"nobody visible in frame {i}"


@needs_data
def test_faces_are_really_pasted(composed: ComposedVideo, truth: list[dict[str, str]]) -> None:
    frames = decode_frames(composed.video_path)
    background = render_background(SIZE, seed=3).astype(np.float32)
    for r in truth[:: max(1, len(truth) // 15)]:
        frame = frames[int(r["frame_index"])].astype(np.float32)
        x1, y1 = int(float(r["x1"])) + 1, int(float(r["y1"])) + 1
        x2, y2 = int(float(r["x2"])), int(float(r["y2"]))
        diff = np.abs(frame[y1:y2, x1:x2] - background[y1:y2, x1:x2]).mean()
        assert diff > 15, f"no face in {r}"
    # far from every face the frame is the background (up to compression)
    assert np.abs(frames[0][:40, :40].astype(np.float32) - background[:40, :40]).mean() < 6


@needs_data
def test_metadata(composed: ComposedVideo) -> None:
    meta = json.loads(composed.truth_json.read_text())
    for key in (
        "fps",
        "width",
        "height",
        "n_frames",
        "duration_s",
        "seed",
        "faces_dir",
        "people",
        "note",
    ):
        assert key in meta
    assert (meta["fps"], meta["width"], meta["height"], meta["n_frames"]) == (FPS, *SIZE, N_FRAMES)
    assert "JAFFE" in meta["note"] and "publish" in meta["note"]
    assert composed.n_frames == N_FRAMES and composed.size == SIZE


@needs_data
def test_expression_schedule_switches_emotion() -> None:
    photos = load_face_photos(DEFAULT_FACES, ["KA"])["KA"]
    fps, n_frames = 10, 300
    segments = build_expression_schedule(photos, n_frames, fps, np.random.default_rng(0))
    assert segments[0].start == 0 and segments[-1].end == n_frames
    for a, b in itertools.pairwise(segments):
        assert a.end == b.start
        assert a.emotion != b.emotion
        assert 2 * fps <= a.end - a.start <= 5 * fps
    assert {s.emotion for s in segments} == set(EMOTIONS)
    assert all(photos[s.photo].emotion == s.emotion for s in segments)


@needs_data
def test_absence_schedule_is_staggered() -> None:
    fps, n_frames, n = 10, 300, 10
    absences = build_absence_schedule(n, n_frames, fps, np.random.default_rng(1))
    count = np.zeros(n_frames, int)
    for start, end in absences:
        assert 1 * fps <= end - start <= 4 * fps
        count[start:end] += 1
    assert count.max() < n


@needs_data
def test_seat_permutation_and_crossing() -> None:
    kw = {"seed": 5, "duration_s": 6.0, "fps": 5, "size": SIZE, "people": 5}
    base = plan_classroom(**kw)
    moved = plan_classroom(**kw, seat_permutation_seed=1)
    assert [p.person for p in base.people] == [p.person for p in moved.people]
    assert {p.seat for p in base.people} == {p.seat for p in moved.people}
    assert [p.seat for p in base.people] != [p.seat for p in moved.people]

    cross = plan_classroom(**kw, crossing=True)
    cr = cross.crossing
    assert cr is not None
    renderer = FrameRenderer(cross)
    for k, other in ((cr.front, cr.back), (cr.back, cr.front)):
        person = cross.people[k]
        # everyone leaves the room once: look at a frame before the crossing and one after it
        # in which this person is in the room (an absence is shorter than either stretch)
        before = [f for f in range(cr.start) if not person.is_absent(f)]
        after = [f for f in range(cr.end, cross.n_frames) if not person.is_absent(f)]
        assert before and after, (person.absences, cr)
        for frame, seat in ((before[0], person.seat), (after[-1], cross.people[other].seat)):
            _, faces = renderer.render(frame)
            seen_at = {s.person: s.cx for s, _ in faces}
            assert k in seen_at, f"person {k} is not drawn in frame {frame}"
            assert seen_at[k] == pytest.approx(seat.cx, abs=6)


def test_cli_missing_faces_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--out", str(tmp_path / "x.mp4"), "--faces", str(tmp_path / "nope")])
    assert code == 2
    assert "faces folder" in capsys.readouterr().err


def test_a_crowded_room_seats_each_subject_at_most_twice() -> None:
    photos = {s: [] for s in ("KA", "KL", "KM")}
    assert _pick_subjects(photos, None) == ["KA", "KL", "KM"]
    assert _pick_subjects(photos, 2) == ["KA", "KL"]
    assert _pick_subjects(photos, 5) == ["KA", "KL", "KM", "KA", "KL"]
    with pytest.raises(ValueError, match="people must be in 1..6"):
        _pick_subjects(photos, 7)
