"""Worker processes against one Temporal server, and the daemons to keep them busy.

Shared by the scale-out benchmark and the multi-worker tests: each worker is a real
`python -m worker` process (its own event loop, pollers and database pool), as it would be
in a Deployment, so a kill is a crash and a stop is a SIGTERM drain.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client, WorkflowHandle

from accounting.principals import Principal, Role
from accounting.transactions import TransactionFilter, list_transactions
from ledgerd.company_lookup import normalize_descriptor
from ledgerd.contracts import DaemonResult
from ledgerd.db import Pool
from ledgerd.queues import MODEL_ROLES, model_queue_name
from ledgerd.stack._process import log_tail, spawn, stop
from starter import start_vendor_hydration
from workflows import VendorHydration

READY_TIMEOUT = 120.0  # several processes importing everything at once on 2 cores


def worker_environment(
    *, temporal_address: str, database_url: str, model_port: int, task_queue: str, **extra: str
) -> dict[str, str]:
    """A worker's environment: this process's, pointed at the given server, database, stand-in
    and queue (anything from the developer's shell that would redirect it is overridden)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OTEL_"))}
    env.update(
        {
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "DATABASE_URL": database_url,
            "LEDGERD_OFFLINE_MODEL_PORT": str(model_port),
            # The stand-in, on purpose: a worker with no model configured refuses to start.
            "LEDGERD_OFFLINE_MODEL": "true",
            "LEDGERD_TASK_QUEUE": task_queue,
            "LEDGERD_DB_POOL_MAX": "4",
            **extra,
        }
    )
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("ANTHROPIC_BASE_URL", None)
    return env


class WorkerFleet:
    """N `python -m worker` processes serving one task queue (and its model queues).

    `module` and `queues` run another worker instead (the load benchmark's raw baseline):
    it must log `polling task queue '<name>'` for each of `queues` once it polls.
    """

    def __init__(
        self,
        env: dict[str, str],
        logs: Path,
        module: Sequence[str] = ("worker",),
        queues: Sequence[str] | None = None,
    ) -> None:
        self.task_queue = env["LEDGERD_TASK_QUEUE"]
        self.module = list(module)
        self.queues = (
            list(queues)
            if queues is not None
            else [
                self.task_queue,
                *(model_queue_name(self.task_queue, r) for r in MODEL_ROLES),
            ]
        )
        self.logs = logs
        # No profile from the developer's home may add credentials meant for another server.
        logs.mkdir(parents=True, exist_ok=True)
        (logs / "temporal.toml").write_text("")
        self.env = {**env, "TEMPORAL_CONFIG_FILE": str(logs / "temporal.toml")}
        self.processes: list[subprocess.Popen[bytes]] = []

    def log(self, index: int) -> Path:
        return self.logs / f"worker-{index}.log"

    def start(self, count: int) -> None:
        for _ in range(count):
            index = len(self.processes)
            self.processes.append(
                spawn([sys.executable, "-m", *self.module], log=self.log(index), env=self.env)
            )

    async def ready(self) -> None:
        """Wait until every worker polls every queue (each logs it), or say which did not."""
        needles = [f"polling task queue {queue!r}" for queue in self.queues]
        deadline = time.monotonic() + READY_TIMEOUT
        for index, process in enumerate(self.processes):
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"worker {index} exited with {process.returncode}:\n"
                        + log_tail(self.log(index))
                    )
                text = (
                    self.log(index).read_text(errors="replace") if self.log(index).exists() else ""
                )
                if all(needle in text for needle in needles):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"worker {index} did not poll within {READY_TIMEOUT:.0f}s:\n"
                        + log_tail(self.log(index))
                    )
                await asyncio.sleep(0.2)

    def kill(self, index: int) -> None:
        """SIGKILL: a crash, with no drain; its activities time out and are retried."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(10)

    async def stop(self) -> None:
        """SIGTERM every worker still running (a graceful drain), then wait for them."""
        await asyncio.gather(
            *(asyncio.to_thread(stop, process, timeout=60) for process in self.processes)
        )


async def merchant_groups(
    pool: Pool, tenants: list[str], count: int
) -> list[tuple[Principal, list[str]]]:
    """`count` unlinked merchants (the busiest first, alternating tenants), each with its
    transaction ids: one vendor hydration per merchant, as the batch hydration starts them."""
    per_tenant: list[list[tuple[Principal, list[str]]]] = []
    for tenant in tenants:
        principal = Principal(id=f"{tenant}-service", tenant_id=tenant, role=Role.SERVICE)
        groups: dict[str, list[str]] = defaultdict(list)
        offset = 0
        while True:
            page = await list_transactions(
                pool, principal, TransactionFilter(unlinked_only=True, limit=500, offset=offset)
            )
            for item in page.items:
                key = normalize_descriptor(item.raw_descriptor) or item.raw_descriptor
                groups[key].append(item.id)
            offset += 500
            if offset >= page.total:
                break
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        per_tenant.append([(principal, sorted(ids)) for _key, ids in ranked])
    mixed = [group for row in zip(*per_tenant, strict=False) for group in row]
    if len(mixed) < count:
        raise ValueError(f"only {len(mixed)} unlinked merchants in {tenants}, not {count}")
    return mixed[:count]


async def start_hydrations(
    client: Client, groups: list[tuple[Principal, list[str]]], task_queue: str, run: str
) -> list[WorkflowHandle[VendorHydration, DaemonResult]]:
    """Start one hydration per merchant group, ids unique to `run`."""
    return [
        await start_vendor_hydration(
            client,
            principal=principal,
            transaction_ids=ids,
            workflow_id=f"{run}-{n}",
            task_queue=task_queue,
        )
        for n, (principal, ids) in enumerate(groups)
    ]
