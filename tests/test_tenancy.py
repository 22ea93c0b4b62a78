"""Tenants and principals through an authorised path (issue 13, part 4): platform
administrators create them, tokens are shown once and kept as hashes, and a company that is not
in the demo seed is onboarded end to end: `ledgerd tenant create`, then `ledgerd onboard` as the
new tenant's service, then `ledgerd approve` as its accountant. Real dev server and worker,
real PostgreSQL, the offline model; `ledgerd` commands in-process through Typer's runner.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from ledgerd.api import create_app
from ledgerd.cli import app
from ledgerd.config import load_settings
from ledgerd.onboarding import OnboardingOutcome, OnboardingResult
from ledgerd.runtime import Dependencies
from starter import wait_for_proposal
from tests._onboarding import QUICKBOOKS_CHART
from tests.conftest import running_worker

TOKEN_LINE = re.compile(r"^\s+(\S+)\s+(owner|accountant|viewer|service|administrator)\s+(\S+)")


def tokens_in(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    return {m[1]: m[3] for line in result.stdout.splitlines() if (m := TOKEN_LINE.match(line))}


async def stored_tokens(deps: Dependencies) -> set[str]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT token_sha256 FROM principals UNION ALL SELECT token_sha256 FROM platform_admins"
        )
        return {row["token_sha256"] for row in await cursor.fetchall()}


async def test_admins_create_tenants_and_a_new_company_is_onboarded_end_to_end(
    dev_env: WorkflowEnvironment, deps: Dependencies, tmp_path: Path
) -> None:
    runner = CliRunner()
    base = {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "DATABASE_URL": deps.settings.effective_database_url,
    }

    async def ledgerd(token: str, *args: str, queue: str = "ledgerd") -> Result:
        env = {**base, "LEDGERD_TOKEN": token, "LEDGERD_TASK_QUEUE": queue}
        return await asyncio.to_thread(runner.invoke, app, list(args), env=env)

    # The first administrator is the bootstrap; every later one needs an administrator.
    root = tokens_in(await ledgerd("", "admin", "create", "root"))["root"]
    second = await ledgerd("", "admin", "create", "second")
    assert second.exit_code == 1 and "who are you?" in second.output

    created = await ledgerd(root, "tenant", "create", "--tenant", "hooli", "--name", "Hooli XYZ")
    issued = tokens_in(created)
    assert set(issued) == {f"hooli-{r}" for r in ("owner", "accountant", "viewer", "service")}
    assert "shown once" in created.stderr
    # Only hashes are kept.
    stored = await stored_tokens(deps)
    for token in (root, *issued.values()):
        assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored
    # A tenant principal may not administer, whatever its role.
    refused = await ledgerd(
        issued["hooli-owner"], "tenant", "create", "--tenant", "x1", "--name", "X"
    )
    assert refused.exit_code == 1
    assert "cli 'tenant create' is for platform administrators only" in refused.output
    again = await ledgerd(root, "tenant", "create", "--tenant", "hooli", "--name", "Hooli")
    assert again.exit_code == 1 and "tenant 'hooli' already exists" in again.output

    chart = tmp_path / "hooli.csv"
    chart.write_text(QUICKBOOKS_CHART)
    async with running_worker(dev_env) as queue:
        started = await ledgerd(
            issued["hooli-service"],
            "onboard",
            "--tenant",
            "hooli",
            "--chart",
            str(chart),
            "--legal-name",
            "Hooli XYZ Inc.",
            "--top-vendors",
            "0",
            queue=queue,
        )
        assert started.exit_code == 0, started.output
        workflow_id = "client-onboarding-hooli"
        handle = dev_env.client.get_workflow_handle(workflow_id, result_type=OnboardingResult)
        pending = await wait_for_proposal(handle, within_seconds=120)
        assert pending is not None and pending.asked == ["hooli-accountant"]
        # The service that started it may not approve it; the accountant asked may.
        starter = await ledgerd(issued["hooli-service"], "approve", workflow_id)
        assert starter.exit_code == 1 and "cli 'approve' is for accountant, owner only" in (
            starter.output
        )
        approved = await ledgerd(issued["hooli-accountant"], "approve", workflow_id)
        assert approved.exit_code == 0, approved.output
        result = await handle.result()
    assert result.outcome is OnboardingOutcome.APPLIED and result.decided_by == "hooli-accountant"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    async with deps.pool.connection() as conn:
        cursor = await conn.execute("SELECT status FROM tenants WHERE id = 'hooli'")
        assert await cursor.fetchone() == {"status": "active"}
        cursor = await conn.execute("SELECT count(*) AS n FROM accounts WHERE tenant_id = 'hooli'")
        assert (await cursor.fetchone() or {})["n"] == len(QUICKBOOKS_CHART.splitlines()) - 1

    # Revoking a principal stops its token at once.
    revoked = await ledgerd(root, "principal", "revoke", "hooli-viewer")
    assert revoked.exit_code == 0, revoked.output
    asked = await ledgerd(issued["hooli-viewer"], "ask", "How much did we spend?")
    assert asked.exit_code == 1 and "the token of 'hooli-viewer' was revoked" in asked.output


async def test_the_admin_routes_issue_tokens_once_and_refuse_tenant_principals(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    from datetime import timedelta

    from ledgerd.security.admins import create_admin

    root = await create_admin(deps.pool, "root", created_by=None, ttl=timedelta(days=1))
    settings = load_settings(database_url=deps.settings.effective_database_url)
    api = create_app(settings, temporal_client=time_skipping_env.client, pool=deps.pool)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://api"
    ) as http:
        admin = {"Authorization": f"Bearer {root}"}
        body = {"tenant_id": "pied-piper", "name": "Pied Piper"}
        created = await http.post("/v1/tenants", json=body, headers=admin)
        assert created.status_code == 201, created.text
        assert created.headers["cache-control"] == "no-store"
        principals = {p["principal_id"]: p for p in created.json()["principals"]}
        assert set(principals) == {
            f"pied-piper-{r}" for r in ("owner", "accountant", "viewer", "service")
        }
        owner = {"Authorization": f"Bearer {principals['pied-piper-owner']['token']}"}
        # The new owner's token works on the tenant's routes, and not on the admin routes.
        assert (await http.get("/v1/approvals", headers=owner)).status_code == 200
        for path, payload in (
            ("/v1/tenants", {"tenant_id": "hooli", "name": "Hooli"}),
            ("/v1/tenants/pied-piper/principals", {"role": "owner", "id": "erlich"}),
            ("/v1/admins", {"admin_id": "mallory"}),
        ):
            refused = await http.post(path, json=payload, headers=owner)
            assert refused.status_code == 403, refused.text
            assert "is for platform administrators only" in refused.json()["error"]["message"]
        anonymous = await http.post("/v1/tenants", json=body)
        assert anonymous.status_code == 401
        assert (await http.post("/v1/tenants", json=body, headers=admin)).status_code == 409

        added = await http.post(
            "/v1/tenants/pied-piper/principals",
            json={"role": "accountant", "id": "monica"},
            headers=admin,
        )
        assert added.status_code == 201 and added.json()["tenant_id"] == "pied-piper"
        monica = {"Authorization": f"Bearer {added.json()['token']}"}
        assert (await http.get("/v1/approvals", headers=monica)).status_code == 200
        revoked = await http.post("/v1/principals/monica/revoke", headers=admin)
        assert revoked.status_code == 204
        after = await http.get("/v1/approvals", headers=monica)
        assert after.status_code == 401 and "revoked" in after.text
    assert added.json()["token"] not in await stored_tokens(deps)
