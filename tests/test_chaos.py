"""The fast subset of `ledgerd chaos` (docs/reliability.md): every scenario at a small size
on one real embedded stack, asserting the targets: every daemon completed, no mutating effect
twice or missing, nothing stuck. The full sizes run with `ledgerd chaos all`.

A worker killed with activities in flight costs up to their timeouts (60 s) before Temporal
retries them elsewhere: that wait is Temporal's failure detection, and it bounds scenario a.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chaos import SCENARIOS, Options, ScenarioReport, render
from chaos._stack import ChaosStack

pytestmark = pytest.mark.timeout(600)

FAST = Options(daemons=6, kills=2, outage_seconds=5.0, stall_seconds=3.0, deadline_seconds=300.0)


@pytest.fixture(scope="module")
async def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ChaosStack]:
    stack = ChaosStack(tmp_path_factory.mktemp("chaos"))
    try:
        await stack.start()
        yield stack
    finally:
        await stack.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario_meets_its_targets(
    name: str, chaos_stack: ChaosStack, tmp_path: Path
) -> None:
    _title, scenario = SCENARIOS[name]
    report = await scenario(chaos_stack, FAST)
    report.write(tmp_path)
    table = render([report])

    assert report.started == FAST.daemons, table
    assert report.completed + report.expected_failures == report.started, table
    assert report.duplicate_total == 0, table
    assert report.missing_total == 0, table
    assert report.stuck == [], table
    assert all(report.checks.values()), table
    assert report.at_target, table
    assert report.recoveries, table  # the fault did strike while daemons ran


def test_a_short_fall_is_reported_as_one() -> None:
    """The verdict can fail: a duplicate, a stuck run or a missing daemon each miss target."""
    base = ScenarioReport(scenario="x", title="t", started=3, completed=3)
    assert base.at_target
    assert not ScenarioReport(scenario="x", title="t", started=3, completed=2).at_target
    duplicated = ScenarioReport(scenario="x", title="t", started=3, completed=3)
    duplicated.duplicates["vendors"] = 1
    assert not duplicated.at_target
    stuck = ScenarioReport(scenario="x", title="t", started=3, completed=3, stuck=["wf"])
    assert not stuck.at_target
    unchecked = ScenarioReport(scenario="x", title="t", started=3, completed=3)
    unchecked.checks["the 400 failed fast"] = False
    assert not unchecked.at_target
    assert "NO" in render([unchecked]) and "check failed" in render([unchecked])
