"""Running the stand-in in-process, for tests and for the stack supervisor.

The socket is bound here rather than by uvicorn so that port 0 yields a known free port and a
bind failure raises an ordinary `OSError` (uvicorn would `sys.exit` inside the event loop).
uvicorn's signal capture is disabled: an embedded server must not take SIGINT/SIGTERM away
from the process that hosts it; it stops when its context exits or its task is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from types import TracebackType

import uvicorn

from standin._config import OfflineModelConfig
from standin._server import create_app

log = logging.getLogger("standin")


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class OfflineModelServer:
    """`async with OfflineModelServer(port=0) as server:` then use `server.base_url`."""

    def __init__(
        self,
        config: OfflineModelConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self._config = config
        self._host = host
        self._requested_port = port
        self._log_level = log_level
        self._port: int | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the offline model server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # An explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets whose
        # proto says TCP, and without it every response waits ~40 ms on delayed ACKs.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._requested_port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(self._config),
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the offline model server stopped during start-up")
            await asyncio.sleep(0.01)
        log.info("offline model stand-in listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._server.force_exit = True
            await self._task
        finally:
            self._server = None
            self._task = None
            self._port = None

    async def wait_closed(self) -> None:
        """Until the server stops by itself (it normally runs until `stop`)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def __aenter__(self) -> OfflineModelServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve(
    host: str = "127.0.0.1", port: int = 8765, config: OfflineModelConfig | None = None
) -> None:
    """Serve until cancelled: the form a supervisor runs as a task."""
    async with OfflineModelServer(config, host=host, port=port, log_level="info") as server:
        print(f"ledgerd offline model stand-in listening on {server.base_url}", flush=True)
        await server.wait_closed()
