"""Re-identification floors of the offline embedding model on real photos of the same people
taken on different occasions (issue 24).

The photos are ../shared/data/faces/lfw_identity_dev's (600 people, 2 to 5 news photos each):
every 6th person in name order (100 people, 328 photos). Each photo goes through the app's path:
the default detector, the largest face, the Dlib embedder's own chips and embedding. Every pair
of photos is compared by cosine distance, single photos against single photos, as
ENVIRONMENT.md and BENCHMARKS.md ("Accuracy floors in the tests") measured them on the whole
set. The floors sit a few points under what was measured on exactly these photos (one
same-person pair is 0.002 here).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from support.env import SHARED_DATA

from emotion_core.core.types import Frame
from emotion_core.evaluation.photos import load_rgb
from emotion_core.evaluation.runner import main_face
from emotion_core.faces.detector import FaceDetector
from emotion_core.identity.embedders import FaceEmbedder, cosine_distances

pytestmark = pytest.mark.real_data

LFW_IDENTITY = SHARED_DATA / "faces" / "lfw_identity_dev"
EVERY_PERSON = 6
FOUND_FLOOR = 0.98  # measured 328 of 328 photos with a face
# at the app's cross-lesson distance for full-size faces (0.0688, identity/thresholds.py; each
# chip averaged with its mirror): measured 0.953 of same-person pairs, 0.00079 of
# different-person pairs (0.936 and 0.00099 on the whole set, BENCHMARKS.md)
ACCEPTED_AT_APP_DISTANCE_FLOOR = 0.92
FALSE_AT_APP_DISTANCE_CEILING = 0.0015
# at the distance where one different-person pair in 1,000 is taken for the same person
# (measured 0.0701 here, 0.0688 on the whole set): measured 0.960
FALSE_ACCEPT_RATE = 0.001
ACCEPTED_AT_FIXED_FALSE_RATE_FLOOR = 0.92


@dataclass(frozen=True)
class Pairs:
    """Cosine distances of every pair of embedded photos, split by whether they share a person."""

    same: np.ndarray
    different: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray, people: np.ndarray) -> Pairs:
        distances = cosine_distances(vectors, vectors)
        same = people[:, None] == people[None, :]
        upper = np.triu(np.ones_like(same), 1)  # each pair once, no photo with itself
        return cls(distances[upper & same], distances[upper & ~same])


def photos_of_every_kth_person(folder: Path, every: int) -> list[tuple[Path, str]]:
    with (folder / "labels.csv").open(newline="") as fh:
        rows = [(folder / row["path"], row["subject"]) for row in csv.DictReader(fh)]
    kept = set(sorted({person for _, person in rows})[::every])
    return sorted(row for row in rows if row[1] in kept)


@pytest.fixture(scope="module")
def identity_dir() -> Path:
    if not (LFW_IDENTITY / "labels.csv").is_file():
        pytest.skip(f"lfw_identity_dev not found at {LFW_IDENTITY} "
                    "(the shared test data is not on this machine)")
    return LFW_IDENTITY


@pytest.fixture(scope="module")
def embedded(
    identity_dir: Path, detector: FaceDetector, dlib_embedder: FaceEmbedder
) -> tuple[np.ndarray, np.ndarray, int]:
    """Embeddings (N, D) and person (N,) of the photos with a face, and the number of photos."""
    photos = photos_of_every_kth_person(identity_dir, EVERY_PERSON)
    chips, people = [], []
    for index, (path, person) in enumerate(photos):
        image = load_rgb(path)
        assert image is not None, path
        faces = detector.detect([Frame(index, 0.0, image)])[0]
        if len(faces):
            chips.append(dlib_embedder.chips(image, main_face(faces))[0])
            people.append(person)
    return dlib_embedder.embed(np.stack(chips)), np.array(people), len(photos)


def test_a_face_is_found_in_nearly_every_photo(
    embedded: tuple[np.ndarray, np.ndarray, int],
) -> None:
    vectors, _, photos = embedded
    assert len(vectors) / photos >= FOUND_FLOOR, f"a face in {len(vectors)} of {photos} photos"


def test_same_person_pairs_accepted_at_the_apps_distance(
    embedded: tuple[np.ndarray, np.ndarray, int], dlib_embedder: FaceEmbedder
) -> None:
    pairs = Pairs.of(*embedded[:2])
    distance = dlib_embedder.thresholds.across_lessons
    accepted, false = (pairs.same < distance).mean(), (pairs.different < distance).mean()
    measured = (f"at distance {distance}: {accepted:.3f} of {len(pairs.same)} same-person pairs "
                f"accepted, {false:.5f} of {len(pairs.different)} different-person pairs")
    print(measured)
    assert accepted >= ACCEPTED_AT_APP_DISTANCE_FLOOR, measured
    assert false <= FALSE_AT_APP_DISTANCE_CEILING, measured


def test_same_person_pairs_accepted_at_one_false_match_in_a_thousand(
    embedded: tuple[np.ndarray, np.ndarray, int],
) -> None:
    pairs = Pairs.of(*embedded[:2])
    distance = float(np.quantile(pairs.different, FALSE_ACCEPT_RATE))
    accepted = (pairs.same < distance).mean()
    measured = (f"false-accept rate {FALSE_ACCEPT_RATE} at distance {distance:.4f}: "
                f"{accepted:.3f} of {len(pairs.same)} same-person pairs accepted")
    print(measured)
    assert accepted >= ACCEPTED_AT_FIXED_FALSE_RATE_FLOOR, measured
