"""The reward functions: the arithmetic of each named weight, and the order they put
responses in (which is what the dataset export's `--min-reward` relies on)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ledgerd.contracts import Outcome
from ledgerd.feedback import StoredFeedback, Thumbs
from ledgerd.feedback.rewards import (
    WEIGHTS,
    HumanSignal,
    RewardWeights,
    RunSignals,
    run_reward,
    signals_of,
)

UP = HumanSignal(thumbs=Thumbs.UP)
DOWN = HumanSignal(thumbs=Thumbs.DOWN)
CORRECTED = HumanSignal(thumbs=Thumbs.DOWN, corrected=True)


def reward(
    outcome: Outcome | None,
    reviews: int = 1,
    *feedback: HumanSignal,
    weights: RewardWeights = WEIGHTS,
) -> float:
    return run_reward(RunSignals(outcome, reviews, feedback), weights).total


def test_each_part_is_its_named_weight() -> None:
    clean = run_reward(RunSignals(Outcome.COMPLETED, 1, [UP]))
    assert clean.parts == {
        "outcome": WEIGHTS.outcome[Outcome.COMPLETED],
        "guardrail": WEIGHTS.guardrail_passed,
        "revisions": 0.0,
        "human": WEIGHTS.thumbs_up,
    }
    assert clean.total == pytest.approx(sum(clean.parts.values()))

    escalated = run_reward(RunSignals(Outcome.ESCALATED, 2, [CORRECTED]))
    assert escalated.parts == {
        "outcome": WEIGHTS.outcome[Outcome.ESCALATED],
        "guardrail": WEIGHTS.guardrail_failed,
        "revisions": WEIGHTS.per_revision,
        "human": WEIGHTS.thumbs_down,
        "correction": WEIGHTS.correction,
    }


def test_ratings_are_centred_on_three_and_people_are_averaged() -> None:
    for rating in range(1, 6):
        parts = run_reward(RunSignals(None, 0, [HumanSignal(rating=rating)])).parts
        assert parts == {"outcome": 0.0, "human": WEIGHTS.per_rating_point * (rating - 3)}
    # Two people: one thumbs up and rating 5, one thumbs down. The mean, not the sum.
    both = run_reward(RunSignals(None, 0, [HumanSignal(thumbs=Thumbs.UP, rating=5), DOWN])).parts[
        "human"
    ]
    assert both == pytest.approx(
        (WEIGHTS.thumbs_up + 2 * WEIGHTS.per_rating_point + WEIGHTS.thumbs_down) / 2
    )
    # A comment alone is no signal; a correction counts once however many people corrected.
    assert "human" not in run_reward(RunSignals(None, 0, [HumanSignal()])).parts
    twice = run_reward(RunSignals(None, 0, [CORRECTED, CORRECTED])).parts
    assert twice["correction"] == WEIGHTS.correction


def test_responses_are_ordered_as_documented() -> None:
    ranked = [
        reward(Outcome.COMPLETED, 1, UP),  # approved, right the first time
        reward(Outcome.COMPLETED, 1),  # unrated, clean
        reward(Outcome.COMPLETED, 2),  # needed a revision
        reward(Outcome.ESCALATED, 2),  # the guardrail never accepted it
        reward(Outcome.BUDGET_EXHAUSTED, 0),
        reward(Outcome.INVALID_ANSWER, 0),
    ]
    assert ranked == sorted(ranked, reverse=True) and len(set(ranked)) == len(ranked)
    # A correction outweighs the most praise: below the same answer left uncorrected.
    praised_but_corrected = HumanSignal(thumbs=Thumbs.UP, rating=5, corrected=True)
    assert reward(Outcome.COMPLETED, 1, praised_but_corrected) < reward(Outcome.COMPLETED, 1)
    assert reward(Outcome.COMPLETED, 1, UP, CORRECTED) < reward(Outcome.COMPLETED, 2)
    # People outrank the machine: an escalated answer people approve beats a clean one they
    # turned down.
    assert reward(Outcome.ESCALATED, 2, UP) > reward(Outcome.COMPLETED, 1, DOWN)
    # A daemon without a guardrail neither gains nor loses for it.
    assert run_reward(RunSignals(Outcome.COMPLETED, 0)).parts == {
        "outcome": WEIGHTS.outcome[Outcome.COMPLETED]
    }


def test_weights_can_be_changed_in_one_place() -> None:
    harsher = replace(WEIGHTS, per_revision=-1.0)
    assert reward(Outcome.COMPLETED, 3, weights=harsher) == pytest.approx(
        WEIGHTS.outcome[Outcome.COMPLETED] + WEIGHTS.guardrail_passed - 2.0
    )


def test_signals_of_stored_feedback() -> None:
    def row(**changes: object) -> StoredFeedback:
        fields: dict[str, object] = {
            "id": 1,
            "tenant_id": "acme",
            "workflow_id": "w",
            "run_id": "w@r",
            "daemon": "vendor_hydration",
            "given_by": "acme-owner",
            "given_by_role": "owner",
            "thumbs": None,
            "rating": None,
            "correction": None,
            "comment": "",
            "response": {"a": 1},
            "task": "t",
            "outcome": Outcome.COMPLETED,
            "guardrail_reviews": 1,
            "models": {},
            "prompt_versions": {},
            "created_at": datetime.now(UTC),
        }
        return StoredFeedback.model_validate(fields | changes)

    signals = signals_of(
        [row(thumbs=Thumbs.UP), row(rating=2, correction={"a": 2}, guardrail_reviews=2)]
    )
    assert signals.outcome is Outcome.COMPLETED and signals.guardrail_reviews == 2
    assert [(s.thumbs, s.rating, s.corrected) for s in signals.feedback] == [
        (Thumbs.UP, None, False),
        (None, 2, True),
    ]
    with pytest.raises(ValueError, match="at least one feedback row"):
        signals_of([])
