"""A question that needs four look-ups: planned and run in parallel against the plain loop.

At a simulated model latency (default 1 s a call) the same question runs through real
LedgerQuestion workflows in both modes, alternately, on one stack. Printed per mode: wall
seconds (median), model calls and tool calls; then the ratio planned/stepwise and the floor
a planned run cannot beat: plan + slowest branch + answer (+ the judge's review), each
measured from the planned run's own history.

    uv run python -m benchmarks.parallel_question [--latency-ms 1000] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from benchmarks._overhead_run import PROFILES
from benchmarks._overhead_stack import dynamic_config_args
from demo_seed import seed_demo_data
from ledgerd.config import load_settings
from ledgerd.contracts import DaemonResult
from ledgerd.db import apply_migrations
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import search_attribute_args
from standin import OfflineModelConfig, OfflineModelServer
from worker import running_workers
from workflows.ledger_question import LedgerQuestion, QuestionMode, QuestionRequest

QUESTION = "How much did we pay Klaviyo and Hootsuite in Q3 2025 versus Q2 2025?"
PRINCIPAL = Principal(id="globex-accountant", tenant_id="globex", role=Role.ACCOUNTANT)


def _spans(history: WorkflowHistory) -> dict[str, list[tuple[float, float]]]:
    """(scheduled, completed) in ms of every activity, by activity type."""
    scheduled: dict[int, tuple[str, float]] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for event in history.events:
        at = event.event_time.ToNanoseconds() / 1e6
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, at)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            sid = event.activity_task_completed_event_attributes.scheduled_event_id
            name, start = scheduled[sid]
            spans.setdefault(name, []).append((start, at))
    return spans


def floor_ms(history: WorkflowHistory) -> tuple[float, float, float, float]:
    """(plan, slowest branch, answer, review) of a planned run: the plan activity, from the
    first planned tool call's start to the last one's end, the executor's turns, and the
    judge."""
    spans = _spans(history)

    def total(name: str) -> float:
        return sum(end - start for start, end in spans.get(name, []))

    tools = spans.get("call_tool", [])
    branch = max(e for _, e in tools) - min(s for s, _ in tools) if tools else 0.0
    return total("plan"), branch, total("model_turn"), total("guardrail")


async def _ask(client: Client, queue: str, mode: QuestionMode) -> tuple[float, DaemonResult, str]:
    workflow_id = f"bench-question-{mode.value}-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    result = await client.execute_workflow(
        LedgerQuestion.run,
        QuestionRequest(tenant_id="globex", principal=PRINCIPAL, question=QUESTION, mode=mode),
        id=workflow_id,
        task_queue=queue,
    )
    return time.perf_counter() - started, result, workflow_id


async def main(latency_ms: int, reps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ledgerd-question-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pg", free_port(), database="bench")
        postgres.start(Path(folder) / "pg.log")
        try:
            await apply_migrations(postgres.url())
            async with (
                OfflineModelServer(OfflineModelConfig(latency_ms=latency_ms), port=0) as model,
                await WorkflowEnvironment.start_local(
                    dev_server_existing_path=str(binary("temporal")),
                    plugins=[LedgerdPlugin()],
                    dev_server_extra_args=search_attribute_args()
                    + dynamic_config_args(PROFILES["lifted"]),
                ) as env,
            ):
                settings = load_settings(database_url=postgres.url(), offline_model_port=model.port)
                deps = await open_dependencies(settings)
                try:
                    await seed_demo_data(deps.pool)
                    queue = f"bench-{uuid.uuid4().hex[:8]}"
                    walls: dict[QuestionMode, list[float]] = {m: [] for m in QuestionMode}
                    results: dict[QuestionMode, DaemonResult] = {}
                    floors = []
                    async with running_workers(env.client, settings, task_queue=queue):
                        for rep in range(reps):
                            modes = list(QuestionMode)[:: 1 if rep % 2 == 0 else -1]
                            for mode in modes:
                                wall, result, workflow_id = await _ask(env.client, queue, mode)
                                walls[mode].append(wall)
                                results[mode] = result
                                if mode is QuestionMode.PLANNED:
                                    history = await env.client.get_workflow_handle(
                                        workflow_id
                                    ).fetch_history()
                                    floors.append(floor_ms(history))
                finally:
                    await deps.close()
        finally:
            postgres.stop()
    print(f"{QUESTION!r}, {latency_ms} ms per model call, median of {reps}")
    for mode in QuestionMode:
        r = results[mode]
        print(
            f"  {mode.value:<9} {statistics.median(walls[mode]):6.2f} s   model calls "
            f"{r.model_calls}, tool calls {r.tool_calls}, outcome {r.outcome.value}"
        )
    ratio = statistics.median(
        p / s
        for p, s in zip(walls[QuestionMode.PLANNED], walls[QuestionMode.STEPWISE], strict=True)
    )
    plan, branch, answer, review = (statistics.median(f[i] for f in floors) for i in range(4))
    print(f"  planned / stepwise: {ratio:.2f} (target <= 0.50)")
    print(
        f"  floor of a planned run: plan {plan / 1000:.2f} s + slowest branch "
        f"{branch / 1000:.2f} s + answer {answer / 1000:.2f} s + review {review / 1000:.2f} s "
        f"= {(plan + branch + answer + review) / 1000:.2f} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.latency_ms, args.reps))
