"""Possible duplicates: pairs of students who may be one child that the roster split in two, for
a person to look at and merge (``StudentRoster.merge_students``).

A child whose face on another day differs more than the cross-lesson threshold allows becomes a
new student; the two students' reference vectors are then still close, just not close enough to
match without a person. Two students seen in the same frame are two people, and a student whose
identification is off has no reference to compare (and may not be merged), so neither is ever
offered. The distance under which a pair is offered belongs to the embedding model
(``identity.thresholds``); the store knows nothing of models, so the caller passes it in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from emotion_core.store.store import Store


@dataclass(frozen=True)
class PossibleDuplicate:
    """Two students whose reference vectors of ``model`` are ``distance`` apart (cosine).

    ``first_id`` is the lower id: the student the roster knew first."""

    first_id: int
    second_id: int
    distance: float
    model: str


def possible_duplicates(
    store: Store, suggest_under: Callable[[str], float], class_group: str | None = None
) -> list[PossibleDuplicate]:
    """The pairs of students whose references are closer than ``suggest_under(model)``, nearest
    first, for every embedding model stored.

    Left out: a pair seen together in one frame of a video (the same refusal as
    ``merge_students``), a pair of two different class groups (a lesson of one group is never
    matched to another group's students either), and any student whose identification is off.
    With ``class_group``, only that group's students and those of no group. A pair close under
    two models is offered once. "Nearest" compares each distance with its model's own
    ``suggest_under``, since the models' distances are on different scales.
    """
    found: dict[tuple[int, int], PossibleDuplicate] = {}
    closeness: dict[tuple[int, int], float] = {}
    for model in store.embedding_models():
        limit = float(suggest_under(model))
        student_ids, centroids = store.reference_embeddings(model, class_group)
        for pair in close_pairs(student_ids, centroids, limit, model):
            key = (pair.first_id, pair.second_id)
            if key not in found or pair.distance / limit < closeness[key]:
                found[key], closeness[key] = pair, pair.distance / limit
    if not found:
        return []
    apart = _seen_together(store, found) | _of_different_groups(store, found)
    kept = [key for key in found if key not in apart]
    kept.sort(key=lambda key: (closeness[key], key))
    return [found[key] for key in kept]


def close_pairs(student_ids: np.ndarray, centroids: np.ndarray, limit: float,
                model: str) -> list[PossibleDuplicate]:
    """Every pair of ``student_ids`` whose unit ``centroids`` (rows) are less than ``limit``
    apart in cosine distance, each pair once, lower id first."""
    if len(student_ids) < 2:
        return []
    vectors = np.asarray(centroids, dtype=np.float64)
    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    rows, cols = np.triu_indices(len(student_ids), k=1)
    near = distances[rows, cols] < limit
    pairs = []
    for i, j in zip(rows[near], cols[near]):
        first, second = sorted((int(student_ids[i]), int(student_ids[j])))
        pairs.append(PossibleDuplicate(first, second, float(distances[i, j]), model))
    return pairs


def _seen_together(store: Store, pairs: dict[tuple[int, int], object]) -> set[tuple[int, int]]:
    """Those of ``pairs`` with observations in one frame of one video: two faces at once are
    two people."""
    ids = sorted({sid for pair in pairs for sid in pair})
    together = store.query(
        """
        SELECT DISTINCT a.student_id AS first_id, b.student_id AS second_id
        FROM observations a JOIN observations b
            ON a.video_id = b.video_id AND a.frame_index = b.frame_index
            AND a.student_id < b.student_id
        WHERE list_contains($ids, a.student_id) AND list_contains($ids, b.student_id)
        """,
        {"ids": ids},
    )
    seen = {(int(r.first_id), int(r.second_id)) for r in together.itertuples()}
    return seen & set(pairs)


def _of_different_groups(store: Store,
                         pairs: dict[tuple[int, int], object]) -> set[tuple[int, int]]:
    """Those of ``pairs`` whose students both have a class group, and not the same one."""
    ids = sorted({sid for pair in pairs for sid in pair})
    rows = store.query(
        "SELECT student_id, class_group FROM students WHERE list_contains($ids, student_id)",
        {"ids": ids},
    )
    group = {int(r.student_id): r.class_group for r in rows.itertuples()}
    return {
        (a, b) for a, b in pairs
        if isinstance(group.get(a), str) and isinstance(group.get(b), str)
        and group[a] != group[b]
    }
