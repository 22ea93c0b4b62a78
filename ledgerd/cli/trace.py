"""CLI command `trace`: the decision timeline of a daemon run."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from ledgerd.cli.context import cli_settings, temporal
from ledgerd.cli.errors import BadInput
from ledgerd.cli.output import fail, ui_link
from ledgerd.config import Settings
from ledgerd.db import Conn


async def _open_database(settings: Settings) -> Conn | None:
    """One connection for the trace's reads, or None (with a warning) when unreachable."""
    import psycopg
    from psycopg.rows import dict_row

    try:
        return await psycopg.AsyncConnection.connect(
            settings.effective_database_url,
            row_factory=dict_row,
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.Error as error:
        typer.secho(
            f"PostgreSQL unreachable ({error}); tracing from history alone", fg="yellow", err=True
        )
        return None


def trace(
    workflow_id: Annotated[str, typer.Argument(help="The daemon run's workflow id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the DecisionTrace as JSON.")
    ] = False,
    run_id: Annotated[
        str | None, typer.Option(help="Start at this run instead of the latest.")
    ] = None,
) -> None:
    """The decision timeline of a run: plan, each step's model turn, tool calls, answer,
    guardrail verdict and notifications, with tokens and an estimated cost."""
    from temporalio.service import RPCError, RPCStatusCode

    from ledgerd.trace import DecisionTrace, load_trace, render_trace

    settings = cli_settings()

    async def run() -> DecisionTrace:
        client = await temporal(settings)
        conn = await _open_database(settings)
        try:
            return await load_trace(
                client,
                conn,
                workflow_id,
                run_id=run_id,
                temporal_ui=ui_link(settings, workflow_id),
            )
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise BadInput(
                    f"no workflow {workflow_id!r}: {error.message}; check the id"
                ) from None
            raise fail(f"Temporal refused the history of {workflow_id!r}: {error}") from None
        finally:
            if conn is not None:
                await conn.close()

    result = asyncio.run(run())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render_trace(result, colour=True))


def register(app: typer.Typer) -> None:
    app.command()(trace)
