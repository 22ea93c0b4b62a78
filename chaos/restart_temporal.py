"""(b) restart the Temporal server mid-run.

The dev server keeps its state in a SQLite file, so a restart keeps every history, timer and
task queue; workers, the harness and pending results must reconnect by themselves. Recovery
is timed from the server answering again to the next daemon finishing.
"""

from __future__ import annotations

import asyncio
import random

from chaos._report import ScenarioReport
from chaos._run import Options, Run, run_scenario
from chaos._stack import ChaosStack
from chaos._watch import supervised_worker

TITLE = "restart Temporal"


async def _restart(run: Run) -> None:
    async with supervised_worker(run):
        await asyncio.sleep(random.Random(run.options.seed).uniform(1.0, 3.0))
        struck = run.strike()
        run.stack.stop_temporal()
        await run.stack.start_temporal()
        run.mark("Temporal restart", struck)
        await run.workload.done.wait()  # follow_all ends by the deadline


async def run(stack: ChaosStack, options: Options) -> ScenarioReport:
    return await run_scenario(stack, "b", TITLE, options, _restart)
