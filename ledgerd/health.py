"""A worker's health endpoint for Kubernetes probes: `GET /healthz`.

The worker has no HTTP server of its own; this answers 200 while it polls and 503 once it
drains (after SIGTERM), so a readiness probe stops counting a pod that is going away. Plain
asyncio: a probe needs no framework, and nothing here may block the worker's event loop.
"""

from __future__ import annotations

import asyncio


class HealthServer:
    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self.draining = False

    @classmethod
    async def start(cls, port: int, host: str = "0.0.0.0") -> HealthServer:
        """Listen on `port` (all interfaces: the kubelet probes the pod's address)."""
        health = cls()
        health._server = await asyncio.start_server(health._answer, host, port)
        return health

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            path = request.split(b" ")[1] if request.count(b" ") >= 2 else b""
            if path != b"/healthz":
                status, body = "404 Not Found", b"not found\n"
            elif self.draining:
                status, body = "503 Service Unavailable", b"draining\n"
            else:
                status, body = "200 OK", b"ok\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass  # a probe that hung up or never spoke: nothing to answer
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
