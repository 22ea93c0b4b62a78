"""What the daemon loop costs on top of a raw Temporal agent loop.

Both sides run K sequential model turns, each but the last asking for one tool call whose
result is S bytes (the same tenant chart of accounts), against the same offline model, the
same dev server (one dynamic-config profile per run) and the same PostgreSQL, in one process,
interleaved run by run so that drift on a shared machine hits both alike. The raw side is
`benchmarks/_raw_loop.py`: model and tool activities, the conversation held outside history.

Per (K, S) it prints the median over the repetitions of: ms per step end to end (the
daemon's plan, guardrail and notification included), the ratio daemon/raw, history bytes per
step, replay time, and what a `model_turn` costs beyond the model's own round trip.

    uv run python -m benchmarks.overhead                      # K 5,20,50 × S 200,5000
    uv run python -m benchmarks.overhead --profile shipped    # the dev server as shipped
    uv run python -m benchmarks.overhead --compare-profiles --ks 20   # shipped vs lifted cap
    uv run python -m benchmarks.overhead --growth             # K 5,20,50,200 cost table

Starts its own PostgreSQL, dev server and offline model; nothing needs to be running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from benchmarks import _raw_loop
from benchmarks._overhead_run import PROFILES, Run
from benchmarks._overhead_stack import Stack, principal, raw_sandbox, stack
from benchmarks._raw_loop import RawLoop, RawRequest
from ledgerd import transcript
from ledgerd.contracts import Budget, Outcome
from ledgerd.plugin import LedgerdPlugin
from workflows import HydrationRequest, VendorHydration


def _task(steps: int) -> str:
    return f"BENCH steps={steps}"


async def _replay_ms(history: WorkflowHistory, replayer: Replayer, times: int = 3) -> float:
    """Median time to replay `history` from scratch (a worker that lost its cache)."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        samples.append((time.perf_counter() - started) * 1000)
        assert result.replay_failure is None, result.replay_failure
    return statistics.median(samples)


def _activity_ms(history: WorkflowHistory, activity_type: str) -> list[float]:
    """Started → completed, in server time, of each activity of `activity_type`, in order."""
    scheduled: set[int] = set()
    started: dict[int, float] = {}
    durations: list[float] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == activity_type:
                scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            sid = event.activity_task_started_event_attributes.scheduled_event_id
            if sid in scheduled:
                started[sid] = event.event_time.ToNanoseconds() / 1e6
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            sid = event.activity_task_completed_event_attributes.scheduled_event_id
            if sid in started:
                durations.append(event.event_time.ToNanoseconds() / 1e6 - started[sid])
    return durations


def _size(history: WorkflowHistory) -> tuple[int, int]:
    return sum(e.ByteSize() for e in history.events), len(history.events)


async def run_daemon(s: Stack, steps: int, size: int) -> Run:
    workflow_id = f"bench-daemon-{steps}-{size}-{uuid.uuid4().hex[:8]}"
    before = (transcript.READS.queries, transcript.READS.rows)
    started = time.perf_counter()
    result = await s.env.client.execute_workflow(
        VendorHydration.run,
        HydrationRequest(
            tenant_id=principal(size).tenant_id,
            principal=principal(size),
            descriptor=_task(steps),
            budget=Budget(max_steps=steps + 5, max_tokens=500_000_000, max_seconds=3600),
        ),
        id=workflow_id,
        task_queue=s.task_queue,
    )
    wall = (time.perf_counter() - started) * 1000
    assert result.outcome is Outcome.COMPLETED and result.steps == steps, result
    queries = transcript.READS.queries - before[0]
    rows = transcript.READS.rows - before[1]
    history = await s.env.client.get_workflow_handle(workflow_id).fetch_history()
    size_bytes, events = _size(history)
    async with s.deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT turn, latency_ms FROM model_calls
               WHERE split_part(run_id, '@', 1) = %s AND thread = 'executor' ORDER BY turn""",
            (workflow_id,),
        )
        latencies = [row["latency_ms"] for row in await cursor.fetchall()]
        cursor = await conn.execute(
            """SELECT coalesce(sum(length(content::text)), 0) AS n FROM transcript_entries
               WHERE split_part(run_id, '@', 1) = %s""",
            (workflow_id,),
        )
        stored = (await cursor.fetchone() or {"n": 0})["n"]
    turns = _activity_ms(history, "model_turn")
    return Run(
        side="daemon",
        steps=steps,
        size=size,
        wall_ms=wall,
        history_bytes=size_bytes,
        events=events,
        replay_ms=await _replay_ms(history, Replayer(workflows=[], plugins=[LedgerdPlugin()])),
        turn_overhead_ms=[t - lat for t, lat in zip(turns, latencies, strict=False)],
        transcript_rows_read=rows,
        transcript_queries=queries,
        transcript_bytes=int(stored),
    )


async def run_raw(s: Stack, steps: int, size: int) -> Run:
    workflow_id = f"bench-raw-{steps}-{size}-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    turns = await s.raw_client.execute_workflow(
        RawLoop.run,
        RawRequest(task=_task(steps), principal=principal(size)),
        id=workflow_id,
        task_queue=s.raw_queue,
    )
    wall = (time.perf_counter() - started) * 1000
    assert turns == steps, turns
    history = await s.raw_client.get_workflow_handle(workflow_id).fetch_history()
    size_bytes, events = _size(history)
    durations = _activity_ms(history, "raw_model_turn")
    latencies = [_raw_loop.ROUND_TRIPS[(workflow_id, t)] for t in range(1, steps + 1)]
    stored = len(json.dumps(_raw_loop.CONVERSATIONS.get(workflow_id, [])))
    _raw_loop.forget(workflow_id)
    return Run(
        side="raw",
        steps=steps,
        size=size,
        wall_ms=wall,
        history_bytes=size_bytes,
        events=events,
        replay_ms=await _replay_ms(
            history,
            Replayer(
                workflows=[RawLoop],
                data_converter=pydantic_data_converter,
                workflow_runner=raw_sandbox(),
            ),
        ),
        turn_overhead_ms=[d - lat for d, lat in zip(durations, latencies, strict=False)],
        transcript_bytes=stored,
    )


async def measure(
    s: Stack, steps_list: Sequence[int], sizes: Sequence[int], reps: int, sides: Sequence[str]
) -> list[Run]:
    runs: list[Run] = []
    # One warm-up of each side: imports, sandbox caches and connection pools are not a step.
    for side in sides:
        await (run_daemon if side == "daemon" else run_raw)(s, 3, sizes[0])
    for rep in range(reps):
        for steps in steps_list:
            for size in sizes:
                order = list(sides) if rep % 2 == 0 else list(reversed(sides))
                for side in order:
                    runner = run_daemon if side == "daemon" else run_raw
                    runs.append(await runner(s, steps, size))
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks._overhead_report import chart, compare_table, growth_table, overhead_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", default="5,20,50", help="steps per run, comma-separated")
    parser.add_argument("--sizes", default="200,5000", help="tool result bytes, comma-separated")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each (K, S)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="lifted")
    parser.add_argument(
        "--dynamic-config-value",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="add to the profile (repeatable), as `temporal server start-dev` takes it",
    )
    parser.add_argument(
        "--compare-profiles",
        nargs="?",
        const="shipped,lifted",
        metavar="P1,P2,...",
        help="profiles side by side, each on its own dev server (default: the shipped "
        "transfer cap next to the lifted profile), at --ks (first K) and S=200",
    )
    parser.add_argument(
        "--growth", action="store_true", help="cost per run for K = 5, 20, 50, 200 (S=200)"
    )
    parser.add_argument("--chart", type=Path, help="write a PNG chart of ms per step here")
    parser.add_argument("--json", type=Path, help="write every run here")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]

    if args.compare_profiles:
        by_profile = {}
        first_k = int(args.ks.split(",")[0])
        for name in args.compare_profiles.split(","):
            by_profile[name] = asyncio.run(_one(PROFILES[name], [first_k], [200], args.reps))
        print(compare_table(by_profile))
        return
    values = (*PROFILES[args.profile], *args.dynamic_config_value)
    if args.growth:
        runs = asyncio.run(_one(values, [5, 20, 50, 200], [200], args.reps, ("daemon", "raw")))
        print(f"profile: {args.profile} {' '.join(values)}")
        print(growth_table(runs))
    else:
        ks = [int(x) for x in args.ks.split(",")]
        runs = asyncio.run(_one(values, ks, sizes, args.reps))
        print(f"profile: {args.profile} {' '.join(values)}")
        print(overhead_table(runs))
        if args.chart:
            chart(runs, args.chart)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in runs], indent=1))


async def _one(
    values: Sequence[str],
    steps_list: Sequence[int],
    sizes: Sequence[int],
    reps: int,
    sides: Sequence[str] = ("daemon", "raw"),
) -> list[Run]:
    async with stack(values, sizes) as s:
        return await measure(s, steps_list, sizes, reps, sides)


if __name__ == "__main__":
    main()
