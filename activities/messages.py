"""`append_message`: the workflow adds a user message to a thread (the task, a nudge, or
guardrail feedback for a revision)."""

from __future__ import annotations

from temporalio import activity

from ledgerd import transcript
from ledgerd.contracts import TranscriptMessage
from ledgerd.runtime import dependencies


@activity.defn(name="append_message")
async def append_message(message: TranscriptMessage) -> None:
    # Position 999 sorts after the turn's tool results, which the API requires first.
    await transcript.append(
        dependencies().pool,
        message.ref,
        message.turn,
        999 if message.turn else 0,
        "user",
        [{"type": "text", "text": message.text}],
    )
