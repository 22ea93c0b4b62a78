"""History grows by a constant per model step: the conversation stays in PostgreSQL."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from benchmarks.history_growth import measure


async def test_history_bytes_per_step_do_not_grow_with_the_conversation(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    short, middle, long = await measure(time_skipping_env, pg_url, (4, 10, 16))
    early = (middle.history_bytes - short.history_bytes) / 6
    late = (long.history_bytes - middle.history_bytes) / 6
    # Sending the conversation would make each later step cost more than an earlier one.
    assert abs(late - early) <= 0.05 * early, (early, late)
    assert long.whole_conversation_bytes > 4 * long.history_bytes
