"""Limits on use of the HTTP API: requests per minute per principal and per tenant (HTTP 429
with `Retry-After`), and the size of a request body (HTTP 413).

Counts live in PostgreSQL (`api_rate_windows`, one row per key and minute), so the limits hold
across every API process. A fixed one-minute window is simple and exact about what it
counts; at a window's edge a caller can make up to twice the limit in a short burst, which the
per-tenant limit still bounds.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerd.db import Pool

_HIT = """
INSERT INTO api_rate_windows (key, window_start, hits)
VALUES (%(principal)s, date_trunc('minute', now()), 1), (%(tenant)s, date_trunc('minute', now()), 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = api_rate_windows.hits + 1
RETURNING key, hits,
          ceil(extract(epoch FROM window_start + interval '1 minute' - now()))::int AS retry_after
"""


async def over_limit(
    pool: Pool, principal_key: str, tenant_key: str, *, per_principal: int, per_tenant: int
) -> tuple[str, int] | None:
    """Count one request against both keys; (which limit, seconds to wait) if over either."""
    async with pool.connection() as conn:
        cursor = await conn.execute(_HIT, {"principal": principal_key, "tenant": tenant_key})
        rows = {row["key"]: row for row in await cursor.fetchall()}
        if any(row["hits"] == 1 for row in rows.values()):
            # A new window began: drop old ones (at most once per key and minute).
            await conn.execute(
                "DELETE FROM api_rate_windows WHERE window_start < now() - interval '5 minutes'"
            )
    for key, limit, what in (
        (principal_key, per_principal, "principal"),
        (tenant_key, per_tenant, "tenant"),
    ):
        row = rows[key]
        if row["hits"] > limit:
            return f"{limit} requests per minute per {what}", max(1, int(row["retry_after"]))
    return None


class BodyLimit:
    """Refuse a request body larger than `max_bytes` with 413, before the app reads it.

    A declared Content-Length over the limit is refused at once; a chunked body is counted as
    it arrives and refused when it passes the limit. Nothing of it reaches the app then.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees the disconnect below
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "type": "payload_too_large",
                    "message": f"the request body is larger than {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
