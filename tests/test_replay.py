"""Every workflow type replays deterministically against histories recorded from real runs.

Histories live in tests/histories/ (recorded with LEDGERD_RECORD_HISTORIES=1 from the
integration tests). A change to workflow code that would break running workflows fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from ledgerd.plugin import LedgerdPlugin
from workflows import ALL_WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _workflow_type(path: Path) -> str:
    events = json.loads(path.read_text())["events"]
    return str(events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


def test_every_workflow_type_has_a_recorded_history() -> None:
    recorded = {_workflow_type(path) for path in HISTORIES}
    defined = {str(workflow._Definition.must_from_class(w).name) for w in ALL_WORKFLOWS}
    assert defined <= recorded, f"record a history for {sorted(defined - recorded)}"


def _history(path: Path) -> WorkflowHistory:
    recorded = json.loads(path.read_text())
    return WorkflowHistory.from_json(recorded.pop("workflowId"), recorded)


@pytest.mark.parametrize(
    "history", [_history(path) for path in HISTORIES], ids=[path.stem for path in HISTORIES]
)
async def test_history_replays(history: WorkflowHistory) -> None:
    result = await Replayer(workflows=[], plugins=[LedgerdPlugin()]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{history.workflow_id}: {result.replay_failure}"
