"""The stack both sides of the overhead benchmark share: one PostgreSQL, one dev server
(with a chosen dynamic-config profile), one offline model and one tenant per tool size."""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from accounting.accounts import NoInput, list_accounts
from accounting.principals import Principal, Role
from benchmarks._raw_loop import RawLoop, raw_model_turn, raw_tool
from ledgerd.config import load_settings
from ledgerd.db import Pool, apply_migrations
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import Dependencies, open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import search_attribute_args
from standin import (
    MessagesRequest,
    OfflineModelConfig,
    OfflineModelServer,
    PolicyReply,
    ReplyToolUse,
    user_text,
)
from standin.scenarios._conversation import prompt_header
from worker import running_workers

ANSWER = {
    "vendor_id": None,
    "canonical_name": "Unknown",
    "confidence": 0.2,
    "linked_transactions": 0,
}
_STEPS = re.compile(r"steps=(\d+)")


@dataclass(frozen=True)
class ReadsThenAnswers:
    """Executor stand-in for both sides: reads the chart of accounts until the task's
    `steps=K` is reached, then answers. The same replies whoever asks."""

    name: str = "bench_overhead_reads_then_answers"

    def matches(self, request: MessagesRequest) -> bool:
        return prompt_header(request).get("role") == "executor" and bool(
            _STEPS.search(user_text(request))
        )

    def respond(self, request: MessagesRequest) -> PolicyReply:
        found = _STEPS.search(user_text(request))
        steps = int(found.group(1)) if found else 1
        done = sum(1 for m in request.messages if m.role == "assistant")
        if done + 1 >= steps:
            return PolicyReply((ReplyToolUse("respond", ANSWER),))
        return PolicyReply((ReplyToolUse("list_accounts", {}),))


def tenant(size: int) -> str:
    return f"bench{size}"


def principal(size: int) -> Principal:
    return Principal(id=f"bench{size}-service", tenant_id=tenant(size), role=Role.SERVICE)


async def seed_tenant(pool: Pool, size: int) -> int:
    """A tenant whose chart of accounts serialises to about `size` bytes; returns the size."""
    per_account = 110  # one Account as JSON, with the name padded below
    count = max(1, round(size / per_account))
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (tenant(size), f"Bench {size}"),
        )
        for n in range(count):
            await conn.execute(
                "INSERT INTO accounts (tenant_id, code, name, account_type, standard_category) "
                "VALUES (%s, %s, %s, 'expense', 'other_expense') ON CONFLICT DO NOTHING",
                (tenant(size), str(6000 + n), f"Expense account {n:04d} padded"),
            )
    chart = await list_accounts(pool, principal(size), NoInput())
    return len(chart.model_dump_json())


@dataclass
class Stack:
    env: WorkflowEnvironment
    raw_client: Client
    deps: Dependencies
    task_queue: str
    raw_queue: str
    tool_bytes: dict[int, int]
    folder: Path


def dynamic_config_args(values: Sequence[str]) -> list[str]:
    return [arg for value in values for arg in ("--dynamic-config-value", value)]


@asynccontextmanager
async def stack(dynamic_config: Sequence[str], sizes: Sequence[int]) -> AsyncIterator[Stack]:
    """Everything up, both workers polling; torn down on exit."""
    with tempfile.TemporaryDirectory(prefix="ledgerd-overhead-") as tmp:
        folder = Path(tmp)
        postgres = EmbeddedPostgres(folder / "pg", free_port(), database="bench")
        postgres.start(folder / "pg.log")
        try:
            await apply_migrations(postgres.url())
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(binary("temporal")),
                plugins=[LedgerdPlugin()],
                dev_server_extra_args=search_attribute_args() + dynamic_config_args(dynamic_config),
            )
            try:
                async with OfflineModelServer(
                    OfflineModelConfig(scenarios=(ReadsThenAnswers(),)), port=0
                ) as model:
                    settings = load_settings(
                        database_url=postgres.url(), offline_model_port=model.port
                    )
                    deps = await open_dependencies(settings)
                    try:
                        sizes_seen = {s: await seed_tenant(deps.pool, s) for s in sizes}
                        # The baseline gets a plain client: the same converter, none of
                        # ledgerd's interceptors.
                        raw_client = await Client.connect(
                            env.client.service_client.config.target_host,
                            namespace=env.client.namespace,
                            data_converter=pydantic_data_converter,
                        )
                        raw_worker = Worker(
                            raw_client,
                            task_queue="bench-raw",
                            workflows=[RawLoop],
                            activities=[raw_model_turn, raw_tool],
                            workflow_runner=raw_sandbox(),
                        )
                        async with (
                            running_workers(env.client, settings, task_queue="bench-ledgerd"),
                            raw_worker,
                        ):
                            yield Stack(
                                env=env,
                                raw_client=raw_client,
                                deps=deps,
                                task_queue="bench-ledgerd",
                                raw_queue="bench-raw",
                                tool_bytes=sizes_seen,
                                folder=folder,
                            )
                    finally:
                        await deps.close()
            finally:
                await env.shutdown()
        finally:
            postgres.stop()


def raw_sandbox() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "pydantic", "pydantic_core", "annotated_types", "accounting", "ledgerd", "benchmarks"
        )
    )
