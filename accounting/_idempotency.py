"""Run a mutation at most once per idempotency key.

Temporal retries an activity whose worker died after the write but before reporting back.
The key (derived from workflow id and step) is recorded in the same transaction as the
write, with the result, so the retry returns the first result instead of writing again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from accounting._access import Conn
from accounting.errors import InvalidRequest
from accounting.principals import Principal

Result = TypeVar("Result", bound=BaseModel)


async def once(
    conn: Conn,
    principal: Principal,
    handler: str,
    key: str | None,
    result_type: type[Result],
    action: Callable[[], Awaitable[Result]],
) -> Result:
    """Inside the caller's transaction: replay the stored result for `key`, or act and store."""
    if key is None:
        return await action()
    # Two concurrent retries with one key must not both act: serialise them on the key.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
    cursor = await conn.execute(
        "SELECT tenant_id, handler, result FROM idempotency_keys WHERE key = %s", (key,)
    )
    row = await cursor.fetchone()
    if row is not None:
        if row["tenant_id"] != principal.tenant_id or row["handler"] != handler:
            raise InvalidRequest(f"idempotency key {key!r} was already used for another request")
        return result_type.model_validate(row["result"])
    result = await action()
    await conn.execute(
        "INSERT INTO idempotency_keys (key, tenant_id, handler, result) VALUES (%s, %s, %s, %s)",
        (key, principal.tenant_id, handler, Jsonb(result.model_dump(mode="json"))),
    )
    return result
