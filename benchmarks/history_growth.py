"""History bytes per model step, for daemon runs of 5, 20 and 50 steps.

The transcript lives in PostgreSQL, so each step adds a constant to workflow history (the
tool call's input and a short summary). For contrast the benchmark prints what a design that
sends the whole conversation in every model activity would have put in history: the sum of
the conversation's size at each model call (issue 1890 of sdk-python: a run died at
Temporal's 50 MB limit after 53 model calls).

Run: `uv run python -m benchmarks.history_growth` (starts its own PostgreSQL, Temporal
test server and offline model; nothing needs to be running).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from ledgerd.config import load_settings
from ledgerd.contracts import Budget, Outcome
from ledgerd.db import Pool, apply_migrations
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import register_search_attributes
from ledgerd.temporal_runtime import temporal_runtime
from standin import (
    MessagesRequest,
    OfflineModelConfig,
    OfflineModelServer,
    PolicyReply,
    ReplyToolUse,
)
from standin.scenarios._conversation import prompt_header
from worker import running_workers
from workflows import HydrationRequest, VendorHydration

PRINCIPAL = Principal(id="bench-service", tenant_id="bench", role=Role.SERVICE)
BUDGET_TOKENS = 10_000_000
ANSWER = {
    "vendor_id": None,
    "canonical_name": "Unknown",
    "confidence": 0.2,
    "linked_transactions": 0,
}


@dataclass(frozen=True)
class ReadsThenAnswers:
    """Executor stand-in: reads the chart of accounts `steps - 1` times, then answers."""

    steps: int
    name: str = "bench_reads_then_answers"

    def matches(self, request: MessagesRequest) -> bool:
        return prompt_header(request).get("role") == "executor"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        done = sum(1 for m in request.messages if m.role == "assistant")
        if done + 1 >= self.steps:
            return PolicyReply((ReplyToolUse("respond", ANSWER),))
        return PolicyReply((ReplyToolUse("list_accounts", {}),))


@dataclass(frozen=True)
class Measurement:
    steps: int
    history_bytes: int
    events: int
    whole_conversation_bytes: int


async def _ledger(pool: Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES ('bench', 'Bench') ON CONFLICT DO NOTHING"
        )
        # Every daemon proves its principal against the platform's table before any tool runs.
        await conn.execute(
            "INSERT INTO principals (id, tenant_id, display_name, role) "
            "VALUES (%s, 'bench', 'Bench service', %s) ON CONFLICT (id) DO NOTHING",
            (PRINCIPAL.id, PRINCIPAL.role.value),
        )
        for n in range(30):
            await conn.execute(
                "INSERT INTO accounts (tenant_id, code, name, account_type, standard_category) "
                "VALUES ('bench', %s, %s, 'expense', 'other_expense') ON CONFLICT DO NOTHING",
                (str(6000 + n), f"Expense account {n}"),
            )


async def _whole_conversation_bytes(pool: Pool, run_id: str) -> int:
    """Sum over executor model calls of the conversation size sent at that call."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT turn, sum(length(content::text)) AS size FROM transcript_entries
               WHERE split_part(run_id, '@', 1) = %s AND thread = 'executor'
               GROUP BY turn ORDER BY turn""",
            (run_id,),
        )
        sizes = [row["size"] for row in await cursor.fetchall()]
    # The call at turn t sends everything before it.
    return sum(sum(sizes[:t]) for t in range(1, len(sizes)))


async def measure(
    env: WorkflowEnvironment, pg_url: str, steps_list: Sequence[int]
) -> list[Measurement]:
    results = []
    for steps in steps_list:
        config = OfflineModelConfig(scenarios=(ReadsThenAnswers(steps),))
        async with OfflineModelServer(config, port=0) as model:
            deps = await open_dependencies(
                # The budget must never be what ends a run here: the worker's ceiling is
                # raised to the benchmark's budget (a run's budget may not exceed it).
                load_settings(
                    database_url=pg_url,
                    offline_model_port=model.port,
                    max_budget_tokens=BUDGET_TOKENS,
                )
            )
            await _ledger(deps.pool)
            queue = f"bench-{steps}"
            async with running_workers(env.client, task_queue=queue):
                workflow_id = f"bench-history-{steps}"
                result = await env.client.execute_workflow(
                    VendorHydration.run,
                    HydrationRequest(
                        tenant_id="bench",
                        principal=PRINCIPAL,
                        descriptor="BENCH DESCRIPTOR",
                        budget=Budget(max_steps=steps + 5, max_tokens=BUDGET_TOKENS),
                    ),
                    id=workflow_id,
                    task_queue=queue,
                )
            assert result.outcome is Outcome.COMPLETED and result.steps == steps, result
            history = await env.client.get_workflow_handle(workflow_id).fetch_history()
            size = sum(event.ByteSize() for event in history.events)
            whole = await _whole_conversation_bytes(deps.pool, workflow_id)
            results.append(Measurement(steps, size, len(history.events), whole))
            await deps.close()
    return results


def report(rows: list[Measurement]) -> str:
    lines = [
        f"{'steps':>5} {'history bytes':>14} {'events':>7} {'bytes/step':>11} "
        f"{'marginal/step':>14} {'whole-conversation design':>26}"
    ]
    previous: Measurement | None = None
    for row in rows:
        marginal = (
            f"{(row.history_bytes - previous.history_bytes) / (row.steps - previous.steps):>14.0f}"
            if previous
            else f"{'-':>14}"
        )
        lines.append(
            f"{row.steps:>5} {row.history_bytes:>14,} {row.events:>7} "
            f"{row.history_bytes / row.steps:>11.0f} {marginal} {row.whole_conversation_bytes:>26,}"
        )
        previous = row
    return "\n".join(lines)


async def main(steps_list: Sequence[int] = (5, 20, 50)) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="ledgerd-bench-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pg", free_port(), database="bench")
        postgres.start(Path(folder) / "pg.log")
        try:
            await apply_migrations(postgres.url())
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(binary("temporal-test-server")),
                plugins=[LedgerdPlugin()],
                runtime=temporal_runtime(),
            )
            await register_search_attributes(env.client)
            try:
                rows = await measure(env, postgres.url(), steps_list)
            finally:
                await env.shutdown()
        finally:
            postgres.stop()
    print(report(rows))
    return rows


if __name__ == "__main__":
    asyncio.run(main())
