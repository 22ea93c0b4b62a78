"""Every daemon on every registry model in every role the configuration allows.

Four runs per cell, on the stand-in (which enforces each model's contract): a vendor
hydration, an onboarding's account mapping up to its proposal, a ledger question that needs a
re-plan, and a guardrail rejection followed by a revision. A cell is a role given one model,
the other roles keeping their defaults (the executor moves aside when the judge takes its
model: they must differ).

`make test` runs a representative subset: every current model at least once and every way
of asking for a structured answer. `make test-matrix` (LEDGERD_MATRIX=full) runs all cells;
CI runs both.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from ledgerd.config import ROLES, ConfigError, load_settings
from ledgerd.contracts import DaemonResult, Outcome
from ledgerd.model_registry import known_models
from ledgerd.runtime import Dependencies, open_dependencies
from standin import OfflineModelConfig, OfflineModelServer
from starter import start_client_onboarding
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests._onboarding import initech, onboarding_request
from tests._scripted_model import ExecutorScript, calls
from tests.conftest import running_worker
from tests.test_daemon_loop import GOOD_UPSERT, LOOKUPS, answer
from workflows import (
    ClientOnboarding,
    HydrationRequest,
    LedgerQuestion,
    QuestionRequest,
    VendorHydration,
)

FULL = os.environ.get("LEDGERD_MATRIX") == "full"
SCENARIOS = ("hydration", "onboarding", "replan", "revision")
# Every current model at least once, and each way a structured answer is asked for: the
# defaults (auto tool for the planner, forced tool for Haiku 5.5's verdicts), structured
# outputs (a Sonnet 5.5 judge), forced tool with adaptive thinking skipped (an Opus 5 judge),
# and an older model with no thinking (Haiku 4.5 planning and executing).
SUBSET = {
    ("planner", "claude-opus-5-5"),
    ("judge", "claude-sonnet-5-5"),
    ("judge", "claude-opus-5"),
    ("executor", "claude-sonnet-5"),
    ("planner", "claude-haiku-4-5"),
    ("executor", "claude-haiku-4-5"),
}


def _overrides(role: str, model: str) -> dict[str, Any]:
    overrides: dict[str, Any] = {f"{role}_model": model}
    defaults = load_settings()
    if role == "judge" and model == defaults.executor_model:
        overrides["executor_model"] = "claude-opus-5-5"
    if role == "executor" and model == defaults.judge_model:
        overrides["judge_model"] = "claude-sonnet-5-5"
    return overrides


def _cells() -> list[tuple[str, str]]:
    found = []
    for model in (p.id for p in known_models()):
        for role in ROLES:
            try:
                load_settings(**_overrides(role, model))
            except ConfigError:
                continue  # the configuration refuses it (e.g. a retired model)
            if FULL or (role, model) in SUBSET:
                found.append((role, model))
    return found


# The revision scenario scripts the executor: an answer whose domain no tool returned, then
# the right one after the guardrail's feedback. The others run the shipped scripts.
_REVISING = ExecutorScript(
    [LOOKUPS, calls(GOOD_UPSERT), lambda r: answer(r, domain="bluebottle.example"), answer]
)


@pytest.fixture
async def cell_deps(
    request: pytest.FixtureRequest, pg_url: str, seeded_pg_url: str
) -> AsyncIterator[Dependencies]:
    """The worker's dependencies with the cell's model in its role, on a stand-in that runs
    the scenario's scripts."""
    params = request.node.callspec.params
    role, model = params["cell"]
    scenario = params["scenario"]
    scenarios = (_REVISING,) if scenario == "revision" else ()
    async with OfflineModelServer(OfflineModelConfig(scenarios=scenarios), port=0) as server:
        deps = await open_dependencies(
            load_settings(
                database_url=seeded_pg_url if scenario == "replan" else pg_url,
                offline_model_port=server.port,
                **_overrides(role, model),
            )
        )
        try:
            yield deps
        finally:
            await deps.close()


async def _hydrate(env: WorkflowEnvironment, deps: Dependencies, queue: str) -> DaemonResult:
    await small_ledger(deps.pool)
    result: DaemonResult = await env.client.execute_workflow(
        VendorHydration.run,
        HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE),
        id=f"matrix-{uuid.uuid4()}",
        task_queue=queue,
    )
    assert result.outcome is Outcome.COMPLETED, result.reason
    return result


async def _hydration(env: WorkflowEnvironment, deps: Dependencies, queue: str) -> None:
    result = await _hydrate(env, deps, queue)
    assert result.answer is not None and result.answer["domain"] == "bluebottlecoffee.com"


async def _onboarding(env: WorkflowEnvironment, deps: Dependencies, queue: str) -> None:
    await initech(deps.pool)
    handle = await start_client_onboarding(
        env.client, onboarding_request(), task_queue=queue, workflow_id=f"matrix-{uuid.uuid4()}"
    )
    try:
        for _ in range(1200):
            pending = await handle.query(ClientOnboarding.pending_approval)
            if pending is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the mapping never reached a proposal")
        mapped = {m.code: m.standard_category for m in pending.proposal.mappings}
        assert mapped["6000"] == "software" and mapped["6100"] == "meals"
    finally:
        await handle.terminate("the matrix checks the mapping only")


async def _replan(env: WorkflowEnvironment, deps: Dependencies, queue: str) -> None:
    viewer = Principal(id="globex-viewer", tenant_id="globex", role=Role.VIEWER)
    result: DaemonResult = await env.client.execute_workflow(
        LedgerQuestion.run,
        QuestionRequest(
            tenant_id="globex",
            principal=viewer,
            question="How much did we pay PugetSoundEnergyInc in January 2025?",
        ),
        id=f"matrix-{uuid.uuid4()}",
        task_queue=queue,
    )
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert result.plan_rounds == 2


async def _revision(env: WorkflowEnvironment, deps: Dependencies, queue: str) -> None:
    result = await _hydrate(env, deps, queue)
    assert result.verdict is not None and result.verdict.passed
    assert result.model_calls == 1 + 4 + 2  # the plan, four executor turns, two reviews


_RUNS = {
    "hydration": _hydration,
    "onboarding": _onboarding,
    "replan": _replan,
    "revision": _revision,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("cell", _cells(), ids=lambda c: f"{c[0]}={c[1]}")
async def test_the_daemon_runs_green(
    time_skipping_env: WorkflowEnvironment,
    cell_deps: Dependencies,
    cell: tuple[str, str],
    scenario: str,
) -> None:
    async with running_worker(time_skipping_env) as queue:
        await _RUNS[scenario](time_skipping_env, cell_deps, queue)
