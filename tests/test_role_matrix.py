"""The role matrix: docs/security.md and ledgerd.security.policy agree cell by cell, and
every tool cell holds at its enforcement point (`Tool.invoke`), on a seeded database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from accounting.errors import AccessDenied
from accounting.principals import Principal, Role
from ledgerd.db import Pool
from ledgerd.onboarding import Action
from ledgerd.security.policy import MATRIX, permits
from tools.catalog import CATALOG

ROLES = [Role.OWNER, Role.ACCOUNTANT, Role.VIEWER, Role.SERVICE]
DOC = Path(__file__).parent.parent / "docs" / "security.md"
ROW = re.compile(r"^\| (\w+) \| `([^`]+)` \| (\w+) \| (\w+) \| (\w+) \| (\w+) \|$")


def documented() -> dict[tuple[str, str, Role], bool]:
    cells = {}
    for line in DOC.read_text().splitlines():
        found = ROW.match(line)
        if found:
            kind, subject, *verdicts = found.groups()
            for role, verdict in zip(ROLES, verdicts, strict=True):
                cells[(kind, subject, role)] = verdict == "allowed"
    return cells


def test_the_documented_matrix_is_the_enforced_one_cell_by_cell() -> None:
    cells = documented()
    enforced = {
        (kind, subject, role): permits(role, kind, subject)
        for kind, subjects in MATRIX.items()
        for subject in subjects
        for role in ROLES
    }
    assert cells == enforced


def test_every_tool_of_the_catalog_has_a_row() -> None:
    assert set(MATRIX["tool"]) == set(CATALOG)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tool_name", sorted(CATALOG))
async def test_each_tool_cell_holds_at_invocation(ledger: Pool, tool_name: str, role: Role) -> None:
    principal = Principal(id=f"acme-{role.value}", tenant_id="acme", role=role)
    tool = CATALOG[tool_name]
    try:
        # Empty arguments: an allowed role gets past the matrix (and fails validation or
        # answers); a refused one is stopped before its arguments are read.
        await tool.invoke(ledger, principal, {}, f"matrix/{tool_name}/{role.value}")
    except AccessDenied as error:
        assert not permits(role, "tool", tool_name), f"{role} refused {tool_name}: {error}"
        assert f"tool {tool_name!r} is for" in str(error)
    except Exception:
        assert permits(role, "tool", tool_name), f"{role} was not refused {tool_name}"
    else:
        assert permits(role, "tool", tool_name), f"{role} was not refused {tool_name}"


# ------------------------------------------------------------------ every other kind of cell
# Each cell is exercised where it is enforced, with real principals of the seeded tenant
# (`acme-<role>`, the demo seed's tokens): the API's one gate, the CLI's `authenticate`, the
# activities that confirm a daemon start, a decision and feedback. "Allowed" means the
# request got past the matrix (it may still fail later, e.g. 404 or 422); "refused" means
# the matrix stopped it, with its own reason.

TENANT_ROLES = [Role.OWNER, Role.ACCOUNTANT, Role.VIEWER, Role.SERVICE]


def _matrix_refused(text: str, kind: str, subject: str) -> bool:
    return f"{kind} {subject!r} is for" in text


def _api_routes() -> dict[str, tuple[str, str]]:
    """Every route of the app the matrix governs, from its OpenAPI document (what the app
    serves): subject → (method, path template)."""
    from ledgerd.api import create_app
    from ledgerd.config import load_settings

    paths = create_app(load_settings()).openapi()["paths"]
    return {
        f"{method.upper()} {path}": (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    }


def test_every_api_route_has_a_row_and_every_row_a_route() -> None:
    routes = set(_api_routes())
    rows = {s.removesuffix(" (correction)") for s in MATRIX["api"]}
    assert routes == rows


def test_every_cli_command_that_acts_for_someone_has_a_row() -> None:
    """The subjects `ledgerd/cli` authenticates against are exactly the matrix's rows: the
    literal given to `authenticate`/`authenticate_admin`, or to the `command` it is passed."""
    import ast

    import ledgerd.cli

    def literals(node: ast.AST) -> set[str]:
        """The strings an expression chooses among: a literal, or either side of `x if c else
        y` (never an f-string's parts)."""
        if isinstance(node, ast.IfExp):
            return literals(node.body) | literals(node.orelse)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        return set()

    named: set[str] = set()
    for path in Path(ledgerd.cli.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "command" for t in node.targets
            ):
                named |= literals(node.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {
                "authenticate",
                "authenticate_admin",
            }:
                subject = node.args[1]
                if isinstance(subject, ast.Constant) and isinstance(subject.value, str):
                    named.add(subject.value)
                elif isinstance(subject, ast.Attribute) and subject.attr == "value":
                    named |= {action.value for action in Action}  # approve, reject, edit
    assert named == set(MATRIX["cli"])


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_each_api_cell_holds_at_the_gate(
    time_skipping_env: Any, ledger: Pool, role: Role
) -> None:
    import httpx

    from demo_seed import demo_token
    from ledgerd.api import create_app
    from ledgerd.config import load_settings

    settings = load_settings(task_queue="test-matrix-nobody-polls")
    app = create_app(settings, temporal_client=time_skipping_env.client, pool=ledger)
    token = {"Authorization": f"Bearer {demo_token(f'acme-{role.value}')}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        for subject, (method, template) in _api_routes().items():
            path = template.format(
                workflow_id="no-such-run", tenant_id="acme", principal_id="acme-viewer"
            )
            bodies: tuple[tuple[str, dict[str, Any]], ...] = (
                (subject, {}),
                (f"{subject} (correction)", {"correction": {}}),
            )
            for row, body in bodies:
                if row not in MATRIX["api"]:
                    continue
                response = await http.request(
                    method, path, json=body if method == "POST" else None, headers=token
                )
                refused = response.status_code == 403 and _matrix_refused(response.text, "api", row)
                assert refused == (not permits(role, "api", row)), (row, response.text)


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_each_cli_cell_holds_at_authenticate(
    ledger: Pool, seeded_pg_url: str, role: Role, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from demo_seed import demo_token
    from ledgerd.cli.identity import authenticate, authenticate_admin
    from ledgerd.config import load_settings

    settings = load_settings(database_url=seeded_pg_url)
    monkeypatch.setenv("LEDGERD_TOKEN", demo_token(f"acme-{role.value}"))
    for command, roles in MATRIX["cli"].items():
        check = authenticate_admin if not roles else authenticate
        try:
            await check(settings, command)
        except typer.Exit:
            allowed = False
        else:
            allowed = True
        assert allowed == permits(role, "cli", command), command


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_each_daemon_start_update_and_signal_cell_holds_at_its_activity(
    seeded_deps: Any, role: Role
) -> None:
    from datetime import UTC, datetime

    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from activities.feedback import FeedbackStep, record_feedback
    from activities.security import (
        DecisionProof,
        PrincipalCheck,
        verify_decision,
        verify_principal,
    )
    from ledgerd.feedback import RunFeedback, RunTarget
    from ledgerd.security.actions import decision_action, sign_action

    who = Principal(id=f"acme-{role.value}", tenant_id="acme", role=role)
    env = ActivityEnvironment()

    async def refusal(activity: Any, arg: Any) -> str | None:
        try:
            await env.run(activity, arg)
        except ApplicationError as error:
            return str(error)
        return None

    for kind in ("workflow", "update"):
        for subject in MATRIX[kind]:
            if kind == "update" and subject.startswith("feedback"):
                correction = {"canonical_name": "x"} if "correction" in subject else None
                step = FeedbackStep(
                    run=RunTarget(workflow_id="no-such-run", tenant_id="acme"),
                    feedback=RunFeedback(principal=who, rating=3, correction=correction),
                    idempotency_key=f"matrix/{role.value}/{subject}",
                )
                reason = await refusal(record_feedback, step)
            else:
                check = PrincipalCheck(principal=who, tenant_id="acme", kind=kind, subject=subject)
                reason = await refusal(verify_principal, check)
            refused = reason is not None and _matrix_refused(reason, kind, subject)
            assert refused == (not permits(role, kind, subject)), (kind, subject, reason)

    content = {"comments": "", "edited_proposal": None}
    proof = DecisionProof(
        workflow_id="client-onboarding-acme",
        tenant_id="acme",
        approval_id="a-1",
        action="approve",
        content=content,
        credential=sign_action(
            who,
            "client-onboarding-acme",
            decision_action("approve"),
            subject="a-1",
            content=content,
            now=datetime.now(UTC),
        ),
        approver=None,
        asked=[who.id],
        started_by="acme-someone-else",
    )
    reason = await refusal(verify_decision, proof)
    refused = reason is not None and _matrix_refused(reason, "signal", "submit_decision")
    assert refused == (not permits(role, "signal", "submit_decision")), reason
