"""(a) kill -9 the worker at random moments while daemons of all three kinds run.

Each kill is a crash with no drain: the dead worker's activities are retried by Temporal once
their timeouts pass (60 s start-to-close for a step, 60 s heartbeat for a model call), its
workflow tasks once their sticky queue times out. A new worker starts at once, as a
supervisor (`ledgerd dev`, a Deployment) would start one. Recovery is timed from the new
worker polling to the next daemon finishing.
"""

from __future__ import annotations

import asyncio
import random

from chaos._report import ScenarioReport
from chaos._run import Options, Run, run_scenario
from chaos._stack import ChaosStack

TITLE = "kill -9 the worker"


async def _kills(run: Run) -> None:
    rng = random.Random(run.options.seed)
    for n in range(run.options.kills):
        # Random moments, a few seconds apart, so kills land in every phase of a daemon:
        # planning, tool calls, waiting for approval, answering.
        await asyncio.sleep(rng.uniform(1.0, 6.0))
        if run.workload.running() == 0:
            run.report.notes.append(f"every daemon finished after {n} of {run.options.kills} kills")
            return
        struck = run.strike()
        run.parts.kill_worker()
        await run.parts.start_worker()
        run.mark(f"worker kill {n + 1}", struck)


async def run(stack: ChaosStack, options: Options) -> ScenarioReport:
    return await run_scenario(stack, "a", TITLE, options, _kills)
