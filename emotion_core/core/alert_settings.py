"""The thresholds of the alert rules: typed values the store keeps and the rules read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace

# The defaults and why they were chosen: docs/alerts.md.


@dataclass(frozen=True)
class Guards:
    """Checks shared by every rule, against alarms raised by noise."""

    # Faces detected with less confidence are mostly children looking down at their desks; the
    # emotion model reads those as sad far more often (docs/alerts.md).
    min_detection_score: float = 0.9
    # Observations are averaged into bins of this width (wider when frames were sampled more
    # sparsely); a student is "visible" for a bin's width when seen in it at all.
    bin_s: float = 1.0
    # Centred moving average over this long, before any threshold is applied.
    smoothing_s: float = 20.0
    # No alert rests on fewer frames than this, whatever its rule asks.
    min_frames: int = 20
    # A lesson where the student was in view for less than this says nothing about what is
    # usual for them, and is not compared with their other lessons.
    min_lesson_visible_s: float = 120.0


@dataclass(frozen=True)
class SustainedNegative:
    # the smoothed share of sad, fear, anger and disgust must reach this ...
    negative_share: float = 0.5
    # ... and its odds (share / (1 - share)) must be this many times the student's usual odds
    odds_ratio: float = 3.0
    # ... for at least this long while the student is in view
    min_visible_s: float = 90.0
    # moments out of view shorter than this do not break a run
    max_gap_s: float = 10.0


@dataclass(frozen=True)
class BelowOwnBaseline:
    # the lesson's median balance must be this far below the median of the student's other
    # lessons, on the balance ...
    min_drop: float = 1.5
    # ... and in robust standard deviations of those lessons (1.4826 x their median absolute
    # deviation), so that a student whose lessons vary a lot needs a larger drop
    robust_z: float = 2.0
    # other lessons needed before the rule says anything
    min_other_lessons: int = 3
    # a spread below this is taken as this: a very steady student is not flagged for a wobble
    min_spread: float = 0.25


@dataclass(frozen=True)
class ApartFromClass:
    # the student's smoothed balance must be this much further below the class median than
    # the student usually is in the lesson ...
    gap: float = 3.0
    # ... for at least this long while in view
    min_visible_s: float = 30.0
    max_gap_s: float = 10.0
    # classmates in view needed for "the class" to mean anything
    min_classmates: int = 3


@dataclass(frozen=True)
class SharpDrop:
    # the balance over the time after a moment must be this much below both the balance over
    # the time before it and the student's usual balance, beyond any drop the class as a whole
    # shows at that moment
    drop: float = 2.5
    before_s: float = 60.0
    after_s: float = 120.0
    # the share of each of the two stretches the student must be in view
    min_in_view: float = 0.5
    # with fewer classmates in view the class's own drop is not subtracted
    min_classmates: int = 3


@dataclass(frozen=True)
class AlertSettings:
    """Every threshold of every rule. ``with_overrides`` changes some by name."""

    guards: Guards = field(default_factory=Guards)
    sustained_negative: SustainedNegative = field(default_factory=SustainedNegative)
    below_own_baseline: BelowOwnBaseline = field(default_factory=BelowOwnBaseline)
    apart_from_class: ApartFromClass = field(default_factory=ApartFromClass)
    sharp_drop: SharpDrop = field(default_factory=SharpDrop)

    def with_overrides(self, overrides: Mapping[str, float | str]) -> AlertSettings:
        """Settings with ``{"rule.threshold": value}`` changed, e.g. ``sharp_drop.drop=0.4``."""
        changed = self
        for key, raw in overrides.items():
            section, _, name = key.partition(".")
            part = getattr(changed, section, None) if section in _SECTIONS else None
            names = {f.name: f for f in fields(part)} if part is not None else {}
            if name not in names:
                raise ValueError(f"unknown threshold {key!r}; known: {', '.join(threshold_names())}")
            kind = type(getattr(part, name))
            try:
                value = kind(float(raw)) if kind is int and float(raw).is_integer() else kind(raw)
            except ValueError:
                wanted = "a whole number" if kind is int else "a number"
                raise ValueError(f"{key} needs {wanted}, got {raw!r}") from None
            if value < 0:
                raise ValueError(f"{key} cannot be negative, got {value}")
            changed = replace(changed, **{section: replace(part, **{name: value})})
        return changed

    def as_json(self) -> dict[str, dict[str, float]]:
        return asdict(self)

    def threshold(self, name: str) -> float:
        """One threshold by name, e.g. ``threshold("sharp_drop.drop")``."""
        section, _, field_name = name.partition(".")
        if name not in threshold_names():
            raise ValueError(f"unknown threshold {name!r}; known: {', '.join(threshold_names())}")
        return getattr(getattr(self, section), field_name)


_SECTIONS = tuple(f.name for f in fields(AlertSettings))


def threshold_names() -> list[str]:
    settings = AlertSettings()
    return [f"{s}.{f.name}" for s in _SECTIONS for f in fields(getattr(settings, s))]
