"""(c) stop PostgreSQL for a while (30 s by default) mid-run.

Every tool, transcript write and model-turn record goes through PostgreSQL: while it is down
those activities fail and Temporal retries them with backoff; the worker's pool must
reconnect once it is back. Recovery is timed from PostgreSQL accepting connections again to
the next daemon finishing.
"""

from __future__ import annotations

import asyncio
import random

from chaos._report import ScenarioReport
from chaos._run import Options, Run, run_scenario
from chaos._stack import ChaosStack
from chaos._watch import supervised_worker

TITLE = "stop PostgreSQL"


async def _outage(run: Run) -> None:
    async with supervised_worker(run):
        await asyncio.sleep(random.Random(run.options.seed).uniform(1.0, 3.0))
        struck = run.strike()
        await asyncio.to_thread(run.stack.stop_postgres)
        await asyncio.sleep(run.options.outage_seconds)
        await run.stack.start_postgres()
        run.mark(f"PostgreSQL down {run.options.outage_seconds:.0f} s", struck)
        await run.workload.done.wait()  # follow_all ends by the deadline


async def run(stack: ChaosStack, options: Options) -> ScenarioReport:
    return await run_scenario(stack, "c", TITLE, options, _outage)
