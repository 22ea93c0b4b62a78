"""Reward functions: one scalar per daemon response, from how its run ended, what the
guardrail made of it, and what people said about it.

    reward = outcome base
           + guardrail pass/fail (only when a guardrail reviewed it)
           - a penalty per revision the guardrail forced
           + the mean human signal (thumbs and rating) over everyone who gave one
           - a correction penalty if anyone rewrote the answer

Every weight is named in `RewardWeights` and explained there. The scale is arbitrary (about
-3.5 to +2 with the defaults); what matters is the order it puts responses in, which the tests
pin down: an approved clean answer > an unrated clean answer > one that needed revisions >
an escalated one > a failed run, and any corrected answer below an uncorrected one with the
same machine signals. The dataset export keeps supervised examples at or above
`--min-reward`.

The machine signals are cheap and always present but only say the answer was plausible and
grounded; people say whether it was right. So a person's thumbs moves a response further
than the machine signals can, and a correction, the strongest statement that the answer was
wrong, outweighs the most praise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import BaseModel

from ledgerd.contracts import Outcome
from ledgerd.feedback._models import StoredFeedback, Thumbs


def _outcome_weights() -> Mapping[Outcome, float]:
    return MappingProxyType(
        {
            # Answered, and the guardrail let it through.
            Outcome.COMPLETED: 0.5,
            # Answered, but the guardrail still objected after the allowed revisions, so a
            # person had to look. Neutral here: the answer exists, and the guardrail's failing
            # verdict is counted on its own (`guardrail_failed`), not twice.
            Outcome.ESCALATED: 0.0,
            # Wandered until a budget stopped it: no answer, and cost spent.
            Outcome.BUDGET_EXHAUSTED: -0.5,
            # Could not produce an answer matching its own schema: the daemon's own failing.
            Outcome.INVALID_ANSWER: -0.75,
            # An activity failed for good: often the platform's fault rather than the model's,
            # so no worse than running out of budget.
            Outcome.FAILED: -0.5,
        }
    )


@dataclass(frozen=True)
class RewardWeights:
    """The weights of `run_reward`, named so a change to one is a reviewed, one-line diff."""

    # Base score by how the daemon loop ended; a loop still running scores 0.
    outcome: Mapping[Outcome, float] = field(default_factory=_outcome_weights)
    # The guardrail (deterministic checks + a judge model) passed the final answer...
    guardrail_passed: float = 0.25
    # ...or still failed it (the run escalated). Counted apart from the outcome so a daemon
    # without a guardrail (no review) neither gains nor loses here.
    guardrail_failed: float = -0.25
    # Per revision the guardrail forced (reviews - 1): an answer right the first time is
    # better than one that needed to be talked round, even if both end completed.
    per_revision: float = -0.1
    # A person's thumbs: up against down (1.5 apart) outweighs the machine's whole range over
    # answered runs (clean completion 0.75 against escalation -0.35), since people judge
    # correctness and the machine only plausibility: an escalated answer people approve
    # outranks a clean one they turned down.
    thumbs_up: float = 0.75
    thumbs_down: float = -0.75
    # Per rating point away from the neutral 3: 1 → -0.5, 5 → +0.5; a graded opinion, a
    # little weaker than an outright thumbs.
    per_rating_point: float = 0.25
    # Someone rewrote the answer: the original was wrong. Stronger than the most praise one
    # person can give (thumbs up and a 5: +1.25), so a corrected answer always ranks below
    # the same answer left uncorrected.
    correction: float = -1.5


WEIGHTS = RewardWeights()


@dataclass(frozen=True)
class HumanSignal:
    """One person's feedback, as far as rewards care."""

    thumbs: Thumbs | None = None
    rating: int | None = None
    corrected: bool = False


@dataclass(frozen=True)
class RunSignals:
    """Everything the reward of one response is computed from."""

    outcome: Outcome | None
    guardrail_reviews: int = 0
    feedback: Sequence[HumanSignal] = ()


class Reward(BaseModel):
    total: float
    parts: dict[str, float]


def run_reward(signals: RunSignals, weights: RewardWeights = WEIGHTS) -> Reward:
    """The reward of one response, with the part each signal contributed."""
    parts: dict[str, float] = {}
    ended = signals.outcome
    parts["outcome"] = weights.outcome.get(ended, 0.0) if ended is not None else 0.0
    if signals.guardrail_reviews > 0:
        if signals.outcome is Outcome.COMPLETED:
            parts["guardrail"] = weights.guardrail_passed
        elif signals.outcome is Outcome.ESCALATED:
            parts["guardrail"] = weights.guardrail_failed
        parts["revisions"] = weights.per_revision * (signals.guardrail_reviews - 1)
    human = [
        _human(signal, weights)
        for signal in signals.feedback
        if signal.thumbs is not None or signal.rating is not None
    ]
    if human:
        # The mean: ten people agreeing is more certain, not ten times as good.
        parts["human"] = sum(human) / len(human)
    if any(signal.corrected for signal in signals.feedback):
        parts["correction"] = weights.correction
    return Reward(total=round(sum(parts.values()), 6), parts=parts)


def _human(signal: HumanSignal, weights: RewardWeights) -> float:
    score = 0.0
    if signal.thumbs is Thumbs.UP:
        score += weights.thumbs_up
    elif signal.thumbs is Thumbs.DOWN:
        score += weights.thumbs_down
    if signal.rating is not None:
        score += weights.per_rating_point * (signal.rating - 3)
    return score


def signals_of(feedback: Sequence[StoredFeedback]) -> RunSignals:
    """The signals of one response from its stored feedback rows (all about that response)."""
    if not feedback:
        raise ValueError("a response's signals need at least one feedback row")
    last = feedback[-1]
    return RunSignals(
        outcome=last.outcome,
        guardrail_reviews=max(row.guardrail_reviews for row in feedback),
        feedback=[
            HumanSignal(thumbs=row.thumbs, rating=row.rating, corrected=row.correction is not None)
            for row in feedback
        ],
    )
