"""Idempotent starts: a caller that lost the answer to a start (a cut connection, an API that
restarted mid-request) starts again with the same key and gets the same run, never a second.

Temporal refuses a second run under a running workflow id, but not once the first has
finished, and a hydration often finishes before its caller retries. So the key (hashed with
the principal, so one caller cannot find another's runs) goes into the run's memo, and a start
with a key first looks for a run under the same id that carries it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from accounting.principals import Principal
from starter._client import traced_start

MEMO_KEY = "idempotency_key"
R = TypeVar("R")


def key_digest(principal: Principal, key: str) -> str:
    return hashlib.sha256(f"{principal.id}\n{key}".encode()).hexdigest()[:32]


async def _earlier_run(client: Client, workflow_id: str, digest: str) -> str | None:
    """The run id under `workflow_id` that was started with this key, if any."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    found = await described.memo_value(MEMO_KEY, default=None)
    return described.run_id if found == digest else None


async def start_once(
    client: Client,
    run: Callable[[Any, Any], Awaitable[R]],
    request: Any,
    *,
    id: str,
    what: str,
    digest: str | None,
    **options: Any,
) -> WorkflowHandle[Any, R]:
    """Start `run(request)` as `id` (a span named after `what`, the trace id in the memo),
    unless a run of `id` was started with `digest`: then that run's handle."""
    if digest is not None and (run_id := await _earlier_run(client, id, digest)) is not None:
        return client.get_workflow_handle_for(run, id, run_id=run_id)
    with traced_start(what) as memo:
        if digest is not None:
            memo[MEMO_KEY] = digest
        try:
            return await client.start_workflow(run, request, id=id, memo=memo, **options)
        except WorkflowAlreadyStartedError:
            # Two retries of one request raced: the first one's run is the answer to both.
            if digest is not None and (run_id := await _earlier_run(client, id, digest)):
                return client.get_workflow_handle_for(run, id, run_id=run_id)
            raise
