"""The load benchmark's fast subset: 20 daemons in flight on one worker process, the model
answering after 50 ms, against the raw baseline in the same run (benchmarks/load.py; the
full run and its figures are in docs/reliability.md, "Load").

What could fail here is behaviour, never a timing: a daemon that does not finish under
concurrency, a worker holding more PostgreSQL connections than its pool allows, figures that
are missing or do not add up. Speeds are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from benchmarks.load import LoadStack, parse_variant, render, report, run_load
from ledgerd.stack import EmbeddedPostgres
from standin import OfflineModelConfig, OfflineModelServer

IN_FLIGHT = 20
POOL_MAX = 3  # well under the runs in flight, so a pool that leaks past its maximum shows


@pytest.fixture
async def slow_model() -> AsyncIterator[OfflineModelServer]:
    async with OfflineModelServer(OfflineModelConfig(latency_ms=50), port=0) as server:
        yield server


async def test_twenty_daemons_in_flight_finish_within_the_pool_and_report_figures(
    dev_env: WorkflowEnvironment,
    postgres: EmbeddedPostgres,
    seeded_template: str,
    slow_model: OfflineModelServer,
    tmp_path: Path,
) -> None:
    stack = LoadStack(
        client=dev_env.client,
        temporal_address=dev_env.client.service_client.config.target_host,
        postgres=postgres,
        template=seeded_template,
        model_port=slow_model.port,
        logs=tmp_path,
    )
    kinds = ["question", "hydration"]
    [variant] = await run_load(
        stack,
        variants=[{"LEDGERD_DB_POOL_MAX": str(POOL_MAX)}],
        kinds=kinds,
        in_flight=IN_FLIGHT,
        total=IN_FLIGHT,
        latency_ms=50,
    )
    print(render([variant], 50, kinds))
    ledgerd, raw = variant.ledgerd, variant.raw

    # Every run finished, and finished well, on both sides.
    assert ledgerd.outcomes == {"completed": IN_FLIGHT}, ledgerd.outcomes
    assert raw.outcomes == {"completed": IN_FLIGHT}, raw.outcomes
    # The worker used its pool, and never more than it.
    assert 1 <= ledgerd.pg_connections_peak <= POOL_MAX
    assert raw.pg_connections_peak == 0
    # The baseline ran exactly the activities the daemons did, model calls among them.
    assert raw.activities == ledgerd.activities > ledgerd.model_calls == raw.model_calls > 0
    for side in (ledgerd, raw):
        assert side.daemons == IN_FLIGHT and side.failed == 0
        assert side.seconds > 0 and side.daemons_per_s > 0 and side.activities_per_s > 0
        assert 0 < side.p50_s <= side.p95_s <= side.seconds
        assert 0 < side.rss_at_start_mb <= side.peak_rss_mb
        assert side.worker_cpu_s >= 0
    assert variant.ratio > 0

    figures = json.loads(json.dumps(report([variant], latency_ms=50, kinds=kinds)))
    assert figures["in_flight"] == IN_FLIGHT and figures["kinds"] == kinds
    [written] = figures["variants"]
    assert written["settings"] == {"LEDGERD_DB_POOL_MAX": str(POOL_MAX)}
    for name in ("ledgerd", "raw"):
        assert {"daemons_per_s", "activities_per_s", "p50_s", "p95_s", "peak_rss_mb"} <= set(
            written[name]
        )
        assert written[name]["pg_connections_peak"] <= POOL_MAX


def test_a_variant_names_ledgerd_variables() -> None:
    assert parse_variant("") == {}
    assert parse_variant("LEDGERD_DB_POOL_MAX=4, LEDGERD_WORKER_MAX_CONCURRENT_ACTIVITIES=500") == {
        "LEDGERD_DB_POOL_MAX": "4",
        "LEDGERD_WORKER_MAX_CONCURRENT_ACTIVITIES": "500",
    }
    with pytest.raises(argparse.ArgumentTypeError):
        parse_variant("MAX_CONCURRENT_ACTIVITIES=500")
