"""The ledgerd worker: runs the daemons' workflows, tools and model calls.

`python -m worker` (or `ledgerd dev`) serves every queue in one process:

- the main queue (`LEDGERD_TASK_QUEUE`): every workflow, tools and database work;
- one model queue per role (`<main>-model-planner`, `-executor`, `-judge`): the activities
  whose work is a model call, dispatched no faster than the provider's limit across all
  workers (`LEDGERD_MODEL_RATE_LIMITS`, see ledgerd/queues.py).

`--queues tools` or `--queues model` serves one kind only, to scale them apart. SIGTERM and
SIGINT drain it gracefully: pollers stop, and running activities get
`LEDGERD_WORKER_GRACEFUL_SHUTDOWN_SECONDS` to finish before they are cancelled (and retried
elsewhere), so a deploy never strands a half-done step.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Literal, get_args

from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout
from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES, MODEL_ACTIVITIES
from ledgerd.config import ConfigError, Settings, get_settings
from ledgerd.connection import connect_client, resolve_connection
from ledgerd.plugin import LedgerdPlugin
from ledgerd.queues import MODEL_ROLES, model_queue_name, role_rate_limits, worker_options
from ledgerd.runtime import open_dependencies
from ledgerd.telemetry import configure_tracing

Queues = Literal["all", "model", "tools"]

log = logging.getLogger("ledgerd.worker")


async def connect_worker_client(settings: Settings) -> Client:
    # Activities are given per worker (per queue), not by the plugin to every worker.
    return await connect_client(settings, [LedgerdPlugin(settings=settings)])


def build_workers(
    client: Client,
    settings: Settings,
    queues: Queues = "all",
    task_queue: str | None = None,
    **options: Any,
) -> list[Worker]:
    """The workers one process runs: the main queue, the model queues, or both.

    `task_queue` overrides `LEDGERD_TASK_QUEUE` (tests use a fresh queue each); `options`
    go to every `Worker`, over those of `worker_options`.
    """
    main = task_queue or settings.task_queue
    options = worker_options(settings) | options
    workers = []
    if queues in ("all", "tools"):
        # The client's LedgerdPlugin adds the workflows (on this queue only). The model
        # activities are registered here too, though workflows schedule them on the model
        # queues: a model call scheduled on this queue by an older deployment (before model
        # queues existed) still runs instead of failing as an unknown activity type.
        workers.append(Worker(client, task_queue=main, activities=list(ALL_ACTIVITIES), **options))
    if queues in ("all", "model"):
        limits = role_rate_limits(settings)
        for role in MODEL_ROLES:
            workers.append(
                Worker(
                    client,
                    task_queue=model_queue_name(main, role),
                    activities=list(MODEL_ACTIVITIES),
                    # Enforced by the server for the queue, whichever workers poll it.
                    max_task_queue_activities_per_second=limits[role],
                    **options,
                )
            )
    return workers


@asynccontextmanager
async def serving(workers: Sequence[Worker]) -> AsyncIterator[None]:
    """Run `workers` until the block ends, then drain them all at once (not one after
    another, which would multiply the graceful shutdown time)."""
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        try:
            yield
        finally:
            await asyncio.gather(*(worker.shutdown() for worker in workers))


@asynccontextmanager
async def running_workers(
    client: Client,
    settings: Settings | None = None,
    queues: Queues = "all",
    task_queue: str | None = None,
    **options: Any,
) -> AsyncIterator[list[Worker]]:
    """`build_workers` and `serving` together: what tests and benchmarks need."""
    workers = build_workers(client, settings or get_settings(), queues, task_queue, **options)
    async with serving(workers):
        yield workers


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--queues",
        choices=get_args(Queues),
        default="all",
        help="which kind of work to serve: all (default), model calls only, or tools only",
    )
    return parser.parse_args(argv)


async def check_model_endpoint(settings: Settings) -> bool:
    """With a real key, check each role's request before polling: a model or setting the
    account refuses would fail every run's first step. False: refuse to start."""
    if settings.anthropic_api_key is None:
        return True
    from activities.model_check import check_models, render_check

    check = await check_models(settings)
    if check.ok:
        log.info("model check passed\n%s", render_check(check))
        return True
    if check.misconfigured:
        log.error(
            "model check failed; not starting (run `ledgerd doctor`)\n%s", render_check(check)
        )
        return False
    # The provider is busy or unreachable: that passes, and Temporal retries the calls.
    log.warning("model check could not complete; starting anyway\n%s", render_check(check))
    return True


async def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    queues: Queues = _arguments(argv).queues
    settings = get_settings()
    resolve_connection(settings)  # a bad profile fails now, not after the database is open
    if settings.uses_offline_model and not settings.offline_model:
        # Never send prompts to whatever happens to listen on the stand-in's port.
        log.error(
            "no model is configured: set ANTHROPIC_API_KEY (Claude) or ANTHROPIC_BASE_URL, or "
            "LEDGERD_OFFLINE_MODEL=true to use the offline stand-in (`ledgerd dev` sets it)"
        )
        raise SystemExit(2)
    if not await check_model_endpoint(settings):
        raise SystemExit(1)
    tracing = configure_tracing("ledgerd-worker")
    deps = await open_dependencies(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = None
    try:
        client = await connect_worker_client(settings)
        workers = build_workers(client, settings, queues)
        if settings.worker_health_port is not None:
            from ledgerd.health import HealthServer

            health = await HealthServer.start(settings.worker_health_port)
        async with serving(workers):
            for worker in workers:
                limit = worker.config().get("max_task_queue_activities_per_second")
                log.info(
                    "polling task queue %r%s",
                    worker.task_queue,
                    f" (at most {limit:g} activities/s)" if limit else "",
                )
            await stop.wait()
            log.info(
                "draining: running activities get %ss", settings.worker_graceful_shutdown_seconds
            )
            if health is not None:
                health.draining = True
    finally:
        if health is not None:
            await health.close()
        await deps.close()
        tracing.shutdown()  # flush spans still batched


def run(argv: Sequence[str] | None = None) -> None:
    try:
        asyncio.run(main(argv))
    except ConfigError as error:
        sys.exit(str(error))
    except PoolTimeout:
        parts = conninfo_to_dict(get_settings().effective_database_url)
        where = (
            f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
        )
        sys.exit(f"cannot reach PostgreSQL at {where}; check DATABASE_URL")  # no password shown
    except RuntimeError as error:
        if "Failed client connect" not in str(error):
            raise
        sys.exit(f"cannot reach Temporal: {str(error).splitlines()[0]}")


if __name__ == "__main__":
    run()
