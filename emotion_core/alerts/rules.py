"""The alert rules by name, in words for people, and the version of what they find."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from emotion_core.core.alert_settings import AlertSettings

# Raise when a rule changes what it finds, so that stored alerts are checked again.
RULES_VERSION = 1


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    explanation: str  # formatted with the rule's thresholds

    def explain(self, settings: AlertSettings) -> str:
        return self.explanation.format(**asdict(getattr(settings, self.name)))


BALANCE_WORDS = (
    "The expression balance compares how likely the model finds a happy face with how likely a "
    "sad, fearful, angry or disgusted one: 0 when both are equally likely, each step of 1 "
    "doubles (or, below 0, halves) the odds of happy against negative."
)

RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "sustained_negative",
            "Sustained negative expression",
            "For at least {min_visible_s:.0f} seconds in view, the face was read as sad, fearful, "
            "angry or disgusted most of the time: the share of those readings, averaged over a "
            "few seconds, stayed at or above {negative_share:.0%} and well above what is usual "
            "for this student (odds at least {odds_ratio:g} times their usual odds: a usual 40% "
            "needs 67%, a usual 80% needs 92%), so a face the model always reads as sad is not "
            "flagged for that alone.",
        ),
        Rule(
            "below_own_baseline",
            "Far below their own usual",
            "Over the whole lesson the student's expression balance was far below the median of "
            "their other lessons: by at least {min_drop:g} (odds of happy against negative at "
            "most a third of their usual) and by at least {robust_z:g} times the usual spread "
            "between their lessons. Needs {min_other_lessons} other lessons with the student in "
            "view for a while. Each student is compared only with themself.",
        ),
        Rule(
            "apart_from_class",
            "Apart from the class",
            "For at least {min_visible_s:.0f} seconds in view the student's expression was far "
            "less positive than the rest of the class at the same moments (everyone laughs, one "
            "student does not): the balance was {gap:g} further below the class's median than "
            "this student usually is in the lesson, with at least {min_classmates} classmates "
            "in view.",
        ),
        Rule(
            "sharp_drop",
            "Sharp drop",
            "The student's expression became far more negative at one moment and stayed so: the "
            "balance over the {after_s:.0f} seconds after it was at least {drop:g} below both "
            "the balance over the {before_s:.0f} seconds before and the student's usual "
            "balance. A drop the whole class shows at that moment is taken off first, and coming "
            "back from a laugh to one's usual self is no drop.",
        ),
    )
}


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) into the lesson."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
