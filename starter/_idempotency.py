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

MEMO_KEY = "idempotency_key"
H = TypeVar("H", bound=WorkflowHandle[Any, Any])


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
    workflow_id: str,
    digest: str | None,
    start: Callable[[dict[str, str]], Awaitable[H]],
    existing: Callable[[str], H],
) -> H:
    """`start(memo extras)`, unless a run of `workflow_id` carries `digest`: then
    `existing(run_id)`. Without a digest, just `start({})`."""
    if digest is None:
        return await start({})
    if (run_id := await _earlier_run(client, workflow_id, digest)) is not None:
        return existing(run_id)
    try:
        return await start({MEMO_KEY: digest})
    except WorkflowAlreadyStartedError:
        # Two retries of one request raced: the first one's run is the answer to both.
        if (run_id := await _earlier_run(client, workflow_id, digest)) is not None:
            return existing(run_id)
        raise
