"""Accuracy floors of the offline emotion models on real labelled photos (issue 24).

Each model is measured as the ``evaluate`` command measures it (``evaluation.runner.evaluate``
on ``evaluation.photos.read_labels``), on JAFFE (all 213 posed photos) and on fixed subsets of
the in-the-wild sets: every k-th photo in path order, so every run reads the same faces. The
floors sit a few points under what was measured on exactly these photos (BENCHMARKS.md,
"Accuracy floors in the tests"): MTCNN's landmarks move by a few pixels from run to run, which
turns a photo or two (one JAFFE photo is 0.005), while a real regression costs more than that.

Detection does not depend on the emotion model, so one detector's answers are shared by all the
models of a set (``SharedDetector``): the models are not each charged for MTCNN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from support.env import SHARED_DATA

from emotion_core.core.types import Faces, Frame
from emotion_core.evaluation.photos import LabelledPhoto, read_labels
from emotion_core.evaluation.runner import EvaluationReport, evaluate
from emotion_core.faces.detector import FaceDetector

pytestmark = pytest.mark.real_data

FACES = SHARED_DATA / "faces"


@dataclass(frozen=True)
class PhotoSet:
    """A labelled set in ../shared/data/faces, read as every ``every``-th photo in path order."""

    folder: str
    every: int

    def photos(self) -> list[LabelledPhoto]:
        labels = FACES / self.folder / "labels.csv"
        if not labels.is_file():
            pytest.skip(f"{self.folder} not found at {labels} "
                        "(the shared test data is not on this machine)")
        return sorted(read_labels(labels), key=lambda p: str(p.path))[:: self.every]


JAFFE = PhotoSet("jaffe", every=1)  # 213 photos
LFW = PhotoSet("lfw_emotion_dev", every=3)  # 403 of 1,208 photos
EXPW = PhotoSet("expw_dev", every=10)  # 431 of 4,305 faces

# (set, model) -> (accuracy floor, macro-F1 floor), each about 3 points under what was measured
# on exactly these photos (in the comments). lfw's subset holds only 3 fear photos, so its
# macro-F1 moves more from run to run than its accuracy; JAFFE is balanced.
FLOORS: dict[tuple[PhotoSet, str], tuple[float, float]] = {
    (JAFFE, "fer+classroom"): (0.51, 0.47),  # 0.549 / 0.507 (0.540 / 0.504 before issue 18)
    (JAFFE, "fer"): (0.45, 0.40),  # 0.484 / 0.431
    (JAFFE, "classroom"): (0.52, 0.47),  # 0.554 / 0.508, the offline default (issue 18)
    (LFW, "fer+classroom"): (0.42, 0.31),  # 0.499 / 0.395 (0.452 / 0.345 before issue 18)
    (LFW, "fer"): (0.39, 0.29),  # 0.427 / 0.328
    (LFW, "classroom"): (0.43, 0.34),  # 0.462 / 0.375 (0.412 / 0.315 before issue 18)
    # the other two models on this subset: fer 0.302 / 0.263 (classroom before issue 18: 0.348 / 0.328)
    (EXPW, "fer+classroom"): (0.32, 0.29),  # 0.404 / 0.383 (0.355 / 0.328 before issue 18)
    # classroom has trained on four in five of these photos since issue 18 (the held-out fifth is
    # measured by benchmarks/low_resolution.py): this floor guards against a regression only
    (EXPW, "classroom"): (0.40, 0.40),  # 0.441 / 0.439
}


class SharedDetector:
    """A detector that remembers its answers by the bytes of each image, so that every model
    evaluated on a set gets the very faces the first one got, and MTCNN runs once per photo."""

    def __init__(self, inner: FaceDetector) -> None:
        self.inner = inner
        self.name, self.description = inner.name, inner.description
        self._found: dict[str, Faces] = {}

    def detect(self, frames: Sequence[Frame]) -> list[Faces]:
        keys = [hashlib.sha1(f.image.tobytes()).hexdigest() + str(f.image.shape) for f in frames]
        new = [i for i, key in enumerate(keys) if key not in self._found]
        for i, faces in zip(new, self.inner.detect([frames[i] for i in new])):
            self._found[keys[i]] = faces
        return [
            Faces(f.index, f.time_s, found.boxes, found.scores, found.landmarks)
            for f, found in ((f, self._found[key]) for f, key in zip(frames, keys))
        ]


class Reports:
    """Each (set, model) evaluated once, on first use, with one shared detector."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = SharedDetector(detector)
        self._reports: dict[tuple[PhotoSet, str], EvaluationReport] = {}

    def of(self, photo_set: PhotoSet, model_name: str) -> EvaluationReport:
        from emotion_core.analysis.models import load_emotion_model

        key = (photo_set, model_name)
        if key not in self._reports:
            model = load_emotion_model(model_name)
            self._reports[key] = evaluate(model, self.detector, photo_set.photos())
        return self._reports[key]


@pytest.fixture(scope="module")
def reports(detector: FaceDetector) -> Reports:
    return Reports(detector)


@pytest.mark.parametrize(
    ("photo_set", "model_name"), list(FLOORS), ids=[f"{s.folder}-{m}" for s, m in FLOORS]
)
def test_emotion_accuracy_stays_above_its_floor(
    photo_set: PhotoSet, model_name: str, reports: Reports
) -> None:
    report = reports.of(photo_set, model_name)
    accuracy_floor, macro_f1_floor = FLOORS[(photo_set, model_name)]
    measured = (f"{model_name} on {photo_set.folder} (every {photo_set.every}): {report.n} faces, "
                f"accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}, "
                f"no face {report.no_face}, read whole {report.whole_photo}")
    print(measured)
    assert report.unreadable == 0, measured
    assert report.accuracy >= accuracy_floor, measured
    assert report.macro_f1 >= macro_f1_floor, measured


def test_the_offline_default_and_every_offline_backend_have_floors() -> None:
    from emotion_core.analysis.models import (
        EMOTION_BACKENDS,
        EMOTION_ENSEMBLES,
        OFFLINE_DEFAULT_EMOTION_MODEL,
    )

    offline = {*EMOTION_BACKENDS, *EMOTION_ENSEMBLES} - {"deepface"}  # DeepFace's weights: none
    for photo_set in (JAFFE, LFW):
        assert {m for s, m in FLOORS if s == photo_set} == offline, photo_set.folder
    assert (EXPW, OFFLINE_DEFAULT_EMOTION_MODEL) in FLOORS
