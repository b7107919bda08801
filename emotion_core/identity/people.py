"""A video's tracks joined into people by appearance, and those people matched to the roster."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emotion_core.identity.embedders import cosine_distances, unit_rows
from emotion_core.identity.sampling import TrackEmbedding
from emotion_core.identity.thresholds import IdentityThresholds


@dataclass(frozen=True)
class RosterReferences:
    """The known students of one embedding model: ``centroids`` (M, D) unit rows, one a student."""

    model: str
    student_ids: np.ndarray
    centroids: np.ndarray

    @classmethod
    def empty(cls, model: str, dimension: int = 0) -> RosterReferences:
        return cls(model, np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.student_ids)


@dataclass(frozen=True)
class Person:
    """The tracks of one video that are one person, and the known student they are, if any."""

    track_ids: tuple[int, ...]
    student_id: int | None  # None: nobody on the roster; a new student
    distance: float | None  # cosine distance to that student's reference


def group_tracks(
    tracks: Sequence[TrackEmbedding], co_occurring: Iterable[tuple[int, int]], threshold: float,
) -> list[list[int]]:
    """Tracks joined into people by appearance (indexes into ``tracks``).

    Agglomerative, closest pair first, comparing the mean embeddings of the groups (each track
    weighted by its number of embedded chips). Two groups are joined only while their distance
    is under ``threshold`` and no track of one was seen in the same frame as a track of the
    other.
    """
    n = len(tracks)
    if n == 0:
        return []
    index = {t.track_id: i for i, t in enumerate(tracks)}
    apart = np.zeros((n, n), dtype=bool)
    for a, b in co_occurring:
        if a in index and b in index:
            apart[index[a], index[b]] = apart[index[b], index[a]] = True
    sums = np.stack([t.embedding * t.samples for t in tracks]).astype(np.float64)
    members: list[list[int] | None] = [[i] for i in range(n)]
    dead = np.zeros(n, dtype=bool)
    units = sums / np.clip(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12, None)
    distance = (1.0 - units @ units.T).astype(np.float32)  # (n, n): 100 MB at 5,000 tracks
    distance[apart] = np.inf
    np.fill_diagonal(distance, np.inf)
    # each row's nearest other group, kept up to date so a merge costs O(n), not O(n²)
    nearest = distance.argmin(axis=1)
    nearest_d = distance[np.arange(n), nearest]
    while True:
        a = int(np.argmin(nearest_d))
        if not nearest_d[a] < threshold:
            break
        a, b = min(a, int(nearest[a])), max(a, int(nearest[a]))
        members[a] = members[a] + members[b]  # type: ignore[operator]
        members[b] = None
        dead[b] = True
        sums[a] += sums[b]
        units[a] = sums[a] / max(float(np.linalg.norm(sums[a])), 1e-12)
        apart[a] |= apart[b]
        apart[:, a] = apart[a]
        row = 1.0 - units @ units[a]
        row[apart[a] | dead] = np.inf
        row[a] = np.inf
        distance[a], distance[:, a] = row, row
        distance[b], distance[:, b] = np.inf, np.inf
        nearest_d[b] = np.inf
        nearest[a], nearest_d[a] = int(row.argmin()), float(row.min())
        # rows whose nearest was a or b: look again; others may now be nearest to a
        stale = np.flatnonzero((nearest == a) | (nearest == b))
        for i in stale.tolist():
            if i != a and members[i] is not None:
                nearest[i] = int(distance[i].argmin())
                nearest_d[i] = distance[i, nearest[i]]
        closer = row < nearest_d
        closer[a] = False
        nearest[closer] = a
        nearest_d[closer] = row[closer]
    return [m for m in members if m is not None]


def match_roster(
    centroids: np.ndarray, roster: RosterReferences, threshold: float | np.ndarray,
    clearly_nearest: float = 1.0,
) -> list[tuple[int | None, float | None]]:
    """For each person (rows of ``centroids``): the roster student they are, and the distance.

    One global assignment (Hungarian, minimum total distance) of people to students: one
    student takes at most one person of the video, only at a distance under ``threshold`` (one
    for all, or one per person), and
    only a student clearly nearer than every other: under ``clearly_nearest`` times the
    person's distance to the nearest other student. In a class of look-alike children a
    newcomer (or a known child on a bad day) is about as close to several students, and is
    better a new student, which a person can merge, than one of theirs. A person with no such
    student gets ``(None, None)`` and becomes a new student.
    """
    from scipy.optimize import linear_sum_assignment

    n, m = len(centroids), len(roster)
    if n == 0:
        return []
    if m == 0:
        return [(None, None)] * n
    distance = cosine_distances(centroids, roster.centroids).astype(np.float64)
    threshold = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,))
    allowed = distance < threshold[:, None]
    if m >= 2 and clearly_nearest < 1.0:
        two = np.partition(distance, 1, axis=1)[:, :2]
        # for each person and student: the person's distance to the nearest other student
        other = np.where(distance <= two[:, :1], two[:, 1:], two[:, :1])
        allowed &= distance < clearly_nearest * other
    forbidden = 1e6
    # columns m.. are "a new student", one per person, at the threshold's cost
    cost = np.full((n, m + n), forbidden)
    cost[:, :m] = np.where(allowed, distance, forbidden)
    cost[np.arange(n), m + np.arange(n)] = threshold
    rows, cols = linear_sum_assignment(cost)
    matched: list[tuple[int | None, float | None]] = [(None, None)] * n
    for row, col in zip(rows.tolist(), cols.tolist()):
        if col < m and cost[row, col] < forbidden:
            matched[row] = (int(roster.student_ids[col]), float(distance[row, col]))
    return matched


def identifiable(tracks: Sequence[TrackEmbedding], min_face_px: float) -> list[TrackEmbedding]:
    """The tracks big enough to tell who they are: a track whose faces were all under
    ``min_face_px`` high (``TrackEmbedding.face_px``, its largest embedded face) counts
    anonymously; it neither matches a student nor becomes one. A track of unknown size (rows
    stored before sizes were kept) is kept."""
    return [t for t in tracks if t.face_px is None or t.face_px >= min_face_px]


@dataclass(frozen=True)
class JoinedTracks:
    """The people of one lesson before they meet the roster (the first half of ``identify``).

    ``tracks`` are the identifiable ones; ``groups[i]`` holds the sorted track ids of person i,
    ``centroids[i]`` their mean embedding (a unit row, each track weighted by its chips) and
    ``face_px[i]`` the height of their largest face (None when no track knows its size).
    """

    tracks: tuple[TrackEmbedding, ...]
    groups: tuple[tuple[int, ...], ...]
    centroids: np.ndarray
    face_px: tuple[float | None, ...]


def join_tracks(
    tracks: Sequence[TrackEmbedding], co_occurring: Iterable[tuple[int, int]],
    thresholds: IdentityThresholds,
) -> JoinedTracks:
    """Tracks too small to identify (``identifiable``) left out, the others joined into people
    under ``thresholds.within_lesson``, never two tracks seen in the same frame."""
    kept = identifiable(tracks, thresholds.min_face_px)
    groups = group_tracks(kept, co_occurring, thresholds.within_lesson)
    centroids = np.stack([
        unit_rows(sum(kept[i].embedding * kept[i].samples for i in g)[None])[0] for g in groups
    ]) if groups else np.zeros((0, 0), dtype=np.float32)
    largest = tuple(
        max((kept[i].face_px for i in g if kept[i].face_px is not None), default=None)
        for g in groups
    )
    return JoinedTracks(
        tuple(kept), tuple(tuple(sorted(kept[i].track_id for i in g)) for g in groups),
        centroids, largest,
    )


def match_joined(
    joined: JoinedTracks, roster: RosterReferences, thresholds: IdentityThresholds
) -> list[Person]:
    """The second half of ``identify``: each person matched to a roster student in one global
    assignment, under the cross-lesson distance of the size of their largest face
    (``thresholds.across_at``: smaller faces, stricter) and only to a student clearly nearer
    than the others (``match_roster``); None: a new student."""
    limits = np.array([thresholds.across_at(px) for px in joined.face_px])
    matched = match_roster(joined.centroids, roster, limits, thresholds.clearly_nearest)
    return [
        Person(group, student, distance)
        for group, (student, distance) in zip(joined.groups, matched)
    ]


def identify(
    tracks: Sequence[TrackEmbedding],
    co_occurring: Iterable[tuple[int, int]],
    roster: RosterReferences,
    thresholds: IdentityThresholds,
) -> list[Person]:
    """The people of a video: its tracks joined by appearance (``join_tracks``) and matched to
    the roster (``match_joined``); those it cannot match are new students. Tracks too small to
    identify belong to nobody. Nothing here touches the database: the store reads the roster
    and writes the result.
    """
    return match_joined(join_tracks(tracks, co_occurring, thresholds), roster, thresholds)


def students_of(
    people: Sequence[Person], tracks: Sequence[TrackEmbedding], add_new: bool = True,
    min_new_frames: int = 3,
) -> list[Person]:
    """The people who are, or become, students; the others stay anonymous (counted in the
    class's figures, with no student and no embedding stored).

    Everyone matched to the roster is kept. Somebody new becomes a new student only with
    ``add_new``, and only when seen in at least ``min_new_frames`` sampled frames: a face seen
    once or twice is more often a box caught between two people crossing, or half a face at the
    edge of the frame, than a new pupil, and would otherwise become a student of its own and
    split a real one's series.
    """
    frames = {t.track_id: t.observations for t in tracks}
    return [
        p for p in people
        if p.student_id is not None
        or (add_new and sum(frames.get(t, 0) for t in p.track_ids) >= min_new_frames)
    ]
