"""The worker process: which queues it serves for `--queues`, the limits it sets on them, and
its health endpoint for Kubernetes probes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities import ALL_ACTIVITIES, MODEL_ACTIVITIES
from ledgerd.config import load_settings
from ledgerd.health import HealthServer
from worker import Queues, _arguments, build_workers


def _served(queues: Queues, env: WorkflowEnvironment) -> dict[str, tuple[int, int, float | None]]:
    """queue → (workflows, activities, rate limit) of each worker `--queues` builds
    (built, not started: building validates the workflows, in a running event loop)."""
    # A fresh main queue each time: built workers stay registered with the client.
    main = f"q{uuid.uuid4().hex[:8]}"
    settings = load_settings(task_queue=main, model_rate_limits="opus=1,sonnet=4,haiku=8")
    served = {}
    for worker in build_workers(env.client, settings, queues):
        config = worker.config(active_config=True)  # after the plugins: what runs
        served[worker.task_queue.replace(main, "ledgerd-test")] = (
            len(config.get("workflows") or []),
            len(config.get("activities") or []),
            config.get("max_task_queue_activities_per_second"),
        )
    return served


async def test_all_serves_the_main_queue_with_workflows_and_the_model_queues_rate_limited(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    served = _served("all", time_skipping_env)
    assert set(served) == {
        "ledgerd-test",
        "ledgerd-test-model-planner",
        "ledgerd-test-model-executor",
        "ledgerd-test-model-judge",
    }
    workflows, activities, limit = served["ledgerd-test"]
    assert workflows > 0 and limit is None  # tools are not rate limited
    # Every activity: model calls an older deployment scheduled here must still run.
    assert activities == len(ALL_ACTIVITIES)
    # Default models: planner Opus, executor Sonnet, judge Haiku, each its family's limit.
    assert served["ledgerd-test-model-planner"] == (0, len(MODEL_ACTIVITIES), 1.0)
    assert served["ledgerd-test-model-executor"] == (0, len(MODEL_ACTIVITIES), 4.0)
    assert served["ledgerd-test-model-judge"] == (0, len(MODEL_ACTIVITIES), 8.0)


async def test_one_kind_only(time_skipping_env: WorkflowEnvironment) -> None:
    assert set(_served("tools", time_skipping_env)) == {"ledgerd-test"}
    assert set(_served("model", time_skipping_env)) == {
        "ledgerd-test-model-planner",
        "ledgerd-test-model-executor",
        "ledgerd-test-model-judge",
    }


def test_an_unknown_kind_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _arguments(["--queues", "gpu"])
    assert exit_.value.code == 2
    assert "invalid choice: 'gpu'" in capsys.readouterr().err


def test_roles_sharing_a_family_split_its_limit() -> None:
    from ledgerd.queues import role_rate_limits

    settings = load_settings(
        planner_model="claude-sonnet-5",
        executor_model="claude-sonnet-5-5",
        judge_model="claude-haiku-5-5",
        model_rate_limits="sonnet=4",
    )
    assert role_rate_limits(settings) == {"planner": 2.0, "executor": 2.0, "judge": None}


async def test_health_answers_ok_then_draining() -> None:
    health = await HealthServer.start(0, host="127.0.0.1")
    port = health.port
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/other")).status_code == 404
            health.draining = True
            answer = await http.get("/healthz")
            assert answer.status_code == 503 and answer.text == "draining\n"
    finally:
        await health.close()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await asyncio.wait_for(http.get(f"http://127.0.0.1:{port}/healthz"), 5)
