"""What one model call cost, from the registry's list prices: an estimate, not a bill.

Priced per call, because tiers are per request: a Haiku 5.5 request whose prompt (input,
cache reads and cache writes together) is over 100,000 tokens pays the higher row for every
category, output included. Thinking tokens are part of `output_tokens`, so they are priced as
output. Batch discounts and regional multipliers are not applied (ledgerd sends no batches).
"""

from __future__ import annotations

from ledgerd.contracts import Usage
from ledgerd.model_registry._profile import registry

PRICES_AS_OF = "2026-12"

COST_NOTE = (
    f"estimate from list prices as of {PRICES_AS_OF} (ledgerd/model_registry/registry.toml); "
    "not a bill: batch and regional pricing are ignored"
)


def estimate_cost(model: str, usage: Usage) -> tuple[float, bool]:
    """(estimated USD of one call, whether the model has a price); unknown models cost 0."""
    profile = registry().get(model)
    if profile is None or profile.prices is None:
        return 0.0, False
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_creation_tokens
    row = profile.prices.row_for(prompt)
    write_1h = min(usage.cache_creation_1h_tokens, usage.cache_creation_tokens)
    cost = (
        usage.input_tokens * row.input
        + usage.output_tokens * row.output
        + usage.cache_read_tokens * row.cache_read
        + (usage.cache_creation_tokens - write_1h) * row.cache_write_5m
        + write_1h * row.cache_write_1h
    ) / 1_000_000
    return cost, True
