"""The key of one execution chain, for everything a run writes outside Temporal.

A workflow id is reused: hydrating the same descriptor again, onboarding the same tenant
again. Transcripts, idempotency keys and notification dedupe keys therefore derive from the
id *and* the chain's first run id, so a later run never inherits an earlier run's
conversation, replays its writes, or has its notifications swallowed as duplicates. The first
run id survives continue-as-new, so a continued run keeps its keys.
"""

from __future__ import annotations

from temporalio import workflow


def execution_key() -> str:
    info = workflow.info()
    return f"{info.workflow_id}@{info.first_execution_run_id}"
