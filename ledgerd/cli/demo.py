"""`ledgerd demo`: bring the stack up, seed it, hydrate a vendor, onboard a client, ask."""

from __future__ import annotations

import asyncio

import typer

from accounting.principals import Principal
from ledgerd.cli.ask import ask_question
from ledgerd.cli.context import cli_settings, database, temporal
from ledgerd.cli.output import fail, ui_link
from ledgerd.cli.runs import hydrate_descriptor
from ledgerd.cli.stack import start_background
from ledgerd.config import Settings

DEMO_QUESTION = (
    "How much did we spend on software in Q3 2025 versus Q2 2025, and which vendors grew most?"
)


async def demo_principal(settings: Settings, principal_id: str) -> Principal:
    """A demo principal, proved as any other: by its token (the demo seed's documented one)."""
    from accounting.principals import authenticate_token
    from demo_seed import demo_token

    pool = await database(settings)
    try:
        return await authenticate_token(pool, demo_token(principal_id))
    finally:
        await pool.close()


async def demo_onboarding(settings: Settings) -> None:
    """Onboard a new client, show it waiting for approval, then approve it (demo mode)."""
    from importlib import resources

    from accounting.clients import ClientProfile
    from demo_seed import demo_token, open_demo_client
    from ledgerd.onboarding import Action, ChartFormat, OnboardingRequest
    from starter import decide_onboarding, start_client_onboarding, wait_for_proposal

    pool = await database(settings, max_size=1)
    try:
        await open_demo_client(pool)
    finally:
        await pool.close()
    samples = resources.files("ledgerd.onboarding") / "samples"
    request = OnboardingRequest(
        tenant_id="initech",
        principal=await demo_principal(settings, "initech-service"),
        profile=ClientProfile(legal_name="Initech LLC", industry="Software", country="US"),
        chart_format=ChartFormat.QUICKBOOKS,
        chart_csv=(samples / "initech_quickbooks.csv").read_text(),
        approvers=["initech-accountant"],
        escalation_approvers=["initech-owner"],
        top_vendors=0,
    )
    client = await temporal(settings)
    handle = await start_client_onboarding(client, request)
    typer.echo(f"\nonboarding Initech LLC: {handle.id}")
    pending = await wait_for_proposal(handle)
    if pending is None:
        ended = await handle.result()
        raise fail(f"onboarding ended without a proposal: {ended.outcome.value}: {ended.reason}")
    typer.echo(
        f"waiting for approval {pending.approval_id} by {', '.join(pending.asked)}: "
        f"{len(pending.proposal.mappings)} accounts mapped; reminder "
        f"{pending.remind_at:%Y-%m-%d %H:%M}, escalation {pending.escalate_at:%Y-%m-%d %H:%M}, "
        f"expiry {pending.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    typer.echo(
        f"  as initech-accountant (the demo seed's token: "
        f"LEDGERD_TOKEN={demo_token('initech-accountant')}):"
    )
    typer.echo(f"  approve:  ledgerd approve {handle.id}")
    typer.echo(f"  reject:   ledgerd reject {handle.id} --comments '6800 to office_supplies'")
    typer.echo(f"  inspect:  ledgerd pending {handle.id}  ·  {ui_link(settings, handle.id)}")
    typer.echo("demo mode: approving as initech-accountant now")
    approver = await demo_principal(settings, "initech-accountant")
    await decide_onboarding(client, handle.id, approver=approver, action=Action.APPROVE)
    result = await handle.result()
    typer.echo(f"onboarding {result.outcome.value}: {result.reason}")
    for mapping in result.applied.mappings if result.applied else []:
        typer.echo(f"  {mapping.code:>6} {mapping.name:<28} → {mapping.standard_category}")


def demo() -> None:
    """Bring the stack up, seed it, hydrate a vendor, onboard a client, ask a question."""
    from demo_seed import seed_demo_data
    from ledgerd.db import apply_migrations

    settings = cli_settings()
    start_background(settings)

    async def run() -> None:
        await apply_migrations(settings.effective_database_url)
        pool = await database(settings, max_size=2)
        try:
            summary = await seed_demo_data(pool)
            counts = {t: c.transactions for t, c in summary.tenants.items()}
            typer.echo(f"demo data: transactions per tenant {counts}")
            async with pool.connection() as conn:
                cursor = await conn.execute(
                    """SELECT raw_descriptor FROM bank_transactions
                       WHERE tenant_id = 'acme' AND vendor_id IS NULL AND amount < 0
                       GROUP BY raw_descriptor ORDER BY count(*) DESC, raw_descriptor LIMIT 1"""
                )
                row = await cursor.fetchone()
        finally:
            await pool.close()
        assert row is not None, "the demo tenant has no unlinked transactions"
        typer.echo(f"\nhydrating the most frequent unlinked descriptor: {row['raw_descriptor']!r}")
        await hydrate_descriptor(
            await temporal(settings),
            settings,
            await demo_principal(settings, "acme-service"),
            row["raw_descriptor"],
        )
        await demo_onboarding(settings)
        typer.echo(f"\nasking acme's ledger: {DEMO_QUESTION!r}")
        await ask_question(settings, await demo_principal(settings, "acme-viewer"), DEMO_QUESTION)
        typer.echo(
            "\nThe stack keeps running for the Temporal UI; stop it with `ledgerd dev --down`."
        )

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.command()(demo)
