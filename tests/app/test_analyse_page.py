"""The Analyse page through AppTest, as a user drives it: lesson videos chosen in its file
uploader, queued, analysed by the real pipeline in the app's worker, and the results shown;
files that are no usable video (empty, not a video, cut short) each get their reason on the page
and change nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.env import without_network
from support.media import gradient_frames, truncated_copy, write_video
from support.pages import ANALYSE, button, run, texts

from emotion_core.analysis import jobs
from emotion_core.analysis.jobs import DONE, FAILED, Job, queue_for
from emotion_core.core.paths import upload_dir
from emotion_core.faces.readability import ReadabilitySettings
from emotion_core.store.store import DB_ENV_VAR
from ui.frame import plain

pytestmark = pytest.mark.real_data

LESSON = "Lesson 3 (7B).mp4"  # the real four-adults clip, 3 s
LESSON_DATE = date(2026, 9, 14)
GROUP = "7B"
# what the app must say of each file that is no usable video (after "<name>: ")
UNUSABLE = {
    "empty.mp4": "the file is empty (0 bytes)",
    "lesson_notes.mp4": "not a readable video file (",
    # half a video whose index was to come at the end, as most cameras write it: nothing opens
    "download_cut_short.mp4": "not a readable video file (",
    # half a video with its index up front: it opens, is registered, and fails part-way
    "stream_cut_short.mp4": "the file looks truncated",
}
UPLOADED = (LESSON, *UNUSABLE)  # chosen together, in this order


def cut_short(folder: Path, name: str, faststart: bool) -> bytes:
    whole = write_video(folder / f"whole-{name}", gradient_frames(40, 96, 128), 10,
                        faststart=faststart)
    return truncated_copy(whole, folder / name).read_bytes()


def uploads(folder: Path, lesson: Path) -> list[tuple[str, bytes, str]]:
    """The files the user picks: (name, content, type) as a browser sends them."""
    contents = {
        LESSON: lesson.read_bytes(),
        "empty.mp4": b"",
        "lesson_notes.mp4": b"Minutes of the staff meeting. Not moving pictures.\n" * 40,
        "download_cut_short.mp4": cut_short(folder, "download_cut_short.mp4", faststart=False),
        "stream_cut_short.mp4": cut_short(folder, "stream_cut_short.mp4", faststart=True),
    }
    return [(name, contents[name], "video/mp4") for name in UPLOADED]


@dataclass(frozen=True)
class PageRun:
    db: Path
    waiting: list[str]  # the progress texts drawn right after "Analyse", the worker held
    jobs: dict[str, Job]  # by the name uploaded, finished
    page: AppTest  # drawn again once every job had finished


@pytest.fixture(scope="module")
def page_run(tmp_path_factory: pytest.TempPathFactory, intel_classroom: Path,
             deepface_home: Path) -> Iterator[PageRun]:
    root = tmp_path_factory.mktemp("analyse_page")
    db = root / "school" / "classroom.duckdb"
    files = uploads(root, intel_classroom)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DB_ENV_VAR, str(db))
        without_network(patch)  # the page analyses with "auto": the offline defaults here
        app = run(ANALYSE)
        app.file_uploader[0].set_value(files)
        next(t for t in app.text_input if t.label == "Class or group").set_value(GROUP)
        next(d for d in app.date_input if d.label == "Lesson date").set_value(LESSON_DATE)
        # as when another lesson is being analysed in this process: every upload waits its turn
        with jobs._ONE_ANALYSIS_AT_A_TIME:
            button(app, "Analyse").click().run()
            assert not app.exception, [e.message for e in app.exception]
            waiting = [p.text for p in app.progress]
        queue = queue_for(db)
        finished = {job.name: queue.wait(job.job_id, timeout_s=600) for job in queue.jobs()}
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        yield PageRun(db, waiting, finished, app)


def test_every_upload_is_queued_in_the_order_chosen(page_run: PageRun) -> None:
    assert list(page_run.jobs) == list(UPLOADED)
    # newest first, each saying how many are ahead of it
    assert page_run.waiting == [f"{plain(name)}: waiting for {ahead} analysis(es) ahead of it"
                                for ahead, name in reversed(list(enumerate(UPLOADED)))]
    for job in page_run.jobs.values():
        assert (job.class_group, job.recorded_on) == (GROUP, LESSON_DATE)
        assert job.settings.sample_fps == 2.0  # the slider's default
        assert job.settings.readability == ReadabilitySettings()  # the form's defaults
        assert job.video_path.parent == upload_dir(page_run.db)


def test_the_lesson_is_analysed_and_shown(page_run: PageRun) -> None:
    job = page_run.jobs[LESSON]
    assert job.status == DONE, job.error
    result = job.result
    assert result is not None and result.frames_sampled == 6 and result.tracks == 4
    assert result.emotion_model == "classroom", "the offline default"
    shown = texts(page_run.page.success)
    assert (f"**{plain(LESSON)}**: done: {result.faces} faces in 6 frames "
            f"({result.readable_faces} readable), 4 tracks, analysed in") in shown
    lessons = page_run.page.dataframe[-1].value
    assert lessons[["file_name", "class_group", "lesson_date", "tracks"]].values.tolist() == [
        [LESSON, GROUP, LESSON_DATE, 4]]
    # what the machine saw: frames read again from the uploaded copy, with the faces drawn
    assert page_run.page.selectbox[0].label == "Lesson"
    captions = [c for image in page_run.page.image for c in image.captions]
    assert captions and all(c.startswith(LESSON) for c in captions)


def test_each_unusable_file_gets_its_reason_on_the_page(page_run: PageRun) -> None:
    shown = [str(e.value) for e in page_run.page.error]
    for name, message in UNUSABLE.items():
        job = page_run.jobs[name]
        assert job.status == FAILED, name
        assert job.error is not None and job.error.startswith(f"{name}: {message}"), job.error
        assert f"**{plain(name)}**: not analysed: {plain(job.error)}" in shown
    # the one that got as far as the database is listed with its reason, after a restart too
    expanders = [e.label for e in page_run.page.expander]
    assert "Videos that could not be analysed (1)" in expanders
    failed = page_run.page.dataframe[0].value
    assert failed["file_name"].tolist() == ["stream_cut_short.mp4"]


def test_unusable_files_store_nothing_but_the_failure(page_run: PageRun) -> None:
    store = queue_for(page_run.db).store  # the app's own: this process holds the file open
    videos = store.videos().set_index("file_name")["status"].to_dict()
    observations = store.observations()
    assert videos == {LESSON: DONE, "stream_cut_short.mp4": FAILED}
    assert set(observations["video_id"]) == {page_run.jobs[LESSON].video_id}
