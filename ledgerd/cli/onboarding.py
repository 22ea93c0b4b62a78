"""CLI commands for client onboarding: start it, and approve, reject or edit its proposal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from ledgerd.cli.context import cli_settings, principal_named, temporal
from ledgerd.cli.output import ui_link
from ledgerd.onboarding import Action, OnboardingProposal


def onboard(
    tenant: Annotated[str, typer.Option(help="Tenant id of the client company.")],
    chart: Annotated[Path, typer.Option(help="Chart of accounts export (CSV).", exists=True)],
    legal_name: Annotated[str, typer.Option(help="The company's legal name.")],
    chart_format: Annotated[
        str, typer.Option("--format", help="quickbooks or xero.")
    ] = "quickbooks",
    industry: Annotated[str, typer.Option()] = "Services",
    country: Annotated[str, typer.Option()] = "US",
    approver: Annotated[list[str] | None, typer.Option(help="Principal ids asked first.")] = None,
    escalate_to: Annotated[list[str] | None, typer.Option(help="Asked after 72 h.")] = None,
    top_vendors: Annotated[int, typer.Option()] = 3,
) -> None:
    """Start onboarding a client company; prints how to approve it."""
    from accounting.clients import ClientProfile
    from ledgerd.onboarding import ChartFormat, OnboardingRequest
    from starter import start_client_onboarding

    settings = cli_settings()

    async def run() -> None:
        request = OnboardingRequest(
            tenant_id=tenant,
            principal=await principal_named(settings, f"{tenant}-service"),
            profile=ClientProfile(legal_name=legal_name, industry=industry, country=country),
            chart_format=ChartFormat(chart_format),
            chart_csv=chart.read_text(encoding="utf-8"),
            approvers=approver or [f"{tenant}-accountant"],
            escalation_approvers=escalate_to or [f"{tenant}-owner"],
            top_vendors=top_vendors,
        )
        handle = await start_client_onboarding(await temporal(settings), request)
        typer.echo(f"started {handle.id}\nTemporal UI: {ui_link(settings, handle.id)}")
        typer.echo(f"approve with: ledgerd approve {handle.id} --as {request.approvers[0]}")

    asyncio.run(run())


async def _decide(
    workflow_id: str,
    acting_as: str,
    action: Action,
    comments: str,
    edited: OnboardingProposal | None,
) -> None:
    from starter import decide_onboarding

    settings = cli_settings()
    receipt = await decide_onboarding(
        await temporal(settings),
        workflow_id,
        approver=await principal_named(settings, acting_as),
        action=action,
        comments=comments,
        edited_proposal=edited,
    )
    typer.echo(f"{receipt.action.value} accepted for approval {receipt.approval_id}")


def approve(
    workflow_id: str,
    acting_as: Annotated[str, typer.Option("--as", help="Approver principal id.")],
) -> None:
    """Approve the pending onboarding proposal."""
    asyncio.run(_decide(workflow_id, acting_as, Action.APPROVE, "", None))


def reject(
    workflow_id: str,
    acting_as: Annotated[str, typer.Option("--as", help="Approver principal id.")],
    comments: Annotated[str, typer.Option(help="What to change, e.g. '6800 to office_supplies'.")],
) -> None:
    """Reject the proposal with comments; the daemon revises it and asks again."""
    asyncio.run(_decide(workflow_id, acting_as, Action.REJECT, comments, None))


def edit(
    workflow_id: str,
    acting_as: Annotated[str, typer.Option("--as", help="Approver principal id.")],
    proposal: Annotated[Path, typer.Option(help="The corrected proposal (JSON).", exists=True)],
) -> None:
    """Approve a corrected proposal, applied exactly as edited."""
    edited = OnboardingProposal.model_validate(json.loads(proposal.read_text()))
    asyncio.run(_decide(workflow_id, acting_as, Action.EDIT, "", edited))


def pending(workflow_id: str) -> None:
    """Show the pending approval of an onboarding: proposal, approvers, deadlines."""
    from workflows import ClientOnboarding

    settings = cli_settings()

    async def run() -> None:
        client = await temporal(settings)
        handle = client.get_workflow_handle(workflow_id)
        found = await handle.query(ClientOnboarding.pending_approval)
        typer.echo(found.model_dump_json(indent=2) if found else "nothing is pending")

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.command()(onboard)
    app.command()(approve)
    app.command()(reject)
    app.command()(edit)
    app.command()(pending)
