"""A notification receiver: the webhook channel's far end, counting what actually arrived.

The outbox in PostgreSQL says what ledgerd *thinks* it delivered; this says what a receiver
got, so a notification sent twice (a retried activity that had already posted) shows here
even when the outbox row looks right.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter


class WebhookReceiver:
    """`await receiver.start()`, point `LEDGERD_NOTIFY_WEBHOOK_URL` at `receiver.url`."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()  # Idempotency-Key → deliveries
        self.workflows: dict[str, str] = {}  # Idempotency-Key → workflow id
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the receiver is not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/notify"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            key = headers.get("idempotency-key", "")
            self.keys[key] += 1
            with contextlib.suppress(ValueError, AttributeError):
                self.workflows[key] = str(json.loads(body).get("workflow_id", ""))
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # a sender that died mid-request delivered nothing
        finally:
            writer.close()
