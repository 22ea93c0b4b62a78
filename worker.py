"""The ledgerd worker: runs every daemon's workflows and activities on one task queue.

Run it with `python -m worker` (or through `ledgerd dev`). SIGTERM and SIGINT drain it
gracefully: running activities get time to finish before the process exits, so a deploy
never strands a half-done step.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from ledgerd.config import Settings, get_settings
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import open_dependencies
from ledgerd.telemetry import configure_tracing


async def connect_worker_client(settings: Settings) -> Client:
    return await Client.connect(
        settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        plugins=[LedgerdPlugin(activities=ALL_ACTIVITIES)],
    )


def build_worker(client: Client, settings: Settings) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


async def check_model_endpoint(settings: Settings) -> bool:
    """With a real key, check each role's request before polling: a model or setting the
    account refuses would fail every run's first step. False: refuse to start."""
    if settings.anthropic_api_key is None:
        return True
    from activities.model_check import check_models, render_check

    check = await check_models(settings)
    log = logging.getLogger("ledgerd.worker")
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


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    if settings.uses_offline_model and not settings.offline_model:
        # Never send prompts to whatever happens to listen on the stand-in's port.
        logging.getLogger("ledgerd.worker").error(
            "no model is configured: set ANTHROPIC_API_KEY (Claude) or ANTHROPIC_BASE_URL, or "
            "LEDGERD_OFFLINE_MODEL=true to use the offline stand-in (`ledgerd dev` sets it)"
        )
        raise SystemExit(2)
    if not await check_model_endpoint(settings):
        raise SystemExit(1)
    tracing = configure_tracing("ledgerd-worker")
    deps = await open_dependencies(settings)
    client = await connect_worker_client(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with build_worker(client, settings):
            logging.getLogger("ledgerd.worker").info("polling task queue %r", settings.task_queue)
            await stop.wait()
    finally:
        await deps.close()
        tracing.shutdown()  # flush spans still batched


if __name__ == "__main__":
    asyncio.run(main())
