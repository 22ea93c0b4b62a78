"""CLI commands that start and inspect vendor-hydration runs: hydrate, status, result."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated

import typer

from ledgerd.cli.context import cli_settings, temporal
from ledgerd.cli.identity import TokenFile, authenticate
from ledgerd.cli.output import follow, ui_link
from ledgerd.config import Settings
from ledgerd.contracts import DaemonResult

if TYPE_CHECKING:
    from temporalio.client import Client

    from accounting.principals import Principal


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


async def hydrate_descriptor(
    client: Client, settings: Settings, principal: Principal, descriptor: str
) -> DaemonResult:
    from starter import start_vendor_hydration

    handle = await start_vendor_hydration(client, principal=principal, descriptor=descriptor)
    typer.echo(f"started {handle.id} as {principal.id} ({principal.role.value})")
    result = await follow(handle)
    print_result(settings, handle.id, result)
    return result


async def hydrate_all(
    client: Client, settings: Settings, principal: Principal, concurrency: int
) -> None:
    from starter import start_batch_hydration

    handle = await start_batch_hydration(client, principal=principal, max_concurrency=concurrency)
    typer.echo(f"started {handle.id} as {principal.id}")
    result = await follow(handle)
    typer.echo(result.model_dump_json(indent=2))
    typer.echo(f"Temporal UI: {ui_link(settings, handle.id)}")


def hydrate(
    descriptor: Annotated[str | None, typer.Argument(help="A raw bank descriptor.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Checked against your token's tenant.")] = None,
    principal: Annotated[
        str | None, typer.Option("--principal", "--as", help="Checked against your token.")
    ] = None,
    all_unlinked: Annotated[
        bool, typer.Option("--all-unlinked", help="Hydrate every unlinked merchant.")
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Children at once, with --all-unlinked.")] = 4,
    token_file: TokenFile = None,
) -> None:
    """Hydrate the vendor behind a bank descriptor (or every unlinked merchant), as your
    token's principal."""

    settings = cli_settings()
    if (descriptor is None) == (not all_unlinked):
        raise typer.BadParameter("give a descriptor or --all-unlinked, not both or neither")

    async def run() -> None:
        acting_as = await authenticate(
            settings, "hydrate", token_file=token_file, acting_as=principal, tenant=tenant
        )
        client = await temporal(settings)
        if descriptor is not None:
            await hydrate_descriptor(client, settings, acting_as, descriptor)
        else:
            await hydrate_all(client, settings, acting_as, concurrency)

    asyncio.run(run())


def status(workflow_id: str) -> None:
    """Where a run is: its Temporal status and what the daemon is doing now."""
    from temporalio.client import WorkflowExecutionStatus

    from ledgerd.run_health import stalled_on_model

    settings = cli_settings()

    async def run() -> None:
        handle = (await temporal(settings)).get_workflow_handle(workflow_id)
        described = await handle.describe()
        typer.echo(f"{workflow_id}: {described.status.name if described.status else '?'}")
        if described.status == WorkflowExecutionStatus.RUNNING:
            typer.echo(f"  now: {await handle.query('status')}")
            stalled = stalled_on_model(described)
            if stalled is not None:
                typer.secho(f"  stalled: the worker cannot reach the model ({stalled})", fg="red")
        typer.echo(f"  Temporal UI: {ui_link(settings, workflow_id)}")

    asyncio.run(run())


def result(workflow_id: str) -> None:
    """Wait for a run's result and print it."""

    settings = cli_settings()

    async def run() -> None:
        handle = (await temporal(settings)).get_workflow_handle(
            workflow_id, result_type=DaemonResult
        )
        print_result(settings, workflow_id, await handle.result())

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.command()(hydrate)
    app.command()(status)
    app.command()(result)
