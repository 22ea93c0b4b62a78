"""List prices for the cost ESTIMATE in traces: USD per million tokens.

This is an estimate, not a bill: it ignores batch discounts, long-prompt tiers (Haiku 5.5
prompts over 100K tokens cost more), regional multipliers and 1-hour cache writes (priced here
as 5-minute writes). Prices are Anthropic's published list prices as of PRICES_AS_OF; update
the table when they change. A model not listed is priced at 0 and named in the trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledgerd.contracts import Usage

PRICES_AS_OF = "2026-11"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


PRICES: dict[str, Price] = {
    "claude-opus-5-5": Price(input=4.0, output=20.0, cache_read=0.20, cache_write=5.0),
    "claude-sonnet-5-5": Price(input=2.0, output=10.0, cache_read=0.10, cache_write=2.50),
    "claude-haiku-5-5": Price(input=0.10, output=0.50, cache_read=0.01, cache_write=0.125),
    "claude-opus-5": Price(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25),
    "claude-sonnet-5": Price(input=2.0, output=10.0, cache_read=0.20, cache_write=2.50),
    "claude-haiku-4-5": Price(input=1.0, output=5.0, cache_read=0.10, cache_write=1.25),
}

_SNAPSHOT = re.compile(r"-\d{8}$")


def price_of(model: str) -> Price | None:
    """The list price of `model`; dated snapshot ids (`…-20261007`) use their base id."""
    return PRICES.get(model) or PRICES.get(_SNAPSHOT.sub("", model))


def estimate_cost(model: str, usage: Usage) -> tuple[float, bool]:
    """(estimated USD, whether the model has a price); unknown models cost 0."""
    price = price_of(model)
    if price is None:
        return 0.0, False
    cost = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_creation_tokens * price.cache_write
    ) / 1_000_000
    return cost, True


COST_NOTE = (
    f"estimate from list prices as of {PRICES_AS_OF} (ledgerd/prices.py); "
    "not a bill: batch, long-prompt and regional pricing are ignored"
)
