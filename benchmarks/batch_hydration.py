"""Model work per linked transaction when hydrating every unlinked merchant of a tenant.

Runs the HydrateUnlinked batch on the demo tenant `globex` twice, each on its own fresh copy
of the seeded database, the same offline model and dev server: once with a daemon for every
merchant (as before issue 16), once matching known vendors first. Prints model calls and
estimated cost per new vendor and per newly linked transaction, and whether both runs left
the same end state (every transaction linked to a vendor of the same name).

    uv run python -m benchmarks.batch_hydration [--tenant globex] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import psycopg
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from benchmarks._overhead_run import PROFILES
from benchmarks._overhead_stack import dynamic_config_args
from demo_seed import seed_demo_data
from ledgerd.config import load_settings
from ledgerd.contracts import Usage
from ledgerd.db import Pool, apply_migrations, open_pool
from ledgerd.model_registry import estimate_cost
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import open_dependencies
from ledgerd.stack import EmbeddedPostgres, binary, free_port
from ledgerd.stack._temporal import search_attribute_args
from standin import OfflineModelConfig, OfflineModelServer
from worker import running_workers
from workflows import BatchHydrationRequest, HydrateUnlinked


async def _state(pool: Pool, tenant: str) -> tuple[int, int, dict[str, str]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM vendors WHERE tenant_id = %s", (tenant,)
        )
        vendors = (await cursor.fetchone() or {"n": 0})["n"]
        cursor = await conn.execute(
            """SELECT t.id, v.canonical_name FROM bank_transactions t JOIN vendors v
               ON v.id = t.vendor_id WHERE t.tenant_id = %s""",
            (tenant,),
        )
        links = {row["id"]: row["canonical_name"] for row in await cursor.fetchall()}
    return vendors, len(links), links


async def _model_work(pool: Pool) -> tuple[int, float]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT model, input_tokens, output_tokens, cache_read_tokens,
                      cache_creation_tokens, cache_creation_1h_tokens FROM model_calls"""
        )
        rows = await cursor.fetchall()
    cost = sum(
        estimate_cost(
            row["model"],
            Usage(**{k: row[k] for k in row if k != "model"}),
        )[0]
        for row in rows
    )
    return len(rows), cost


async def _batch(
    env: WorkflowEnvironment,
    url: str,
    model_port: int,
    tenant: str,
    known_first: bool,
    concurrency: int,
) -> dict[str, object]:
    settings = load_settings(database_url=url, offline_model_port=model_port)
    deps = await open_dependencies(settings)
    try:
        vendors0, links0, _ = await _state(deps.pool, tenant)
        queue = f"batch-{known_first}"
        principal = Principal(id=f"{tenant}-service", tenant_id=tenant, role=Role.SERVICE)
        started = time.perf_counter()
        async with running_workers(env.client, settings, task_queue=queue):
            result = await env.client.execute_workflow(
                HydrateUnlinked.run,
                BatchHydrationRequest(
                    tenant_id=tenant,
                    principal=principal,
                    max_concurrency=concurrency,
                    match_known_first=known_first,
                ),
                id=f"batch-{tenant}-{known_first}",
                task_queue=queue,
            )
        seconds = time.perf_counter() - started
        vendors1, links1, links = await _state(deps.pool, tenant)
        calls, cost = await _model_work(deps.pool)
    finally:
        await deps.close()
    runs = len(result.children)
    new_vendors, new_links = vendors1 - vendors0, links1 - links0
    return {
        "mode": "known vendors first" if known_first else "a daemon per merchant",
        "merchants": result.progress.merchants,
        "daemon runs": runs,
        "matched without a model": result.progress.matched_known,
        "new vendors": new_vendors,
        "newly linked": new_links,
        "model calls": calls,
        "calls/vendor": calls / max(new_vendors, 1),
        "calls/link": calls / max(new_links, 1),
        "cost USD": cost,
        "cost/vendor": cost / max(new_vendors, 1),
        "cost/link": cost / max(new_links, 1),
        "seconds": seconds,
        "outcomes": result.progress.outcomes,
        "_links": links,
    }


def _table(rows: list[dict[str, object]]) -> str:
    keys = [k for k in rows[0] if not k.startswith("_")]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [
            f"{row[k]:.4f}"
            if isinstance(row[k], float) and "cost" in k
            else f"{row[k]:.2f}"
            if isinstance(row[k], float)
            else str(row[k])
            for k in keys
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main(tenant: str, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ledgerd-batch-") as tmp:
        folder = Path(tmp)
        postgres = EmbeddedPostgres(folder / "pg", free_port(), database="seeded")
        postgres.start(folder / "pg.log")
        try:
            await apply_migrations(postgres.url())
            pool = await open_pool(postgres.url(), max_size=2)
            await seed_demo_data(pool)
            await pool.close()
            with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
                for name in ("before", "after"):
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "seeded"')
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(binary("temporal")),
                plugins=[LedgerdPlugin()],
                dev_server_extra_args=search_attribute_args()
                + dynamic_config_args(PROFILES["lifted"]),
            )
            try:
                async with OfflineModelServer(OfflineModelConfig(), port=0) as model:
                    rows = [
                        await _batch(
                            env, postgres.url("before"), model.port, tenant, False, concurrency
                        ),
                        await _batch(
                            env, postgres.url("after"), model.port, tenant, True, concurrency
                        ),
                    ]
            finally:
                await env.shutdown()
        finally:
            postgres.stop()
    print(_table(rows))
    before, after = rows[0]["_links"], rows[1]["_links"]
    assert isinstance(before, dict) and isinstance(after, dict)
    differing = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
    print(
        f"end state: {len(before)} vs {len(after)} linked transactions; "
        f"{len(differing)} linked differently"
    )
    for t in differing[:20]:
        print(f"  {t}: {before.get(t)} -> {after.get(t)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", default="globex")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.tenant, args.concurrency))
