"""Scale-out, the fast subset of benchmarks/scale_out.py: two worker processes share the
daemons of one task queue, one is SIGKILLed under load, and nothing is lost or done twice.

A killed worker's activities are retried elsewhere once their timeouts pass (start-to-close for
a step, heartbeat for a model call), so this test takes at least that long; that wait is
Temporal's failure detection, not slowness of ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from benchmarks.scale_out import run_daemons
from standin import OfflineModelServer

pytestmark = pytest.mark.timeout(600)


async def test_killing_a_worker_under_load_loses_nothing_and_duplicates_nothing(
    dev_env: WorkflowEnvironment,
    seeded_pg_url: str,
    model_server: OfflineModelServer,
    tmp_path: Path,
) -> None:
    result = await run_daemons(
        dev_env.client,
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=seeded_pg_url,
        model_port=model_server.port,
        workers=2,
        daemons=20,
        logs=tmp_path,
        kill_after=5,
    )

    assert result.lost == 0  # every daemon finished with a result
    assert sum(result.outcomes.values()) == 20
    assert result.outcomes["completed"] >= 18, result.outcomes  # the stand-in's answers pass
    assert result.duplicate_vendors == 0
    assert result.duplicate_descriptors == 0
    # Each hydration creates at most its one vendor, retried activities included.
    assert 0 < result.vendors - result.vendors_before <= 20
