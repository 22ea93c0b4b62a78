"""A private stack for building the corpus: embedded PostgreSQL with the demo data, Temporal's
time-skipping test server, the stand-in and a worker, all in this process on free ports.
Nothing is shared with a running `ledgerd dev`."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from demo_seed import seed_demo_data
from ledgerd.config import load_settings
from ledgerd.db import Pool, apply_migrations, open_pool
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import register_search_attributes
from standin import OfflineModelConfig, OfflineModelServer


@dataclass
class Stack:
    client: Client
    pool: Pool
    queue: str
    control: httpx.AsyncClient

    async def misbehave(self, mode: str | None, daemon: str) -> None:
        """The stand-in's fault mode for the next runs (None: answer as well as it can)."""
        if mode is None or mode in ("good", "good_hard"):
            (await self.control.delete("/_control/misbehave")).raise_for_status()
        else:
            body = {"mode": mode, "daemons": [daemon]}
            (await self.control.post("/_control/misbehave", json=body)).raise_for_status()


@asynccontextmanager
async def private_stack() -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="ledgerd-corpus-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "data", free_port(), database="corpus")
        postgres.start(Path(folder) / "postgres.log")
        try:
            await apply_migrations(postgres.url())
            seeding = await open_pool(postgres.url(), max_size=2)
            try:
                await seed_demo_data(seeding)
            finally:
                await seeding.close()
            async with OfflineModelServer(OfflineModelConfig(), port=0) as model:
                deps = await open_dependencies(
                    load_settings(database_url=postgres.url(), offline_model_port=model.port)
                )
                env = await WorkflowEnvironment.start_time_skipping(
                    test_server_existing_path=str(binary("temporal-test-server")),
                    plugins=[LedgerdPlugin()],
                )
                try:
                    await register_search_attributes(env.client)
                    queue = f"corpus-{uuid.uuid4().hex[:8]}"
                    async with (
                        Worker(env.client, task_queue=queue, activities=list(ALL_ACTIVITIES)),
                        httpx.AsyncClient(base_url=model.base_url, timeout=30) as control,
                    ):
                        yield Stack(env.client, deps.pool, queue, control)
                finally:
                    await env.shutdown()
                    await deps.close()
        finally:
            postgres.stop()
