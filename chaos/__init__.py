"""`ledgerd chaos`: faults against the real embedded stack, with what they did, counted.

One module per scenario: (a) `kill_worker`, (b) `restart_temporal`, (c) `stop_postgres`,
(d) `model_storm`, (e) `kill_api`. Each runs daemons of all three kinds, strikes while they
run, and reports daemons completed out of started, every mutating effect counted in
PostgreSQL (duplicates and misses), the time to recover and the workflows stuck waiting on
nothing. A tool like `standin/` and `demo_seed/`: the product never imports it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from chaos import kill_api, kill_worker, model_storm, restart_temporal, stop_postgres
from chaos._report import ScenarioReport, render
from chaos._run import Options
from chaos._stack import ChaosStack

__all__ = ["SCENARIOS", "Options", "ScenarioReport", "render", "run_suite"]

Scenario = Callable[[ChaosStack, Options], Awaitable[ScenarioReport]]
SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "a": (kill_worker.TITLE, kill_worker.run),
    "b": (restart_temporal.TITLE, restart_temporal.run),
    "c": (stop_postgres.TITLE, stop_postgres.run),
    "d": (model_storm.TITLE, model_storm.run),
    "e": (kill_api.TITLE, kill_api.run),
}


async def run_suite(
    names: Sequence[str],
    options: Options,
    report_dir: Path,
    progress: Callable[[str], None] = print,
) -> list[ScenarioReport]:
    """Run the named scenarios one after another on one stack; write each one's JSON report
    into `report_dir` as soon as it is done (a later crash keeps the earlier reports)."""
    reports: list[ScenarioReport] = []
    with tempfile.TemporaryDirectory(prefix="ledgerd-chaos-") as folder:
        stack = ChaosStack(Path(folder))
        try:
            await stack.start()
            for name in names:
                title, scenario = SCENARIOS[name]
                progress(f"chaos {name}: {title}, {options.daemons} daemons …")
                report = await scenario(stack, options)
                path = report.write(report_dir)
                reports.append(report)
                progress(render([report]) + f"\nreport: {path}")
        finally:
            await stack.close()
    return reports
