"""Planned versus step-by-step on the question set: steps, model calls, tool calls, wall time.

Both modes answer the same questions through real LedgerQuestion workflows; planned mode
runs the planner's queries as concurrent activities and asks the executor once, step-by-step
mode is the plain loop (one tool call per executor turn). The stand-in answers instantly,
so the benchmark adds a fixed latency to every model call (`--latency-ms`, default 400 ms)
to stand in for a real model's; wall times are measured in one run, so their ratio is the
figure to read, not the absolute seconds.

Run: `uv run python -m benchmarks.question_modes` (starts its own PostgreSQL, Temporal dev
server and offline model; nothing needs to be running).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from demo_seed import seed_demo_data
from ledgerd.config import load_settings
from ledgerd.db import apply_migrations
from ledgerd.evals._runner import CaseResult, report, run_cases
from ledgerd.evals.ledger_questions import load_questions
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import search_attribute_args
from ledgerd.temporal_runtime import temporal_runtime
from standin import OfflineModelConfig, OfflineModelServer
from worker import running_workers
from workflows.ledger_question import QuestionMode


def compare(planned: list[CaseResult], stepwise: list[CaseResult], walls: dict[str, float]) -> str:
    def mean(rows: list[CaseResult], field: str) -> float:
        return sum(float(getattr(r, field)) for r in rows) / max(len(rows), 1)

    lines = [f"{'':<28} {'planned':>10} {'stepwise':>10} {'ratio':>7}"]
    for label, field in (
        ("executor steps / question", "steps"),
        ("model calls / question", "model_calls"),
        ("tool calls / question", "tool_calls"),
        ("tokens / question", "tokens"),
        ("seconds / question", "seconds"),
    ):
        a, b = mean(planned, field), mean(stepwise, field)
        lines.append(f"{label:<28} {a:>10.1f} {b:>10.1f} {b / a if a else 0:>7.2f}")
    many = {r.id for r in stepwise if r.tool_calls >= 3}
    if many:
        lines.append(f"questions needing 3+ tool calls ({len(many)} of {len(stepwise)}):")
        for label, field in (
            ("  model calls / question", "model_calls"),
            ("  seconds / question", "seconds"),
        ):
            a = mean([r for r in planned if r.id in many], field)
            b = mean([r for r in stepwise if r.id in many], field)
            lines.append(f"{label:<28} {a:>10.1f} {b:>10.1f} {b / a if a else 0:>7.2f}")
    a, b = walls["planned"], walls["stepwise"]
    lines.append(f"{'wall seconds, whole set':<28} {a:>10.1f} {b:>10.1f} {b / a if a else 0:>7.2f}")
    for name, rows in (("planned", planned), ("stepwise", stepwise)):
        lines.append(
            f"{name}: correct {sum(r.correct for r in rows)}/{len(rows)}, "
            f"grounded {sum(r.grounded for r in rows)}/{len(rows)}"
        )
    return "\n".join(lines)


async def main(latency_ms: int = 400, concurrency: int = 4, verbose: bool = False) -> str:
    questions = load_questions()
    with tempfile.TemporaryDirectory(prefix="ledgerd-bench-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pg", free_port(), database="bench")
        postgres.start(Path(folder) / "pg.log")
        try:
            await apply_migrations(postgres.url())
            async with (
                OfflineModelServer(OfflineModelConfig(latency_ms=latency_ms), port=0) as model,
                await WorkflowEnvironment.start_local(
                    dev_server_existing_path=str(binary("temporal")),
                    plugins=[LedgerdPlugin()],
                    dev_server_extra_args=search_attribute_args(),
                    runtime=temporal_runtime(),
                ) as env,
            ):
                deps = await open_dependencies(
                    load_settings(database_url=postgres.url(), offline_model_port=model.port)
                )
                try:
                    await seed_demo_data(deps.pool)
                    queue = f"bench-{uuid.uuid4().hex[:8]}"
                    runs: dict[str, list[CaseResult]] = {}
                    walls: dict[str, float] = {}
                    async with running_workers(env.client, task_queue=queue):
                        for mode in (QuestionMode.PLANNED, QuestionMode.STEPWISE):
                            started = time.perf_counter()
                            runs[mode.value] = await run_cases(
                                env.client,
                                deps.pool,
                                questions,
                                mode=mode,
                                task_queue=queue,
                                concurrency=concurrency,
                            )
                            walls[mode.value] = time.perf_counter() - started
                finally:
                    await deps.close()
        finally:
            postgres.stop()
    if verbose:
        print(report(runs["planned"] + runs["stepwise"]))
    text = compare(runs["planned"], runs["stepwise"], walls)
    print(f"{len(questions)} questions, {latency_ms} ms per model call, {concurrency} at once\n")
    print(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--verbose", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.latency_ms, arguments.concurrency, arguments.verbose))
