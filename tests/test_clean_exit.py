"""Processes that talk to Temporal exit with their own status.

Temporal's runtime threads call back into Python; one still doing so while the interpreter
finalizes aborted short commands after they had printed everything (`PyGILState_Release:
thread state … must be current when releasing`, exit 134, or a segfault: about 1 launch in 10
of a bare client here). ledgerd's runtime is stopped before finalization instead
(`ledgerd/temporal_runtime.py`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ledgerd.plugin import LedgerdPlugin
from ledgerd.temporal_runtime import temporal_runtime

ROOT = Path(__file__).resolve().parent.parent
LAUNCHES = 200
AT_ONCE = 4  # the machine has 2 cores, and other suites run too


@pytest.fixture(scope="module")
async def ended_run(dev_env: WorkflowEnvironment) -> WorkflowHandle[object, object]:
    """A run with no worker, terminated: describing it needs no query, so no worker."""
    queue = f"no-worker-{uuid.uuid4()}"
    handle: WorkflowHandle[object, object] = await dev_env.client.start_workflow(
        "ExitProbe", id=f"exit-probe-{uuid.uuid4()}", task_queue=queue
    )
    await handle.terminate("exit probe")
    return handle


def _address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def _launch(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.timeout(1200)  # a loaded machine; no timing is asserted
async def test_a_short_temporal_client_exits_0_in_200_launches(
    dev_env: WorkflowEnvironment, ended_run: WorkflowHandle[object, object]
) -> None:
    gate = asyncio.Semaphore(AT_ONCE)
    # Half describe a run that exists, half one that does not: an error result holds the
    # client until its future is completed on a Temporal thread.
    cases = [(ended_run.id, "TERMINATED"), (f"no-such-run-{uuid.uuid4()}", "NOT_FOUND")]

    async def once(n: int) -> tuple[int, str, str, str]:
        workflow_id, expected = cases[n % 2]
        async with gate:
            code, out, err = await _launch(
                [sys.executable, "-m", "tests._exit_probe", _address(dev_env), workflow_id]
            )
        return code, out, err, expected

    results = await asyncio.gather(*(once(n) for n in range(LAUNCHES)))

    aborted = [err for code, _, err, _ in results if code < 0 or code >= 128]
    failed = [(code, err) for code, _, err, _ in results if code != 0]
    print(f"{LAUNCHES} launches: {len(aborted)} aborted, {len(failed)} exited non-zero")
    assert not failed, failed[0][1][-2000:]
    odd = [
        (out, err, expected)
        for _, out, err, expected in results
        if (out, err) != (f"{expected}\n", "")
    ]
    assert not odd, repr(odd[:3])


async def test_no_thread_is_left_once_the_runtime_is_released(
    dev_env: WorkflowEnvironment, ended_run: WorkflowHandle[object, object]
) -> None:
    code, out, err = await _launch(
        [
            sys.executable,
            "-m",
            "tests._exit_probe",
            _address(dev_env),
            ended_run.id,
            "--check-threads",
        ]
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == ["TERMINATED", "released True", "threads 1"]


async def test_ledgerd_status_exits_0_with_the_runs_status(
    dev_env: WorkflowEnvironment, ended_run: WorkflowHandle[object, object]
) -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": _address(dev_env)}
    results = await asyncio.gather(
        *(
            _launch([sys.executable, "-m", "ledgerd.cli", "status", ended_run.id], env)
            for _ in range(2)
        )
    )
    for code, out, err in results:
        assert (code, err) == (0, "")
        assert out.startswith(f"{ended_run.id}: TERMINATED\n")


async def test_every_ledgerd_client_gets_the_runtime_that_is_released_at_exit(
    dev_env: WorkflowEnvironment,
) -> None:
    client = await Client.connect(_address(dev_env), plugins=[LedgerdPlugin()])
    assert client.service_client.config.runtime is temporal_runtime()
    assert dev_env.client.service_client.config.runtime is temporal_runtime()
