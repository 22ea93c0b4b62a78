"""CLI commands that start and inspect daemon runs: hydrate, status, result, demo."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, TypeVar

import typer
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from accounting.principals import Principal
from ledgerd._cli_output import fail
from ledgerd.config import Settings
from ledgerd.contracts import DaemonResult

Result = TypeVar("Result")


def ui_link(settings: Settings, workflow_id: str) -> str:
    return (
        f"http://127.0.0.1:{settings.temporal_ui_port}/namespaces/"
        f"{settings.temporal_namespace}/workflows/{workflow_id}"
    )


async def follow(handle: WorkflowHandle[Any, Result]) -> Result:
    """Print the run's status each time it changes, until it ends."""
    result = asyncio.ensure_future(handle.result())
    shown = ""
    while not result.done():
        try:
            status = await handle.query("status")
        except RPCError:
            status = shown
        if status and status != shown:
            typer.echo(f"  … {status}")
            shown = status
        await asyncio.wait([result], timeout=0.5)
    return result.result()


def print_result(settings: Settings, workflow_id: str, result: DaemonResult) -> None:
    colour = "green" if result.outcome == "completed" else "yellow"
    typer.secho(f"outcome: {result.outcome.value} — {result.reason}", fg=colour)
    if result.answer is not None:
        typer.echo(json.dumps(result.answer, indent=2))
    typer.echo(
        f"steps {result.steps}, model calls {result.model_calls}, tool calls {result.tool_calls}, "
        f"tokens {result.usage.total}"
    )
    typer.echo(f"Temporal UI: {ui_link(settings, workflow_id)}")


async def principal_named(settings: Settings, principal_id: str) -> Principal:
    from accounting.principals import load_principal
    from ledgerd.db import open_pool

    pool = await open_pool(settings.effective_database_url, max_size=1)
    try:
        return await load_principal(pool, principal_id)
    finally:
        await pool.close()


async def hydrate_descriptor(
    client: Client, settings: Settings, principal_id: str, descriptor: str
) -> DaemonResult:
    from starter import start_vendor_hydration

    principal = await principal_named(settings, principal_id)
    handle = await start_vendor_hydration(client, principal=principal, descriptor=descriptor)
    typer.echo(f"started {handle.id} as {principal.id} ({principal.role.value})")
    result = await follow(handle)
    print_result(settings, handle.id, result)
    return result


async def hydrate_all(
    client: Client, settings: Settings, principal_id: str, concurrency: int
) -> None:
    from starter import start_batch_hydration

    principal = await principal_named(settings, principal_id)
    handle = await start_batch_hydration(client, principal=principal, max_concurrency=concurrency)
    typer.echo(f"started {handle.id} as {principal.id}")
    result = await follow(handle)
    typer.echo(result.model_dump_json(indent=2))
    typer.echo(f"Temporal UI: {ui_link(settings, handle.id)}")


async def demo_onboarding(settings: Settings) -> None:
    """Onboard a new client, show it waiting for approval, then approve it (demo mode)."""
    from importlib import resources

    from accounting.clients import ClientProfile
    from accounting.principals import Role
    from accounting.tenants import open_tenant
    from ledgerd.db import open_pool
    from ledgerd.onboarding import Action, ChartFormat, OnboardingRequest
    from starter import connect, decide_onboarding, start_client_onboarding, wait_for_proposal

    pool = await open_pool(settings.effective_database_url, max_size=1)
    try:
        tokens = {r: f"demo-token-initech-{r.value}" for r in Role}
        await open_tenant(pool, "initech", "Initech LLC", tokens)
    finally:
        await pool.close()
    samples = resources.files("ledgerd.onboarding") / "samples"
    request = OnboardingRequest(
        tenant_id="initech",
        principal=await principal_named(settings, "initech-service"),
        profile=ClientProfile(legal_name="Initech LLC", industry="Software", country="US"),
        chart_format=ChartFormat.QUICKBOOKS,
        chart_csv=(samples / "initech_quickbooks.csv").read_text(),
        approvers=["initech-accountant"],
        escalation_approvers=["initech-owner"],
        top_vendors=0,
    )
    client = await connect(settings)
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
    typer.echo(f"  approve:  ledgerd approve {handle.id} --as initech-accountant")
    typer.echo(
        f"  reject:   ledgerd reject {handle.id} --as initech-accountant "
        "--comments '6800 to office_supplies'"
    )
    typer.echo(f"  inspect:  ledgerd pending {handle.id}  ·  {ui_link(settings, handle.id)}")
    typer.echo("demo mode: approving as initech-accountant now")
    approver = await principal_named(settings, "initech-accountant")
    await decide_onboarding(client, handle.id, approver=approver, action=Action.APPROVE)
    result = await handle.result()
    typer.echo(f"onboarding {result.outcome.value}: {result.reason}")
    for mapping in result.applied.mappings if result.applied else []:
        typer.echo(f"  {mapping.code:>6} {mapping.name:<28} → {mapping.standard_category}")


DEMO_QUESTION = (
    "How much did we spend on software in Q3 2025 versus Q2 2025, and which vendors grew most?"
)


def register(app: typer.Typer, settings_of: Any) -> None:
    @app.command()
    def hydrate(
        descriptor: Annotated[str | None, typer.Argument(help="A raw bank descriptor.")] = None,
        tenant: Annotated[str, typer.Option(help="Tenant id.")] = "acme",
        principal: Annotated[
            str | None, typer.Option(help="Principal id to act as (default <tenant>-service).")
        ] = None,
        all_unlinked: Annotated[
            bool, typer.Option("--all-unlinked", help="Hydrate every unlinked merchant.")
        ] = False,
        concurrency: Annotated[
            int, typer.Option(help="Children at once, with --all-unlinked.")
        ] = 4,
    ) -> None:
        """Hydrate the vendor behind a bank descriptor (or every unlinked merchant)."""
        from starter import connect

        settings: Settings = settings_of()
        if (descriptor is None) == (not all_unlinked):
            raise typer.BadParameter("give a descriptor or --all-unlinked, not both or neither")
        acting_as = principal or f"{tenant}-service"

        async def run() -> None:
            client = await connect(settings)
            if descriptor is not None:
                await hydrate_descriptor(client, settings, acting_as, descriptor)
            else:
                await hydrate_all(client, settings, acting_as, concurrency)

        asyncio.run(run())

    @app.command()
    def status(workflow_id: str) -> None:
        """Where a run is: its Temporal status and what the daemon is doing now."""
        from starter import connect

        settings: Settings = settings_of()

        async def run() -> None:
            handle = (await connect(settings)).get_workflow_handle(workflow_id)
            described = await handle.describe()
            typer.echo(f"{workflow_id}: {described.status.name if described.status else '?'}")
            if described.status == WorkflowExecutionStatus.RUNNING:
                typer.echo(f"  now: {await handle.query('status')}")
            typer.echo(f"  Temporal UI: {ui_link(settings, workflow_id)}")

        asyncio.run(run())

    @app.command()
    def result(workflow_id: str) -> None:
        """Wait for a run's result and print it."""
        from starter import connect

        settings: Settings = settings_of()

        async def run() -> None:
            handle = (await connect(settings)).get_workflow_handle(
                workflow_id, result_type=DaemonResult
            )
            print_result(settings, workflow_id, await handle.result())

        asyncio.run(run())

    @app.command()
    def demo() -> None:
        """Bring the stack up, seed it, hydrate a vendor, onboard a client, ask a question."""
        from demo_seed import seed_demo_data
        from ledgerd.cli import dev
        from ledgerd.db import apply_migrations, open_pool
        from starter import connect

        settings: Settings = settings_of()
        dev(background=True, down=False)

        async def run() -> None:
            await apply_migrations(settings.effective_database_url)
            pool = await open_pool(settings.effective_database_url, max_size=2)
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
            typer.echo(
                f"\nhydrating the most frequent unlinked descriptor: {row['raw_descriptor']!r}"
            )
            await hydrate_descriptor(
                await connect(settings), settings, "acme-service", row["raw_descriptor"]
            )
            await demo_onboarding(settings)
            from ledgerd._cli_ask import ask_question

            typer.echo(f"\nasking acme's ledger: {DEMO_QUESTION!r}")
            await ask_question(settings, "acme-viewer", DEMO_QUESTION)
            typer.echo(
                "\nThe stack keeps running for the Temporal UI; stop it with `ledgerd dev --down`."
            )

        asyncio.run(run())
