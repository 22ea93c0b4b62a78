"""The baseline of the load benchmark: the same activities as a daemon, on plain Temporal.

`RawDaemon` runs, one after another, as many activities as one measured daemon ran: a
`raw_model_call` (a sleep of the stand-in's latency, the cost of a model call that waits on
the provider) for each of its model calls and a `raw_step` (nothing) for each of its other
activities. No database, no model, no interceptors, no codec: what is left is Temporal's own
cost of scheduling them, which the daemon side pays too.

    python -m benchmarks._raw_load --task-queue QUEUE

runs its worker as its own process, with the same `LEDGERD_WORKER_*` options as
`python -m worker`, so its memory and CPU are measured like the daemon worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    # Only the worker's start-up uses them; the sandbox re-imports this module per run.
    from ledgerd.config import get_settings
    from ledgerd.connection import resolve_connection
    from ledgerd.queues import worker_options
    from ledgerd.temporal_runtime import temporal_runtime

_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class RawDaemonInput:
    model_calls: int
    other_calls: int
    latency_ms: int


@activity.defn(name="raw_model_call")
async def raw_model_call(latency_ms: int) -> None:
    await asyncio.sleep(latency_ms / 1000)


@activity.defn(name="raw_step")
async def raw_step() -> None:
    return None


@workflow.defn(name="RawDaemon")
class RawDaemon:
    @workflow.run
    async def run(self, request: RawDaemonInput) -> int:
        for _ in range(request.model_calls):
            await workflow.execute_activity(
                raw_model_call, request.latency_ms, start_to_close_timeout=_TIMEOUT
            )
        for _ in range(request.other_calls):
            await workflow.execute_activity(raw_step, start_to_close_timeout=_TIMEOUT)
        return request.model_calls + request.other_calls


async def _serve(task_queue: str) -> None:
    settings = get_settings()
    target = resolve_connection(settings)
    client = await Client.connect(
        target.address, namespace=target.namespace, runtime=temporal_runtime()
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    options = worker_options(settings)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[RawDaemon],
        activities=[raw_model_call, raw_step],
        **options,
    ):
        # The same line `python -m worker` logs: the fleet waits for it.
        logging.getLogger("benchmarks.raw_load").info("polling task queue %r", task_queue)
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description="the raw baseline's worker")
    parser.add_argument("--task-queue", required=True)
    asyncio.run(_serve(parser.parse_args().task_queue))


if __name__ == "__main__":
    main()
