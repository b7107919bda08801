"""The distances and sizes that decide who is who, per embedding model, kept in this one place.

Measured on real photos of the same people on different occasions
(``benchmarks/identity_real.py`` on ``lfw_identity_dev``; BENCHMARKS.md, "Re-identification on
real photos"), not on one studio session per person:

- ``within_lesson``: two tracks of one lesson are one person under this cosine distance. Within
  a lesson the light, the seat and the clothes are the same, and two tracks seen in the same
  frame are never joined, so this may be looser than matching across days.
- ``across_lessons``: a person of a new lesson is a student of the roster under this distance,
  set so that at most one pair of different people in a thousand falls under it. Smaller faces
  are closer to everyone (detail is lost, and what is left is a generic face), so a person
  seen only smaller than ``FULL_QUALITY_PX`` is held to the stricter distance measured at
  their size the same way (``across_smaller``, interpolated between the sizes measured:
  ``across_at``). A false merge
  mixes two children's records, while a missed match only makes a new student that a person can
  merge (the Students page offers the likely ones).
- ``clearly_nearest``: and only to a student clearly nearer than any other, under this share of
  the distance to the next one (``people.match_roster``): a threshold measured on people who
  look nothing alike lets a newcomer in a class of look-alike children match an absent one.
- ``suggest_merge``: two students whose references are closer than this, never seen in the same
  frame, are offered as possible duplicates of one child.
- ``min_face_px``: faces narrower than this are too small to tell people apart (the benchmark's
  smallest size where same-person pairs are still mostly accepted). A track whose faces are all
  narrower counts anonymously: it neither matches a student nor creates one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# Faces at least this high (px) embed as well as larger ones do (``across_lessons`` applies).
FULL_QUALITY_PX = 80.0


@dataclass(frozen=True)
class IdentityThresholds:
    """Who-is-who decisions of one embedding model (module docstring)."""

    within_lesson: float
    across_lessons: float
    suggest_merge: float
    min_face_px: float
    clearly_nearest: float = 1.0
    # (face height px, cross-lesson distance) for faces smaller than FULL_QUALITY_PX, ascending
    across_smaller: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.across_lessons <= self.suggest_merge:
            raise ValueError("suggest_merge must be at least across_lessons, both positive")
        if self.within_lesson <= 0 or self.min_face_px < 0:
            raise ValueError("within_lesson must be positive and min_face_px not negative")
        if not 0 < self.clearly_nearest <= 1:
            raise ValueError("clearly_nearest must be in (0, 1]")
        sizes = [px for px, _ in self.across_smaller]
        if sizes != sorted(sizes) or any(px >= FULL_QUALITY_PX for px in sizes):
            raise ValueError(f"across_smaller must be ascending sizes under {FULL_QUALITY_PX:g} px")

    def across_at(self, face_px: float | None) -> float:
        """The cross-lesson distance for a person whose largest face is ``face_px`` high (None:
        not known, as for rows stored before sizes were kept: ``across_lessons``)."""
        if face_px is None or not self.across_smaller:
            return self.across_lessons
        sizes = [px for px, _ in self.across_smaller] + [FULL_QUALITY_PX]
        distances = [d for _, d in self.across_smaller] + [self.across_lessons]
        return float(np.interp(face_px, sizes, distances))

    def at_distance(self, distance: float) -> IdentityThresholds:
        """These thresholds with one distance for joining and matching (a sweep, or a user's
        override); suggestions start no closer than it."""
        return replace(self, within_lesson=distance, across_lessons=distance,
                       suggest_merge=max(self.suggest_merge, distance), across_smaller=())


# dlib's ResNet, DeepFace's "Dlib" (the offline default). Measured (BENCHMARKS.md): across lessons
# at one false match in 1,000 pairs of real photos of different people (lfw_identity_dev) at
# each size; within a lesson on one session's photos of look-alike women (JAFFE), where the
# faces of one day are; suggestions at one false match in 100; no identity under 24 px, the
# smallest size at which half the same-person pairs are still accepted.
DLIB = IdentityThresholds(
    within_lesson=0.035, across_lessons=0.0688, suggest_merge=0.086, min_face_px=24.0,
    clearly_nearest=0.8, across_smaller=((24.0, 0.0566), (40.0, 0.0659)),
)
# VGG-Face: its weights cannot be fetched on the development machines, so these are DeepFace's
# published cosine threshold (0.68) for every decision, and the Dlib size limit
VGG_FACE = IdentityThresholds(
    within_lesson=0.68, across_lessons=0.68, suggest_merge=0.75, min_face_px=24.0
)

_BY_MODEL = {"Dlib": DLIB, "VGG-Face": VGG_FACE}
# the smallest face any embedding model identifies (what the pages tell the user)
SMALLEST_IDENTIFIED_PX = min(t.min_face_px for t in _BY_MODEL.values())


def thresholds_for(model: str) -> IdentityThresholds:
    """The thresholds of embedding model ``model`` (its ``FaceEmbedder.name``)."""
    try:
        return _BY_MODEL[model]
    except KeyError:
        known = ", ".join(sorted(_BY_MODEL))
        raise ValueError(f"no identity thresholds for embedding model {model!r} ({known})") from None
