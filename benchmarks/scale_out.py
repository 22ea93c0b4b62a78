"""Scale-out: the same 200 vendor hydrations on 1, 2 and 4 worker processes, then a worker
killed under load.

    uv run python -m benchmarks.scale_out [--daemons 200] [--workers 1 2 4] [--latency-ms 200]

One Temporal dev server, one embedded PostgreSQL (a fresh copy of the seeded demo data per
run, so every run does the same work), the offline stand-in as its own process with a fixed
latency per model call, and N `python -m worker` processes serving one task queue and its
model queues. The daemons hydrate the seeded tenants' busiest unlinked merchants, one per
merchant, as the batch hydration starts them. Throughput is daemons finished per minute, from
the first start to the last result.

The kill run starts the same daemons on two workers and SIGKILLs one once a third have
finished: nothing is lost (every daemon finishes, through Temporal's retries of the dead
worker's activities after their timeouts) and nothing is done twice (no duplicate vendor, no
descriptor recorded twice on one vendor). Figures measured here are in docs/deploy.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from benchmarks._fleet import WorkerFleet, merchant_groups, start_hydrations, worker_environment
from ledgerd.contracts import DaemonResult
from ledgerd.db import apply_migrations, open_pool
from ledgerd.plugin import LedgerdPlugin
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._process import spawn, stop
from ledgerd.stack._temporal import search_attribute_args
from workflows import VendorHydration

TENANTS = ["acme", "globex"]


@dataclass
class RunResult:
    workers: int
    daemons: int
    seconds: float
    outcomes: Counter[str] = field(default_factory=Counter)
    killed_after: int | None = None
    vendors_before: int = 0
    vendors: int = 0
    duplicate_vendors: int = 0
    duplicate_descriptors: int = 0
    worker_cpu_seconds: float = 0.0
    machine_busy: float = 0.0
    activities_per_daemon: float = 0.0

    @property
    def cpu_per_daemon(self) -> float:
        return self.worker_cpu_seconds / self.daemons

    @property
    def per_minute(self) -> float:
        return self.daemons / self.seconds * 60

    @property
    def lost(self) -> int:
        return self.daemons - sum(self.outcomes.values())


SAMPLE = 20  # histories read to count activities per daemon


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat (Linux)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _activities_per_daemon(
    handles: list[WorkflowHandle[VendorHydration, DaemonResult]],
) -> float:
    """Activities scheduled per run (each is an action on Temporal Cloud's bill)."""
    counts = []
    for handle in handles:
        history = await handle.fetch_history()
        counts.append(
            sum(
                e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events
            )
        )
    return sum(counts) / len(counts)


async def _integrity(database_url: str) -> tuple[int, int, int]:
    """(vendors, vendors sharing a tenant and name, vendors listing a descriptor twice)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                """SELECT
                     (SELECT count(*) FROM vendors),
                     (SELECT count(*) FROM (SELECT 1 FROM vendors
                        GROUP BY tenant_id, lower(canonical_name) HAVING count(*) > 1) d),
                     (SELECT count(*) FROM vendors v WHERE cardinality(v.descriptors)
                        <> (SELECT count(DISTINCT x) FROM unnest(v.descriptors) x))"""
            )
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def run_daemons(
    client: Client,
    *,
    temporal_address: str,
    database_url: str,
    model_port: int,
    workers: int,
    daemons: int,
    logs: Path,
    kill_after: int | None = None,
) -> RunResult:
    """Start `workers` worker processes, run `daemons` hydrations through them, and (with
    `kill_after`) SIGKILL worker 0 once that many have finished."""
    queue = f"scale-{uuid.uuid4().hex[:8]}"
    pool = await open_pool(database_url, max_size=2)
    try:
        groups = await merchant_groups(pool, TENANTS, daemons)
    finally:
        await pool.close()
    fleet = WorkerFleet(
        worker_environment(
            temporal_address=temporal_address,
            database_url=database_url,
            model_port=model_port,
            task_queue=queue,
        ),
        logs / queue,
    )
    result = RunResult(workers=workers, daemons=daemons, seconds=0.0, killed_after=kill_after)
    result.vendors_before = (await _integrity(database_url))[0]
    cpu_before = _children_cpu()
    fleet.start(workers)
    try:
        await fleet.ready()
        started = time.perf_counter()
        busy_before, total_before = _machine_ticks()
        handles = await start_hydrations(client, groups, queue, queue)
        pending = asyncio.as_completed([h.result() for h in handles])
        for finished, next_result in enumerate(pending, start=1):
            outcome = await next_result
            result.outcomes[outcome.outcome.value] += 1
            if finished == kill_after:
                fleet.kill(0)
        result.seconds = time.perf_counter() - started
        busy_after, total_after = _machine_ticks()
        # Everything on the machine: workers, Temporal, PostgreSQL, the stand-in, and others.
        result.machine_busy = (busy_after - busy_before) / max(1, total_after - total_before)
        result.activities_per_daemon = await _activities_per_daemon(handles[:SAMPLE])
    finally:
        await fleet.stop()
    # The workers are this process's only children waited for in between (the stand-in and
    # the servers are waited for at the very end), so this is their CPU time, user + system.
    result.worker_cpu_seconds = _children_cpu() - cpu_before
    result.vendors, result.duplicate_vendors, result.duplicate_descriptors = await _integrity(
        database_url
    )
    return result


def render(results: list[RunResult], latency_ms: int) -> str:
    lines = [
        f"{results[0].daemons} vendor hydrations, stand-in latency {latency_ms} ms per model "
        f"call, {os.cpu_count()} cores",
        f"{'workers':<18} {'seconds':>8} {'daemons/min':>12} {'speed-up':>9} "
        f"{'worker CPU s/daemon':>20} {'machine busy':>13} {'lost':>5} {'duplicates':>11}  "
        "outcomes",
    ]
    base = results[0].per_minute
    for r in results:
        label = f"{r.workers}" + (f", 1 killed at {r.killed_after}" if r.killed_after else "")
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items()))
        lines.append(
            f"{label:<18} {r.seconds:>8.1f} {r.per_minute:>12.1f} {r.per_minute / base:>8.2f}x "
            f"{r.cpu_per_daemon:>20.2f} {r.machine_busy:>12.0%} {r.lost:>5} "
            f"{r.duplicate_vendors + r.duplicate_descriptors:>11}  {outcomes}"
        )
    lines.append(f"activities per daemon: {results[-1].activities_per_daemon:.1f}")
    return "\n".join(lines)


async def main(daemons: int, worker_counts: list[int], latency_ms: int) -> str:
    with tempfile.TemporaryDirectory(prefix="ledgerd-scale-") as folder:
        root = Path(folder)
        postgres = EmbeddedPostgres(root / "pg", free_port(), database="seed")
        postgres.start(root / "pg.log")
        model_port = free_port()
        standin = spawn(
            [sys.executable, "-m", "standin", "--port", str(model_port)],
            log=root / "standin.log",
            env={**os.environ, "LEDGERD_OFFLINE_LATENCY_MS": str(latency_ms)},
        )
        try:
            await apply_migrations(postgres.url())
            from demo_seed import seed_demo_data

            seed_pool = await open_pool(postgres.url(), max_size=2)
            try:
                await seed_demo_data(seed_pool)
            finally:
                await seed_pool.close()
            async with await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(binary("temporal")),
                plugins=[LedgerdPlugin()],
                dev_server_extra_args=search_attribute_args(),
            ) as env:
                address = env.client.service_client.config.target_host
                results: list[RunResult] = []
                runs = [(n, None) for n in worker_counts] + [(2, daemons // 3)]
                for number, (workers, kill_after) in enumerate(runs):
                    database = f"run{number}"
                    with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
                        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "seed"')
                    result = await run_daemons(
                        env.client,
                        temporal_address=address,
                        database_url=postgres.url(database),
                        model_port=model_port,
                        workers=workers,
                        daemons=daemons,
                        logs=root / "logs",
                        kill_after=kill_after,
                    )
                    results.append(result)
                    print(render(results, latency_ms), flush=True)
        finally:
            stop(standin)
            postgres.stop()
    text = render(results, latency_ms)
    print("\n" + text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daemons", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency-ms", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.daemons, arguments.workers, arguments.latency_ms))
