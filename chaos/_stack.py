"""The real embedded stack, with a handle on every part a scenario breaks.

The same parts `ledgerd dev` runs (ledgerd.stack): the Temporal dev server on a SQLite file
(so a restart keeps every history), the embedded PostgreSQL, the offline stand-in as its own
process, real `python -m worker` processes (benchmarks._fleet) and `python -m ledgerd.api`.
Each scenario gets a fresh database cloned from a seeded template, its own task queue, its
own stand-in and its own worker, so one scenario's faults and leftovers never touch another.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from temporalio.client import Client

from benchmarks._fleet import WorkerFleet, worker_environment
from ledgerd.db import apply_migrations, open_pool
from ledgerd.plugin import LedgerdPlugin
from ledgerd.stack import EmbeddedPostgres, EmbeddedTemporal, free_port
from ledgerd.stack._process import log_tail, spawn, stop

TEMPLATE = "chaos_seed"


class ChaosStack:
    """PostgreSQL and Temporal, shared by the scenarios of one `ledgerd chaos` run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = EmbeddedPostgres(root / "pg", free_port(), database=TEMPLATE)
        self.temporal = EmbeddedTemporal(root / "temporal", free_port(), free_port(), "default")
        self.client: Client | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.postgres.start, self.root / "logs" / "postgres.log")
        await apply_migrations(self.postgres.url())
        from demo_seed import seed_demo_data  # a tool: imported only when a run needs it

        pool = await open_pool(self.postgres.url(), max_size=2)
        try:
            await seed_demo_data(pool)
        finally:
            await pool.close()
        await self.start_temporal()

    async def start_temporal(self) -> None:
        # EmbeddedTemporal waits for readiness with its own event loop: give it a thread.
        await asyncio.to_thread(self.temporal.start, self.root / "logs" / "temporal.log")
        self.client = await Client.connect(
            self.temporal.address, namespace="default", plugins=[LedgerdPlugin()]
        )

    def stop_temporal(self) -> None:
        """SIGTERM, as a deploy or a node drain stops it; state stays in its SQLite file."""
        self.temporal.stop()

    async def start_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.start, self.root / "logs" / "postgres.log")

    def stop_postgres(self) -> None:
        """A fast shutdown (SIGINT): every client connection is cut at once."""
        self.postgres.stop()

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.postgres.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        return self.postgres.url(name)

    async def close(self) -> None:
        self.client = None
        await asyncio.to_thread(self.temporal.stop)
        await asyncio.to_thread(self.postgres.stop)


class ScenarioParts:
    """One scenario's database, stand-in, worker and (scenario e) HTTP API."""

    def __init__(
        self,
        stack: ChaosStack,
        scenario: str,
        *,
        webhook_url: str,
        standin_env: dict[str, str] | None = None,
    ) -> None:
        self.stack = stack
        self.scenario = scenario
        self.logs = stack.root / "logs" / scenario
        self.task_queue = f"chaos-{scenario}-{uuid.uuid4().hex[:6]}"
        self.database_url = stack.fresh_database(f"chaos_{scenario}_{uuid.uuid4().hex[:6]}")
        self.model_port = free_port()
        self.standin_env = standin_env or {}
        self.standin: subprocess.Popen[bytes] | None = None
        self.env = worker_environment(
            temporal_address=stack.temporal.address,
            database_url=self.database_url,
            model_port=self.model_port,
            task_queue=self.task_queue,
            LEDGERD_NOTIFY_WEBHOOK_URL=webhook_url,
            # Every part signs and encrypts with the keys this process loaded.
            LEDGERD_STATE_DIR=str(_state_dir()),
            LEDGERD_DB_POOL_MAX="8",
        )
        self.fleets: list[WorkerFleet] = []  # one per worker started: the last one runs
        self.api: subprocess.Popen[bytes] | None = None
        self.api_port = free_port()
        self.api_starts = 0

    @property
    def model_url(self) -> str:
        return f"http://127.0.0.1:{self.model_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    async def start(self) -> None:
        self.standin = spawn(
            [sys.executable, "-m", "standin", "--port", str(self.model_port)],
            log=self.logs / "standin.log",
            # The control endpoints (faults, recorded requests) are off by default.
            env={**os.environ, "LEDGERD_OFFLINE_CONTROL": "1", **self.standin_env},
        )
        await self._wait_http(f"{self.model_url}/health", self.standin, "standin.log")
        await self.start_worker()

    @property
    def worker(self) -> subprocess.Popen[bytes]:
        return self.fleets[-1].processes[0]

    async def start_worker(self) -> None:
        fleet = WorkerFleet(self.env, self.logs / f"worker-{len(self.fleets)}")
        self.fleets.append(fleet)
        fleet.start(1)
        await fleet.ready()

    def kill_worker(self) -> None:
        """kill -9 the running worker: no drain, its activities are retried after timeouts."""
        self.fleets[-1].kill(0)

    async def start_api(self) -> None:
        self.api = spawn(
            [sys.executable, "-m", "ledgerd.api", "--port", str(self.api_port)],
            log=self.logs / f"api-{self.api_starts}.log",
            env={
                **self.env,
                "LEDGERD_RATE_LIMIT_PER_PRINCIPAL": "100000",
                "LEDGERD_RATE_LIMIT_PER_TENANT": "100000",
            },
        )
        self.api_starts += 1
        await self._wait_http(f"{self.api_url}/health", self.api, f"api-{self.api_starts - 1}.log")

    def kill_api(self) -> None:
        if self.api is not None:
            self.api.send_signal(signal.SIGKILL)
            self.api.wait(10)

    async def _wait_http(
        self, url: str, process: subprocess.Popen[bytes], log: str, within: float = 120
    ) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"{url} exited:\n{log_tail(self.logs / log)}")
                try:
                    if (await http.get(url)).status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{url} did not answer within {within:.0f}s")

    async def close(self) -> None:
        for fleet in self.fleets:
            await fleet.stop()
        for process in (self.api, self.standin):
            if process is not None:
                await asyncio.to_thread(stop, process)


def _state_dir() -> Path:
    from ledgerd.config import get_settings

    return get_settings().state_dir.resolve()
