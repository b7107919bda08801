"""Re-identification on real photos: is the same person known on another day, at classroom sizes?

What it measures
----------------
Photos of the same people taken on different occasions (a CSV with ``path`` and ``subject``,
paths relative to it; ``lfw_identity_dev`` by default), through exactly the app's path: the
pipeline's face detector on the whole photo (the face nearest the photo's centre is the
subject's), the embedding model's own chip (``--alignment dlib``: dlib's 5-point predictor in
the detector's box, then ``get_face_chip``; ``landmarks``: a similarity transform from the
detector's five landmarks to where those points fall in dlib's chips on average, fitted on
``--template-data``, other people), the embedding, cosine distance.

For the full-size faces and for each ``--sizes`` height (the photo shrunk, INTER_AREA, so the
detected face box is that many pixels high, as a child at the back of a classroom is), every
pair of photos is a same-person or a different-person pair, and at the app's cross-lesson
threshold for faces of that size (``identity/thresholds.py``, ``across_at``) it reports ``same_person_accepted`` and
``different_person_matched`` (shares of pairs), the share of same-person pairs accepted at the
distance that lets through one different-person pair in a thousand (``accepted_at_fmr_1e-3``,
and that distance) and in ten thousand, and the equal error rate (``eer``).

``reidentification``: a composed re-identification benchmark in which each person's face in
each lesson is a *different* photo of that person. The people with three or more photos are
dealt into classes of ``--class-size``; lesson k of a class holds every member's k-th photo as
one track (all of a lesson's tracks seen together, as a class is), at full size and at each of
``--reid-sizes``. Each class's three lessons are replayed in every order into an empty roster
through the store, as ``benchmarks/identity.py`` replays stored tracks (the pipeline's
``identify`` and ``students_of``, then ``Store.finish_analysis``). ``reid_accuracy``: the
share of the later lessons' tracks given the student their person got in the first lesson;
``false_merges``: students holding tracks of more than one person (summed over classes, worst
order); ``anonymous``: tracks left without a student (faces too small to identify).

Usage::

    .venv/bin/python benchmarks/identity_real.py [--data LABELS.csv] [--json]
        [--model Dlib] [--alignment dlib|landmarks] [--sizes 40 24 16] [--reid-sizes 40]
        [--class-size 25] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

_FACES = PROJECT_ROOT.parent / "shared" / "data" / "faces"
DEFAULT_DATA = _FACES / "lfw_identity_dev" / "labels.csv"
DEFAULT_TEMPLATE_DATA = _FACES / "lfw_emotion_dev" / "labels.csv"
FMRS = (1e-3, 1e-4)


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- reading the photos ---------------------------------------------------------------------

def load_labels(labels: Path, limit: int | None = None) -> tuple[list[Path], list[str]]:
    """The photos (paths made absolute) and their subjects, in the CSV's order."""
    with labels.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"path", "subject"} <= set(rows[0]):
        raise ValueError(f"{labels} needs the columns path and subject")
    rows = rows[:limit] if limit else rows
    return [labels.parent / r["path"] for r in rows], [r["subject"] for r in rows]


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def central_face(faces: Any, shape: tuple[int, ...]) -> Any | None:
    """The detected face whose box centre is nearest the photo's centre (photos of one person
    are centred on them), or None when nothing was found."""
    if not len(faces):
        return None
    centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    offset = np.linalg.norm(centres - np.array([shape[1] / 2, shape[0] / 2]), axis=1)
    return faces.select([int(np.argmin(offset))])


def shrunk(image: np.ndarray, face: Any, face_px: float | None) -> tuple[np.ndarray, Any]:
    """The photo scaled so the face box is ``face_px`` high (never enlarged), and the face in
    the scaled photo's coordinates."""
    height = float(face.boxes[0, 3] - face.boxes[0, 1])
    scale = 1.0 if face_px is None else min(1.0, face_px / max(height, 1e-3))
    if scale >= 1.0:
        return image, face
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return small, replace(face, boxes=face.boxes * scale, landmarks=face.landmarks * scale)


# -- counting pairs ---------------------------------------------------------------------------

def pair_distances(vectors: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distances of every pair of rows (each pair once): same-person pairs, then
    different-person pairs."""
    from emotion_core.identity.embedders import cosine_distances

    distance = cosine_distances(vectors, vectors)
    upper = np.triu(np.ones(distance.shape, dtype=bool), 1)
    same = subjects[:, None] == subjects[None, :]
    return distance[upper & same], distance[upper & ~same]


def distance_at_fmr(different: np.ndarray, fmr: float) -> float:
    """The largest distance threshold (pairs match *under* it) that lets through at most
    ``fmr`` of the different-person pairs."""
    ordered = np.sort(different)
    allowed = int(np.floor(fmr * len(ordered)))
    return float(ordered[min(allowed, len(ordered) - 1)])


def equal_error_rate(same: np.ndarray, different: np.ndarray) -> float:
    """Where the share of same-person pairs refused equals the share of different-person
    pairs accepted (the mean of the two at the closest threshold)."""
    grid = np.unique(np.concatenate([same, different]))
    refused = 1.0 - np.searchsorted(np.sort(same), grid, side="left") / len(same)
    accepted = np.searchsorted(np.sort(different), grid, side="left") / len(different)
    k = int(np.argmin(np.abs(refused - accepted)))
    return float((refused[k] + accepted[k]) / 2)


def verification(same: np.ndarray, different: np.ndarray, threshold: float) -> dict[str, Any]:
    """The numbers of one face size: at ``threshold`` (pairs under it match) and at the
    distances of a fixed false-match rate."""
    if len(same) == 0 or len(different) == 0:
        raise ValueError("need at least one same-person and one different-person pair")
    out: dict[str, Any] = {
        "same_pairs": len(same),
        "different_pairs": len(different),
        "same_person_accepted": round(float((same < threshold).mean()), 4),
        "different_person_matched": round(float((different < threshold).mean()), 6),
        "same_median_distance": round(float(np.median(same)), 4),
    }
    for fmr in FMRS:
        at = distance_at_fmr(different, fmr)
        out[f"accepted_at_fmr_{fmr:.0e}".replace("e-0", "e-")] = round(
            float((same < at).mean()), 4)
        out[f"distance_at_fmr_{fmr:.0e}".replace("e-0", "e-")] = round(at, 4)
    out["eer"] = round(equal_error_rate(same, different), 4)
    return out


# -- the app's path: detection, chips, embeddings ---------------------------------------------

def detect_subjects(detector: Any, paths: list[Path]) -> list[Any | None]:
    """The subject's face in each photo (``central_face``), by the pipeline's detector."""
    from emotion_core.core.types import Frame

    found: list[Any | None] = []
    for start in range(0, len(paths), 32):
        images = [read_rgb(p) for p in paths[start:start + 32]]
        frames = [Frame(start + i, 0.0, im) for i, im in enumerate(images)]
        for image, faces in zip(images, detector.detect(frames)):
            found.append(central_face(faces, image.shape))
        _note(f"  detected {len(found)}/{len(paths)} photos")
    return found


def dlib_chip_matrix(embedder: Any, image: np.ndarray, face: Any) -> np.ndarray:
    """The 2x3 affine map from photo pixels to the pixels of the chip dlib cuts for ``face``
    (its 5-point predictor in the box, ``get_face_chip``'s size and padding)."""
    import dlib

    rect = dlib.rectangle(*(round(float(v)) for v in face.boxes[0]))
    shape = embedder._landmarks(np.ascontiguousarray(image), rect)
    details = dlib.get_face_chip_details(shape, embedder.chip_size, 0.25)
    r = details.rect
    cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
    matrix = cv2.getRotationMatrix2D(
        (cx, cy), float(np.degrees(details.angle)), details.cols / (r.right() - r.left())
    )
    matrix[:, 2] += np.array([details.cols / 2, details.rows / 2]) - np.array([cx, cy])
    return matrix


def fit_landmark_template(embedder: Any, paths: list[Path], faces: list[Any | None]
                          ) -> np.ndarray:
    """Where the detector's five landmarks fall in dlib's chips, on average (5, 2)."""
    points = []
    for path, face in zip(paths, faces):
        if face is None:
            continue
        matrix = dlib_chip_matrix(embedder, read_rgb(path), face)
        marks = face.landmarks[0]
        points.append(marks @ matrix[:, :2].T + matrix[:, 2])
    return np.median(np.stack(points), axis=0).astype(np.float32)


class LandmarkChips:
    """Chips cut by a similarity transform from the detector's own five landmarks to
    ``template`` (no second landmark model)."""

    def __init__(self, embedder: Any, template: np.ndarray) -> None:
        self.embedder = embedder
        self.template = template

    def chips(self, image: np.ndarray, faces: Any) -> np.ndarray:
        size = self.embedder.chip_size
        out = np.empty((len(faces), size, size, 3), dtype=np.uint8)
        for i, marks in enumerate(faces.landmarks):
            matrix, _ = cv2.estimateAffinePartial2D(marks.astype(np.float32), self.template)
            out[i] = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
        return out


def embed_subjects(embedder: Any, cutter: Any, paths: list[Path], faces: list[Any],
                   face_px: float | None) -> np.ndarray:
    """One embedding per photo, its face shrunk to ``face_px`` high (None: as photographed)."""
    chips = []
    for path, face in zip(paths, faces):
        image, scaled = shrunk(read_rgb(path), face, face_px)
        chips.append(cutter.chips(image, scaled)[0])
    vectors = [embedder.embed(np.stack(chips[s:s + 64])) for s in range(0, len(chips), 64)]
    return np.concatenate(vectors)


# -- composed re-identification: a different photo of each person in each lesson -------------

def composed_classes(subjects: np.ndarray, class_size: int, seed: int
                     ) -> list[list[np.ndarray]]:
    """Classes of the people with three or more photos (dealt in a seeded order): per class,
    per lesson k, the index of each member's k-th photo (photos in the CSV's order)."""
    people = sorted(p for p in set(subjects.tolist()) if (subjects == p).sum() >= 3)
    order = np.random.default_rng(seed).permutation(len(people))
    dealt = [[people[i] for i in order[s:s + class_size]]
             for s in range(0, len(people), class_size)]
    return [[np.array([np.flatnonzero(subjects == p)[k] for p in members]) for k in range(3)]
            for members in dealt if len(members) >= 2]


def lesson_tracks(vectors: np.ndarray, photos: np.ndarray, face_px: np.ndarray) -> Any:
    """One lesson as ``benchmarks/identity.py`` replays stored ones: a track per photo (seen
    long enough to become a student), every pair of tracks seen together."""
    from emotion_core.identity.sampling import TrackEmbedding

    tracks = [TrackEmbedding(n + 1, 0.0, 60.0, 100, vectors[i], 1, 1.0, float(face_px[i]))
              for n, i in enumerate(photos.tolist())]
    together = {(a, b) for a in range(1, len(tracks) + 1) for b in range(a + 1, len(tracks) + 1)}
    return tracks, together


def score_order(students: list[dict[int, int]], owners: list[np.ndarray]) -> dict[str, int]:
    """Tracks of the later lessons under their person's student of the first lesson, students
    holding more than one person, and tracks given no student."""
    first = {owners[0][t - 1]: s for t, s in students[0].items()}
    later = [(owners[k][t - 1], s) for k in range(1, len(students))
             for t, s in students[k].items()]
    holders: dict[int, set[str]] = {}
    for k, given in enumerate(students):
        for t, s in given.items():
            holders.setdefault(s, set()).add(owners[k][t - 1])
    return {
        "later_tracks": sum(len(owners[k]) for k in range(1, len(owners))),
        "reidentified": sum(1 for person, s in later if first.get(person) == s),
        "false_merges": sum(1 for people in holders.values() if len(people) > 1),
        "anonymous": sum(len(owners[k]) - len(students[k]) for k in range(len(owners))),
    }


def reidentification(vectors: dict[float | None, np.ndarray], subjects: np.ndarray,
                     heights: np.ndarray, sizes: list[float | None], class_size: int,
                     seed: int, model: str) -> dict[str, Any]:
    """Each class's three lessons replayed in every order through the store, per face size."""
    from benchmarks.identity import replay_students
    from emotion_core.identity.thresholds import thresholds_for

    classes = composed_classes(subjects, class_size, seed)
    out = {}
    for face_px in sizes:
        px = heights if face_px is None else np.minimum(heights, face_px)
        totals: dict[str, dict[str, int]] = {}
        for lessons in classes:
            made = [lesson_tracks(vectors[face_px], photos, px) for photos in lessons]
            for order in itertools.permutations(range(3)):
                students = replay_students([made[k] for k in order], thresholds_for(model),
                                           model)
                scored = score_order(students, [subjects[lessons[k]] for k in order])
                total = totals.setdefault("".join("ABC"[k] for k in order), dict.fromkeys(
                    scored, 0))
                for key, value in scored.items():
                    total[key] += value
        accuracy = {o: round(t["reidentified"] / t["later_tracks"], 4)
                    for o, t in totals.items()}
        out[_size_name(face_px)] = {
            "classes": len(classes), "people": sum(len(c[0]) for c in classes),
            "reid_accuracy": round(float(np.mean(list(accuracy.values()))), 4),
            "reid_accuracy_worst": min(accuracy.values()),
            "false_merges": max(t["false_merges"] for t in totals.values()),
            "anonymous": max(t["anonymous"] for t in totals.values()),
            "by_order": accuracy,
        }
    return out


# -- running it -------------------------------------------------------------------------------

def _size_name(face_px: float | None) -> str:
    return "full" if face_px is None else f"{face_px:g}px"


def measure_vectors(args: argparse.Namespace) -> dict[str, Any]:
    """Detections and embeddings of every photo at every size (cached in ``--cache``)."""
    import hashlib

    from emotion_core.analysis.models import configure_environment, load_detector, load_embedder

    configure_environment()
    paths, subjects = load_labels(args.data, args.limit)
    embedder = load_embedder(args.model)
    key = hashlib.sha256(f"{args.data.resolve()}|{args.limit}".encode()).hexdigest()[:12]
    cache = args.cache / key if args.cache else None
    faces_file = cache / "faces.npz" if cache else None
    from emotion_core.core.types import Faces

    if faces_file is not None and faces_file.is_file():
        saved = np.load(faces_file)
        faces = [Faces(0, 0.0, b[None], s[None], lm[None]) if ok else None
                 for ok, b, s, lm in zip(saved["found"], saved["boxes"], saved["scores"],
                                         saved["landmarks"])]
    else:
        _note(f"detecting faces in {len(paths)} photos ...")
        faces = detect_subjects(load_detector(), paths)
        if faces_file is not None:
            faces_file.parent.mkdir(parents=True, exist_ok=True)
            blank = Faces(0, 0.0, np.zeros((1, 4), np.float32), np.zeros(1, np.float32),
                          np.zeros((1, 5, 2), np.float32))
            np.savez(faces_file, found=np.array([f is not None for f in faces]),
                     boxes=np.stack([(f or blank).boxes[0] for f in faces]),
                     scores=np.stack([(f or blank).scores[0] for f in faces]),
                     landmarks=np.stack([(f or blank).landmarks[0] for f in faces]))
    kept = [i for i, f in enumerate(faces) if f is not None]
    paths = [paths[i] for i in kept]
    found = [faces[i] for i in kept]
    cutter: Any = embedder
    template = None
    if args.alignment == "landmarks":
        t_paths, _ = load_labels(args.template_data, 300)
        template = fit_landmark_template(embedder, t_paths, detect_subjects(load_detector(),
                                                                            t_paths))
        cutter = LandmarkChips(embedder, template)
    vectors = {}
    for face_px in [None, *args.sizes]:
        # (embeddings average each chip with its mirror image: identity/embedders.py)
        name = f"vectors_{embedder.name}_{args.alignment}_{_size_name(face_px)}_mirror.npy"
        if cache is not None and (cache / name).is_file():
            vectors[face_px] = np.load(cache / name)
            continue
        _note(f"embedding {len(paths)} faces at {_size_name(face_px)} ...")
        vectors[face_px] = embed_subjects(embedder, cutter, paths, found, face_px)
        if cache is not None:
            np.save(cache / name, vectors[face_px])
    heights = np.array([float(f.boxes[0, 3] - f.boxes[0, 1]) for f in found])
    return {
        "embedder": embedder, "subjects": np.array([subjects[i] for i in kept]),
        "vectors": vectors, "photos": len(faces), "faces_found": len(kept),
        "median_face_px": float(np.median(heights)), "heights": heights,
        "template": None if template is None else template.round(2).tolist(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from emotion_core.identity.thresholds import thresholds_for

    measured = measure_vectors(args)
    embedder, subjects = measured["embedder"], measured["subjects"]
    thresholds = thresholds_for(embedder.name)
    report: dict[str, Any] = {
        "data": str(args.data.name if args.data.parent == Path() else
                    args.data.parent.name + "/" + args.data.name),
        "model": embedder.name, "alignment": args.alignment,
        "photos": measured["photos"], "faces_found": measured["faces_found"],
        "people": len(set(subjects)), "median_face_px": measured["median_face_px"],
        "cross_lesson_threshold": thresholds.across_lessons,
        "within_lesson_threshold": thresholds.within_lesson,
        "min_face_px": thresholds.min_face_px,
        "sizes": [],
    }
    if measured["template"] is not None:
        report["landmark_template"] = measured["template"]
    for face_px, vectors in measured["vectors"].items():
        same, different = pair_distances(vectors, subjects)
        threshold = thresholds.across_at(face_px)
        entry = {"face_px": face_px, "threshold": round(threshold, 4),
                 **verification(same, different, threshold)}
        report["sizes"].append(entry)
    if args.reid_sizes:
        report["reidentification"] = reidentification(
            measured["vectors"], subjects, measured["heights"], [None, *args.reid_sizes],
            args.class_size, args.seed, embedder.name,
        )
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="CSV with path,subject (paths relative to it)")
    ap.add_argument("--model", default="Dlib", help="embedding model (default Dlib)")
    ap.add_argument("--alignment", choices=("dlib", "landmarks"), default="dlib",
                    help="chips by dlib's predictor (the app's) or the detector's landmarks")
    ap.add_argument("--template-data", type=Path, default=DEFAULT_TEMPLATE_DATA,
                    help="photos of other people to fit the landmark template on")
    ap.add_argument("--sizes", type=float, nargs="*", default=[40, 24, 16],
                    help="face heights in px to shrink to, besides full size (40 24 16)")
    ap.add_argument("--reid-sizes", type=float, nargs="*", default=[40],
                    help="sizes of the composed re-identification lessons besides full (40);"
                    " none given: no re-identification")
    ap.add_argument("--class-size", type=int, default=25, help="people per composed class (25)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos")
    ap.add_argument("--cache", type=Path, default=PROJECT_ROOT / "benchmarks" / "out" /
                    "identity_real", help="where detections and embeddings are kept")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args(argv)


def summary(report: dict[str, Any]) -> str:
    lines = [(f"{report['model']} ({report['alignment']} alignment) on {report['data']}: "
             f"{report['faces_found']} of {report['photos']} photos with a face, "
             f"{report['people']} people, median face {report['median_face_px']:.0f} px; "
             f"cross-lesson threshold {report['cross_lesson_threshold']}")]
    lines.append("size   threshold  same accepted  diff matched  acc@FMR1e-3 (dist)  "
                 "acc@FMR1e-4 (dist)  EER")
    for s in report["sizes"]:
        lines.append(
            f"{_size_name(s['face_px']):<6} {s['threshold']:>9.4f} "
            f"{s['same_person_accepted']:>13.3f} "
            f"{s['different_person_matched']:>13.5f} {s['accepted_at_fmr_1e-3']:>8.3f} "
            f"({s['distance_at_fmr_1e-3']:.4f}) {s['accepted_at_fmr_1e-4']:>8.3f} "
            f"({s['distance_at_fmr_1e-4']:.4f}) {s['eer']:.3f}")
    for size, r in report.get("reidentification", {}).items():
        lines.append(f"re-identification, {size}: accuracy {r['reid_accuracy']} (worst order "
                     f"{r['reid_accuracy_worst']}), false merges {r['false_merges']}, "
                     f"anonymous {r['anonymous']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_file():
        print(f"error: no labels CSV at {args.data}", file=sys.stderr)
        return 2
    report = run(args)
    print(json.dumps(report) if args.json else summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
