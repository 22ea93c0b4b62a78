"""One scenario's frame: start its parts and daemons, let the fault strike while the daemons
run, await every daemon, then count what happened. Scenario modules supply only the fault."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from chaos._audit import count_effects, stuck_workflows
from chaos._report import Recovery, ScenarioReport
from chaos._stack import ChaosStack, ScenarioParts
from chaos._webhook import WebhookReceiver
from chaos._workload import Workload, follow_all, persist, prepare, start_all

# A daemon's result that is what its kind is for; anything else (escalated, failed, …) is
# reported as not completed, with its outcome.
DONE = {"completed", "applied"}


@dataclass(frozen=True)
class Options:
    daemons: int = 100
    kills: int = 10
    outage_seconds: float = 30.0  # scenario c: PostgreSQL down this long
    stall_seconds: float = 20.0  # scenario d: a model stream silent this long
    deadline_seconds: float = 1800.0  # a daemon not finished by then counts as not completed
    seed: int = 14


@dataclass
class Run:
    """What a fault needs: the parts to break, the running daemons, the report to fill."""

    stack: ChaosStack
    parts: ScenarioParts
    workload: Workload
    report: ScenarioReport
    options: Options
    deadline: float
    work: dict[str, list[Any]]
    failed_on_purpose: str | None = None  # scenario d: the daemon the 400 was meant to end

    def strike(self, in_flight: int | None = None) -> tuple[float, int]:
        """Now, and how much is in flight (by default the daemons still running): call as
        the fault strikes."""
        return time.monotonic(), self.workload.running() if in_flight is None else in_flight

    def mark(self, fault: str, struck: tuple[float, int]) -> None:
        """The broken part is back: its recovery is timed from now to the next finish."""
        self.report.recoveries.append(Recovery(fault, struck[0], time.monotonic(), struck[1]))


Fault = Callable[[Run], Awaitable[None]]


async def run_scenario(
    stack: ChaosStack,
    name: str,
    title: str,
    options: Options,
    fault: Fault,
    *,
    standin_env: dict[str, str] | None = None,
    start_daemons: Fault | None = None,
) -> ScenarioReport:
    """`start_daemons` replaces the default start (straight to Temporal), as scenario e
    starts through the HTTP API."""
    report = ScenarioReport(scenario=name, title=title)
    receiver = WebhookReceiver()
    await receiver.start()
    parts = ScenarioParts(stack, name, webhook_url=receiver.url, standin_env=standin_env)

    def client() -> Client:
        # Read at each use: a Temporal restart replaces the stack's client.
        assert stack.client is not None
        return stack.client

    try:
        await parts.start()
        work = await prepare(parts.database_url, name, options.daemons)
        workload = Workload(client, parts.task_queue)
        began = time.monotonic()
        deadline = began + options.deadline_seconds
        run = Run(stack, parts, workload, report, options, deadline, work)
        if start_daemons is None:
            await start_all(workload, work, f"{name}-{parts.task_queue[-6:]}")
        else:
            await start_daemons(run)
        followers = asyncio.create_task(follow_all(workload, deadline))
        await fault(run)
        await followers
        report.seconds = time.monotonic() - began
        _tally(report, workload)
        # A fault that met an idle stack (every daemon done already) tested nothing.
        report.checks["every fault struck mid-run"] = bool(report.recoveries) and all(
            r.running > 0 for r in report.recoveries
        )
        finishes = workload.finishes()
        for recovery in report.recoveries:
            recovery.next_finish = next((t for t in finishes if t >= recovery.restored), None)
            recovery.at -= began
            recovery.restored -= began
            if recovery.next_finish is not None:
                recovery.next_finish -= began
        await count_effects(parts.database_url, workload, receiver, report)
        if run.failed_on_purpose is not None:
            report.not_completed.pop(run.failed_on_purpose, None)
            report.checks["its failure was notified"] = run.failed_on_purpose in set(
                receiver.workflows.values()
            )
        report.stuck = await persist(
            lambda: stuck_workflows(client(), parts.task_queue),
            time.monotonic() + 120,
        )
    finally:
        await parts.close()
        await receiver.stop()
    return report


def _tally(report: ScenarioReport, workload: Workload) -> None:
    report.started = len(workload.daemons)
    for daemon in workload.daemons:
        kind = report.by_kind.setdefault(daemon.kind, {"started": 0, "completed": 0})
        kind["started"] += 1
        report.outcomes[daemon.outcome or "no result"] += 1
        if daemon.outcome in DONE:
            kind["completed"] += 1
            report.completed += 1
        else:
            report.not_completed[daemon.workflow_id] = (
                f"outcome {daemon.outcome}: {daemon.failure}" if daemon.outcome else daemon.failure
            ) or "no result"
