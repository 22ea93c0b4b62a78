"""CLI commands for client onboarding: start it, and approve, reject or edit its proposal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from ledgerd.cli.context import cli_settings, temporal
from ledgerd.cli.identity import TokenFile, authenticate
from ledgerd.cli.output import ui_link
from ledgerd.onboarding import Action, OnboardingProposal


def onboard(
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
    tenant: Annotated[
        str | None, typer.Option(help="Tenant id of the company (default: your token's).")
    ] = None,
    token_file: TokenFile = None,
) -> None:
    """Start onboarding your tenant's company (as your token's principal); prints how to
    approve it."""
    from accounting.clients import ClientProfile
    from ledgerd.onboarding import ChartFormat, OnboardingRequest
    from starter import start_client_onboarding

    settings = cli_settings()

    async def run() -> None:
        starter = await authenticate(settings, "onboard", token_file=token_file, tenant=tenant)
        company = starter.tenant_id
        request = OnboardingRequest(
            tenant_id=company,
            principal=starter,
            profile=ClientProfile(legal_name=legal_name, industry=industry, country=country),
            chart_format=ChartFormat(chart_format),
            chart_csv=chart.read_text(encoding="utf-8"),
            approvers=approver or [f"{company}-accountant"],
            escalation_approvers=escalate_to or [f"{company}-owner"],
            top_vendors=top_vendors,
        )
        handle = await start_client_onboarding(
            await temporal(settings), request, task_queue=settings.task_queue
        )
        typer.echo(f"started {handle.id}\nTemporal UI: {ui_link(settings, handle.id)}")
        typer.echo(
            f"approve with: ledgerd approve {handle.id}  (as {request.approvers[0]}: "
            "LEDGERD_TOKEN or --token-file holding their token)"
        )

    asyncio.run(run())


async def _decide(
    workflow_id: str,
    acting_as: str | None,
    action: Action,
    comments: str,
    edited: OnboardingProposal | None,
    token_file: Path | None,
) -> None:
    from starter import decide_onboarding

    settings = cli_settings()
    approver = await authenticate(
        settings, action.value, token_file=token_file, acting_as=acting_as
    )
    receipt = await decide_onboarding(
        await temporal(settings),
        workflow_id,
        approver=approver,
        action=action,
        comments=comments,
        edited_proposal=edited,
    )
    typer.echo(f"{receipt.action.value} accepted for approval {receipt.approval_id}")


def approve(
    workflow_id: str,
    acting_as: Annotated[
        str | None, typer.Option("--as", help="Checked against your token's principal.")
    ] = None,
    token_file: TokenFile = None,
) -> None:
    """Approve the pending onboarding proposal."""
    asyncio.run(_decide(workflow_id, acting_as, Action.APPROVE, "", None, token_file))


def reject(
    workflow_id: str,
    comments: Annotated[str, typer.Option(help="What to change, e.g. '6800 to office_supplies'.")],
    acting_as: Annotated[
        str | None, typer.Option("--as", help="Checked against your token's principal.")
    ] = None,
    token_file: TokenFile = None,
) -> None:
    """Reject the proposal with comments; the daemon revises it and asks again."""
    asyncio.run(_decide(workflow_id, acting_as, Action.REJECT, comments, None, token_file))


def edit(
    workflow_id: str,
    proposal: Annotated[Path, typer.Option(help="The corrected proposal (JSON).", exists=True)],
    acting_as: Annotated[
        str | None, typer.Option("--as", help="Checked against your token's principal.")
    ] = None,
    token_file: TokenFile = None,
) -> None:
    """Approve a corrected proposal, applied exactly as edited."""
    edited = OnboardingProposal.model_validate(json.loads(proposal.read_text()))
    asyncio.run(_decide(workflow_id, acting_as, Action.EDIT, "", edited, token_file))


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
