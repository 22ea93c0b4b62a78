"""A worker that dies during an outage is started again, as `ledgerd dev`'s supervisor or a
Deployment would; each restart is noted in the report, since a worker that gives up when a
server goes away is a finding of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from chaos._run import Run


async def _watch(run: Run) -> None:
    while True:
        await asyncio.sleep(1.0)
        process = run.parts.worker
        if process.poll() is not None:
            run.report.notes.append(
                f"the worker exited ({process.returncode}) during the outage; restarted"
            )
            await run.parts.start_worker()


@contextlib.asynccontextmanager
async def supervised_worker(run: Run) -> AsyncIterator[None]:
    task = asyncio.create_task(_watch(run))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
