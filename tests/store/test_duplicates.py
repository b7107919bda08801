"""Possible duplicates (store/duplicates.py) over a real DuckDB written through the store: one
child split across two lessons is offered, two children seen in one frame never are, nor a
student whose identification is off."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from support.split_roster import (
    ANA_SPLIT,
    BEN_SPLIT,
    FAY_TO_ANA,
    MODEL,
    VECTORS,
    lesson,
    split_roster,
)

from emotion_core.identity.thresholds import thresholds_for
from emotion_core.store.duplicates import PossibleDuplicate, close_pairs, possible_duplicates
from emotion_core.store.roster import RosterError
from emotion_core.store.store import Store


def suggest_under(model: str) -> float:
    return thresholds_for(model).suggest_merge


@pytest.fixture
def roster(tmp_path: Path) -> tuple[Store, dict[str, int]]:
    store = Store(tmp_path / "lessons.duckdb")
    yield store, split_roster(store)
    store.close()


def pairs_of(found: list[PossibleDuplicate], ids: dict[str, int]) -> list[tuple[str, str]]:
    name = {sid: n for n, sid in ids.items()}
    return [(name[p.first_id], name[p.second_id]) for p in found]


def test_the_distances_of_the_made_up_roster_are_those_intended() -> None:
    """(The other tests rely on these.)"""
    def distance(a: str, b: str) -> float:
        return 1.0 - float(VECTORS[a] @ VECTORS[b])

    limits = thresholds_for(MODEL)
    assert limits.across_lessons < FAY_TO_ANA < ANA_SPLIT < BEN_SPLIT < limits.suggest_merge
    assert distance("Ana", "Ana2") == pytest.approx(ANA_SPLIT)
    assert distance("Dee", "Eve") < limits.across_lessons
    assert distance("Ana", "Gus") < limits.across_lessons
    # only the pairs meant to be close are
    meant = {("Ana", "Ana2"), ("Ben", "Ben2"), ("Dee", "Eve"), ("Ana", "Fay"), ("Ana", "Gus")}
    names = sorted(VECTORS)
    close = {(a, b) for a in names for b in names if a < b
             and distance(a, b) < limits.suggest_merge}
    assert close == {tuple(sorted(pair)) for pair in meant}


def test_one_child_split_across_two_lessons_is_offered_nearest_first(roster) -> None:
    store, ids = roster
    found = possible_duplicates(store, suggest_under)
    assert pairs_of(found, ids) == [("Ana", "Fay"), ("Ana", "Ana2"), ("Ben", "Ben2")]
    fay, ana, ben = found
    assert (ana.first_id, ana.second_id, ana.model) == (ids["Ana"], ids["Ana2"], MODEL)
    assert ana.distance == pytest.approx(ANA_SPLIT, abs=1e-5)
    assert ben.distance == pytest.approx(BEN_SPLIT, abs=1e-5)
    assert fay.distance == pytest.approx(FAY_TO_ANA, abs=1e-5)


def test_two_students_seen_in_the_same_frame_are_never_offered(roster) -> None:
    store, ids = roster
    found = pairs_of(possible_duplicates(store, suggest_under), ids)
    # Dee and Eve are the closest pair of all, and in the same frames of their lesson
    assert not any({"Dee", "Eve"} & set(pair) for pair in found)
    with pytest.raises(RosterError, match="they are two people"):
        store.merge_students(ids["Dee"], ids["Eve"])
    # a wider limit offers more pairs, never those seen together
    wide = pairs_of(possible_duplicates(store, lambda model: 2.0), ids)
    assert ("Ana2", "Fay") in wide and ("Ana", "Ben2") in wide
    assert ("Dee", "Eve") not in wide and ("Ana", "Ben") not in wide
    assert ("Ana2", "Ben2") not in wide and ("Ana", "Cy") not in wide


def test_a_student_whose_identification_is_off_is_never_offered(roster) -> None:
    store, ids = roster
    assert ("Ana", "Fay") in pairs_of(possible_duplicates(store, suggest_under), ids)
    store.set_identification(ids["Fay"], False, "letter from home")
    found = pairs_of(possible_duplicates(store, lambda model: 2.0), ids)
    assert found and not any("Fay" in pair for pair in found)


def test_students_of_two_classes_are_not_offered_and_a_class_sees_its_own(roster) -> None:
    store, ids = roster
    everyone = pairs_of(possible_duplicates(store, suggest_under), ids)
    assert not any("Gus" in pair for pair in everyone), "Gus is of class 8A, Ana of 7B"
    assert pairs_of(possible_duplicates(store, suggest_under, "7B"), ids) == everyone
    assert possible_duplicates(store, suggest_under, "8A") == []


def test_a_confirmed_pair_merges_and_is_offered_no_more(roster) -> None:
    store, ids = roster
    ana = next(p for p in possible_duplicates(store, suggest_under) if p.second_id == ids["Ana2"])
    before = sum(store.student(s)["observations"] for s in (ana.first_id, ana.second_id))
    store.merge_students(ana.first_id, ana.second_id)
    assert store.student(ana.second_id) is None
    assert store.student(ana.first_id)["lessons"] == 2
    assert store.student(ana.first_id)["observations"] == before
    # (Ana's reference is now the mean of both days', a little farther from Fay's: whether
    # Fay is still offered depends on how far apart the model's two distances are)
    found = pairs_of(possible_duplicates(store, suggest_under), ids)
    assert ("Ben", "Ben2") in found
    assert not any("Ana2" in pair for pair in found)


def test_a_pair_close_under_two_models_is_offered_once(roster) -> None:
    store, ids = roster
    # Ana and Ana2 seen again, apart, by a second embedding model: as far apart as under the
    # first, which is much nearer on the second model's scale (its limit is larger)
    other = "VGG-Face"
    assert suggest_under(other) > suggest_under(MODEL)
    lesson(store, "f" * 64, date(2024, 3, 11), ["Ana"], known=ids, model=other)
    lesson(store, "9" * 64, date(2024, 3, 12), ["Ana2"], known=ids, model=other)
    assert set(store.embedding_models()) == {MODEL, other}
    found = possible_duplicates(store, suggest_under)
    ana = [p for p in found if (p.first_id, p.second_id) == (ids["Ana"], ids["Ana2"])]
    assert [p.model for p in ana] == [other]
    assert ana[0].distance == pytest.approx(ANA_SPLIT, abs=1e-5)
    assert found[0] == ana[0], "the nearest on its model's scale"
    assert pairs_of(found, ids)[1:] == [("Ana", "Fay"), ("Ben", "Ben2")]


def test_nothing_is_offered_without_two_close_students(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.duckdb") as store:
        assert possible_duplicates(store, suggest_under) == []
    assert close_pairs(np.array([4]), np.eye(8)[:1], 0.5, MODEL) == []


def test_close_pairs_keeps_each_pair_once_lower_id_first() -> None:
    vectors = np.stack([VECTORS["Ana2"], VECTORS["Ana"], VECTORS["Cy"]])
    found = close_pairs(np.array([9, 2, 5]), vectors, 0.1, MODEL)
    assert found == [PossibleDuplicate(2, 9, pytest.approx(ANA_SPLIT), MODEL)]
