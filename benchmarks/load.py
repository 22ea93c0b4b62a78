"""Load: N daemons in flight on one worker, against a raw Temporal baseline in the same run.

    uv run python -m benchmarks.load --in-flight 1000 --latency-ms 1000 --json docs/load.json
    uv run python -m benchmarks.load --in-flight 200 --variant "" \\
        --variant LEDGERD_WORKER_MAX_CONCURRENT_ACTIVITIES=500 ...   # choosing the defaults

One embedded PostgreSQL with the demo data (a fresh copy per variant), one Temporal dev
server with the transfer-queue cap lifted (as `ledgerd dev` runs it, docs/performance.md
section 3), and the offline stand-in as its own process answering every model call after
`--latency-ms`. Per variant (a set of `LEDGERD_WORKER_*` / `LEDGERD_DB_POOL_MAX` values):

1. **ledgerd**: one `python -m worker` process; `--daemons` runs (default: as many as in
   flight) of the chosen kinds, kept `--in-flight` at a time. Kinds: `question` (the ledger
   question set, both tenants, planned) and `hydration` (the seeded tenants' busiest
   unlinked merchants, cycled when there are fewer than runs). Onboarding is left out: it
   waits for a person's approval, which would measure the approver.
2. **raw**: one `python -m benchmarks._raw_load` process with the same worker options; one
   `RawDaemon` per ledgerd run, running as many activities as that run did (its model
   calls as sleeps of the same latency, the rest as no-ops), the same number in flight.

Per side: daemons/s and activities/s (from the first start to the last result), p50 and
p95 of a daemon's start-to-result time, the worker's RSS once polling and at its peak
(VmHWM), its CPU seconds while the runs ran, and the most PostgreSQL connections open to the
run's database at any sample (every 0.2 s from pg_stat_activity; the worker is its only other
client). Timings are noisy on a shared 2-core machine: compare the sides of one run, not
runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from benchmarks._fleet import WorkerFleet, merchant_groups, worker_environment
from benchmarks._raw_load import RawDaemon, RawDaemonInput
from ledgerd.db import apply_migrations, open_pool
from ledgerd.evals.ledger_questions import load_questions
from ledgerd.plugin import LedgerdPlugin
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._process import spawn, stop
from ledgerd.stack._temporal import dynamic_config_args, search_attribute_args
from ledgerd.temporal_runtime import temporal_runtime
from starter import start_ledger_question, start_vendor_hydration

KINDS = ("question", "hydration")
MODEL_ACTIVITY_TYPES = frozenset({"plan", "model_turn", "guardrail"})
TENANTS = ("acme", "globex")
SAMPLE_SECONDS = 0.2
SEED = "seed"

Starter = Callable[[int], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass
class Side:
    """One side's figures for one variant."""

    side: str
    daemons: int
    in_flight: int
    seconds: float
    activities: int
    model_calls: int
    p50_s: float
    p95_s: float
    peak_rss_mb: float
    rss_at_start_mb: float
    worker_cpu_s: float
    pg_connections_peak: int
    model_cpu_s: float = 0.0
    machine_busy: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed: int = 0

    @property
    def daemons_per_s(self) -> float:
        return self.daemons / self.seconds if self.seconds else 0.0

    @property
    def activities_per_s(self) -> float:
        return self.activities / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "daemons_per_s": round(self.daemons_per_s, 3),
            "activities_per_s": round(self.activities_per_s, 2),
        }


@dataclass
class Variant:
    """Both sides under one set of worker settings."""

    settings: dict[str, str]
    ledgerd: Side
    raw: Side

    @property
    def ratio(self) -> float:
        """ledgerd's daemons/s over the raw baseline's (the same runs, the same activities)."""
        return self.ledgerd.daemons_per_s / self.raw.daemons_per_s if self.raw.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "ledgerd": self.ledgerd.as_json(),
            "raw": self.raw.as_json(),
            "ratio": round(self.ratio, 3),
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: a value some run actually took."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat (Linux)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_seconds(pid: int) -> float:
    # Fields 14 and 15 of /proc/<pid>/stat (utime, stime), after the command's name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ProcessSampler:
    """Samples, until stopped, the PostgreSQL connections to one database, and reads a
    process's peak RSS and CPU time from /proc (Linux)."""

    def __init__(self, pid: int, database_url: str | None, model_pid: int | None = None) -> None:
        self.pid = pid
        self.database_url = database_url
        self.model_pid = model_pid
        self.pg_peak = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProcessSampler:
        # What the process holds and has spent once polling: imports, not load.
        self.rss_at_start_mb = self.rss_mb()
        self.cpu_at_start = self.cpu_seconds()
        self.model_cpu_at_start = cpu_seconds(self.model_pid) if self.model_pid else 0.0
        self.ticks_at_start = machine_ticks()
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        busy, total = machine_ticks()
        # Everything on the machine: both servers, the stand-in, the worker, and others.
        self.machine_busy = (busy - self.ticks_at_start[0]) / max(1, total - self.ticks_at_start[1])
        self.model_cpu_s = (
            cpu_seconds(self.model_pid) - self.model_cpu_at_start if self.model_pid else 0.0
        )
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _sample(self) -> None:
        if self.database_url is None:
            return
        # One connection of its own, excluded from the count.
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as conn:
            while True:
                row = await (
                    await conn.execute(
                        # Clients only: autovacuum and parallel workers carry the
                        # database's name too, and hold no pool connection.
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'"
                    )
                ).fetchone()
                self.pg_peak = max(self.pg_peak, int(row[0]) if row else 0)
                await asyncio.sleep(SAMPLE_SECONDS)

    def _status_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


async def drive(start: Starter, total: int, in_flight: int) -> tuple[float, list[float], list[Any]]:
    """Run `total` workflows, `in_flight` at a time, each started when one finishes.

    Returns (seconds from the first start to the last result, each run's start-to-result
    seconds, each run's result or exception), in start order."""
    gate = asyncio.Semaphore(in_flight)
    latencies = [0.0] * total
    results: list[Any] = [None] * total

    async def one(n: int) -> None:
        async with gate:
            began = time.perf_counter()
            try:
                handle = await start(n)
                results[n] = await handle.result()
            except Exception as error:  # reported per run; one failure must not stop the rest
                results[n] = error
            latencies[n] = time.perf_counter() - began

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(total)))
    return time.perf_counter() - began, latencies, results


async def activity_counts(client: Client, ids: Sequence[str]) -> list[tuple[int, int]]:
    """(model calls, other activities) each run scheduled, from its history."""
    gate = asyncio.Semaphore(16)

    async def count(workflow_id: str) -> tuple[int, int]:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        names = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        model = sum(name in MODEL_ACTIVITY_TYPES for name in names)
        return model, len(names) - model

    return list(await asyncio.gather(*(count(i) for i in ids)))


async def daemon_starters(
    client: Client, database_url: str, kinds: Sequence[str], queue: str, total: int
) -> tuple[Starter, list[str]]:
    """A function starting run n (kinds alternating), and every run's workflow id."""
    questions = [q for q in load_questions() if q.tenant in TENANTS]
    merchants: list[tuple[Principal, list[str]]] = []
    if "hydration" in kinds:
        pool = await open_pool(database_url, max_size=2)
        try:
            wanted = sum(1 for n in range(total) if kinds[n % len(kinds)] == "hydration")
            # Fewer merchants than runs: the same merchant again, concurrently (the upsert
            # and the links are idempotent), which is also what a busy batch does.
            merchants = await merchant_groups(pool, list(TENANTS), min(wanted, 300))
        finally:
            await pool.close()
    ids = [f"{queue}-{n}" for n in range(total)]

    async def start(n: int) -> WorkflowHandle[Any, Any]:
        kind = kinds[n % len(kinds)]
        # The n-th run of its kind takes the next subject of that kind, cycling.
        nth = n // len(kinds)
        if kind == "question":
            asked = questions[nth % len(questions)]
            principal = Principal(
                id=f"{asked.tenant}-accountant", tenant_id=asked.tenant, role=Role.ACCOUNTANT
            )
            return await start_ledger_question(
                client,
                principal=principal,
                question=asked.question,
                workflow_id=ids[n],
                task_queue=queue,
            )
        principal, transaction_ids = merchants[nth % len(merchants)]
        return await start_vendor_hydration(
            client,
            principal=principal,
            transaction_ids=transaction_ids,
            workflow_id=ids[n],
            task_queue=queue,
        )

    return start, ids


def outcome_of(result: Any) -> str:
    if isinstance(result, BaseException):
        return f"error: {type(result).__name__}"
    outcome = getattr(result, "outcome", None)
    return str(getattr(outcome, "value", outcome)) if outcome is not None else "completed"


def side_figures(
    name: str,
    *,
    in_flight: int,
    seconds: float,
    latencies: list[float],
    results: list[Any],
    counts: list[tuple[int, int]],
    sampler: ProcessSampler,
    cpu_s: float,
    rss_mb: float,
) -> Side:
    outcomes = Counter(outcome_of(r) for r in results)
    return Side(
        side=name,
        daemons=len(results),
        in_flight=in_flight,
        seconds=round(seconds, 2),
        activities=sum(m + o for m, o in counts),
        model_calls=sum(m for m, _ in counts),
        p50_s=round(percentile(latencies, 0.50), 2),
        p95_s=round(percentile(latencies, 0.95), 2),
        peak_rss_mb=round(rss_mb, 1),
        rss_at_start_mb=round(sampler.rss_at_start_mb, 1),
        worker_cpu_s=round(cpu_s - sampler.cpu_at_start, 1),
        pg_connections_peak=sampler.pg_peak,
        model_cpu_s=round(sampler.model_cpu_s, 1),
        machine_busy=round(sampler.machine_busy, 3),
        outcomes=dict(sorted(outcomes.items())),
        failed=sum(isinstance(r, BaseException) for r in results),
    )


@dataclass(frozen=True)
class LoadStack:
    """What both sides share: the dev server's client and address, the PostgreSQL server
    (a database per variant is copied from its seeded `template`) and the stand-in's port."""

    client: Client
    temporal_address: str
    postgres: EmbeddedPostgres
    template: str
    model_port: int
    logs: Path
    model_pid: int | None = None
    """The stand-in's process, when it is one (its CPU time is reported per side)."""


async def run_variant(
    stack: LoadStack,
    *,
    settings: dict[str, str],
    kinds: Sequence[str],
    in_flight: int,
    total: int,
    latency_ms: int,
) -> Variant:
    """Both sides under `settings`: ledgerd first, then the raw baseline mirroring it."""
    queue = f"load-{uuid.uuid4().hex[:8]}"
    database = queue.replace("-", "_")
    with psycopg.connect(stack.postgres.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{stack.template}"')
    database_url = stack.postgres.url(database)
    env = worker_environment(
        temporal_address=stack.temporal_address,
        database_url=database_url,
        model_port=stack.model_port,
        task_queue=queue,
        **settings,
    )
    if "LEDGERD_DB_POOL_MAX" not in settings:
        env.pop("LEDGERD_DB_POOL_MAX")  # the fleet's 4 is for many workers; here, the default
    start, ids = await daemon_starters(stack.client, database_url, kinds, queue, total)
    fleet = WorkerFleet(env, stack.logs / queue)
    fleet.start(1)
    try:
        await fleet.ready()
        process = fleet.processes[0]
        async with ProcessSampler(process.pid, database_url, stack.model_pid) as sampler:
            seconds, latencies, results = await drive(start, total, in_flight)
        rss, cpu = sampler.peak_rss_mb(), sampler.cpu_seconds()
    finally:
        await fleet.stop()
    counts = await activity_counts(stack.client, ids)
    ledgerd = side_figures(
        "ledgerd",
        in_flight=in_flight,
        seconds=seconds,
        latencies=latencies,
        results=results,
        counts=counts,
        sampler=sampler,
        cpu_s=cpu,
        rss_mb=rss,
    )
    raw = await run_raw(stack, env, counts, in_flight, latency_ms)
    return Variant(settings=settings, ledgerd=ledgerd, raw=raw)


async def run_raw(
    stack: LoadStack,
    ledgerd_env: dict[str, str],
    counts: list[tuple[int, int]],
    in_flight: int,
    latency_ms: int,
) -> Side:
    queue = f"{ledgerd_env['LEDGERD_TASK_QUEUE']}-raw"
    env = {**ledgerd_env, "LEDGERD_TASK_QUEUE": queue}
    fleet = WorkerFleet(
        env,
        stack.logs / queue,
        module=("benchmarks._raw_load", "--task-queue", queue),
        queues=[queue],
    )
    # A plain client: the default converter, no interceptors, no codec.
    client = await Client.connect(
        stack.temporal_address, namespace="default", runtime=temporal_runtime()
    )

    async def start(n: int) -> WorkflowHandle[Any, Any]:
        model, other = counts[n]
        return await client.start_workflow(
            RawDaemon.run,
            RawDaemonInput(model_calls=model, other_calls=other, latency_ms=latency_ms),
            id=f"{queue}-{n}",
            task_queue=queue,
        )

    fleet.start(1)
    try:
        await fleet.ready()
        async with ProcessSampler(fleet.processes[0].pid, None, stack.model_pid) as sampler:
            seconds, latencies, results = await drive(start, len(counts), in_flight)
        rss, cpu = sampler.peak_rss_mb(), sampler.cpu_seconds()
    finally:
        await fleet.stop()
    return side_figures(
        "raw",
        in_flight=in_flight,
        seconds=seconds,
        latencies=latencies,
        results=results,
        counts=counts,
        sampler=sampler,
        cpu_s=cpu,
        rss_mb=rss,
    )


def render(variants: Sequence[Variant], latency_ms: int, kinds: Sequence[str]) -> str:
    first = variants[0].ledgerd
    lines = [
        f"{first.daemons} daemons ({', '.join(kinds)}), {first.in_flight} in flight, one "
        f"worker, stand-in latency {latency_ms} ms, {os.cpu_count()} cores",
        f"{'settings':<44} {'side':<8} {'s':>7} {'daemons/s':>10} {'act/s':>8} {'p50 s':>7} "
        f"{'p95 s':>7} {'RSS MB':>13} {'CPU s':>7} {'model CPU s':>11} {'busy':>5} "
        f"{'PG conn':>8} {'ratio':>6}  outcomes",
    ]
    for variant in variants:
        label = (
            " ".join(
                f"{k.removeprefix('LEDGERD_').removeprefix('WORKER_').lower()}={v}"
                for k, v in variant.settings.items()
            )
            or "(defaults)"
        )
        for side in (variant.ledgerd, variant.raw):
            ratio = f"{variant.ratio:.2f}" if side is variant.ledgerd else ""
            outcomes = ", ".join(f"{k} {v}" for k, v in side.outcomes.items())
            lines.append(
                f"{label:<44} {side.side:<8} {side.seconds:>7.1f} {side.daemons_per_s:>10.2f} "
                f"{side.activities_per_s:>8.1f} {side.p50_s:>7.2f} {side.p95_s:>7.2f} "
                f"{side.rss_at_start_mb:>5.0f} → {side.peak_rss_mb:>5.0f} {side.worker_cpu_s:>7.1f} "
                f"{side.model_cpu_s:>11.1f} {side.machine_busy:>5.0%} "
                f"{side.pg_connections_peak:>8} {ratio:>6}  {outcomes}"
            )
            label = ""
    return "\n".join(lines)


def report(variants: Sequence[Variant], *, latency_ms: int, kinds: Sequence[str]) -> dict[str, Any]:
    """The JSON written by `--json`: the run's shape, then each variant's two sides."""
    return {
        "in_flight": variants[0].ledgerd.in_flight,
        "daemons": variants[0].ledgerd.daemons,
        "kinds": list(kinds),
        "latency_ms": latency_ms,
        "cores": os.cpu_count(),
        "variants": [v.as_json() for v in variants],
    }


def parse_variant(text: str) -> dict[str, str]:
    """`KEY=VALUE,KEY=VALUE` (an empty string: the defaults). Keys are the variables."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 or not p[0].strip().startswith("LEDGERD_") for p in pairs):
        raise argparse.ArgumentTypeError(f"expected LEDGERD_KEY=VALUE pairs, got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


async def seed(postgres: EmbeddedPostgres) -> None:
    from demo_seed import seed_demo_data

    await apply_migrations(postgres.url(SEED))
    pool = await open_pool(postgres.url(SEED), max_size=2)
    try:
        await seed_demo_data(pool)
    finally:
        await pool.close()


async def run_load(
    stack: LoadStack,
    *,
    variants: Sequence[dict[str, str]],
    kinds: Sequence[str],
    in_flight: int,
    total: int,
    latency_ms: int,
    progress: Callable[[str], None] | None = None,
) -> list[Variant]:
    done: list[Variant] = []
    for settings in variants:
        done.append(
            await run_variant(
                stack,
                settings=settings,
                kinds=kinds,
                in_flight=in_flight,
                total=total,
                latency_ms=latency_ms,
            )
        )
        if progress is not None:
            progress(render(done, latency_ms, kinds))
    return done


async def measure(arguments: argparse.Namespace) -> list[Variant]:
    """Start the stack, run every variant, tear the stack down."""
    kinds: list[str] = arguments.kinds
    total = arguments.daemons or arguments.in_flight
    with tempfile.TemporaryDirectory(prefix="ledgerd-load-") as folder:
        root = Path(folder)
        postgres = EmbeddedPostgres(root / "pg", free_port(), database=SEED)
        postgres.start(root / "pg.log")
        model_port = free_port()
        standin = spawn(
            [sys.executable, "-m", "standin", "--port", str(model_port)],
            log=root / "standin.log",
            env={**os.environ, "LEDGERD_OFFLINE_LATENCY_MS": str(arguments.latency_ms)},
        )
        try:
            await seed(postgres)
            async with await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(binary("temporal")),
                plugins=[LedgerdPlugin()],
                dev_server_extra_args=search_attribute_args() + dynamic_config_args(),
                runtime=temporal_runtime(),
            ) as env:
                stack = LoadStack(
                    client=env.client,
                    temporal_address=env.client.service_client.config.target_host,
                    postgres=postgres,
                    template=SEED,
                    model_port=model_port,
                    logs=root / "logs",
                    model_pid=standin.pid,
                )
                variants = await run_load(
                    stack,
                    variants=arguments.variant or [{}],
                    kinds=kinds,
                    in_flight=arguments.in_flight,
                    total=total,
                    latency_ms=arguments.latency_ms,
                    progress=lambda text: print(text + "\n", flush=True),
                )
        finally:
            stop(standin)
            postgres.stop()
    return variants


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 1 when any run failed: the figures of a side that lost runs mean nothing."""
    arguments = parse_arguments(argv)
    variants = asyncio.run(measure(arguments))
    if arguments.json:
        figures = report(variants, latency_ms=arguments.latency_ms, kinds=arguments.kinds)
        Path(arguments.json).write_text(json.dumps(figures, indent=2) + "\n")
    failed = sum(v.ledgerd.failed + v.raw.failed for v in variants)
    if failed:
        print(f"{failed} runs failed (see the outcomes column)", file=sys.stderr)
    return 1 if failed else 0


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--in-flight", type=int, default=1000, help="daemons at once")
    parser.add_argument("--daemons", type=int, default=0, help="runs in all (default: in flight)")
    parser.add_argument("--latency-ms", type=int, default=1000, help="per model call")
    parser.add_argument(
        "--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="alternated in order"
    )
    parser.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        help='worker settings, e.g. "LEDGERD_WORKER_MAX_CONCURRENT_ACTIVITIES=500,'
        'LEDGERD_DB_POOL_MAX=20" ("" for the defaults); repeat to compare',
    )
    parser.add_argument("--json", help="write the figures here too")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
