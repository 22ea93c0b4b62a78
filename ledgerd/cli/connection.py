"""CLI command `connection`: the Temporal connection this process would use, secrets masked.

For people and for a `ledgerd doctor`: `describe_connection()` (ledgerd/connection.py) is the
section a doctor prints; `--check` also connects and describes the namespace, to tell a wrong
address, namespace or credential from a right one before a worker is deployed with it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Annotated

import typer

from ledgerd.cli.output import fail
from ledgerd.config import ConfigError, Settings, load_settings


async def _reach(settings: Settings) -> str:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

    from ledgerd.connection import connect_client

    client = await connect_client(settings)
    await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace), timeout=timedelta(seconds=10)
    )
    return client.namespace


def register(app: typer.Typer) -> None:
    @app.command()
    def connection(
        check: Annotated[
            bool, typer.Option("--check", help="Also connect, and say whether it works.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
    ) -> None:
        """Show the Temporal connection (profile, address, namespace, TLS; secrets masked)."""
        from temporalio.service import RPCError

        from ledgerd.connection import describe_connection

        try:
            settings = load_settings()
            shown = describe_connection(settings)
        except ConfigError as error:
            raise fail(str(error)) from None
        if as_json:
            typer.echo(json.dumps(shown, indent=2))
        else:
            width = max(len(name) for name in shown)
            typer.echo("Temporal connection")
            for name, value in shown.items():
                typer.echo(f"  {name:<{width}}  {value}")
        if not check:
            return
        try:
            namespace = asyncio.run(_reach(settings))
        except ConfigError as error:
            raise fail(str(error)) from None
        except TimeoutError:
            raise fail("cannot reach Temporal: no answer within 15 s") from None
        except (RuntimeError, RPCError) as error:
            raise fail(f"cannot reach Temporal: {str(error).splitlines()[0]}") from None
        typer.secho(f"reachable: namespace {namespace} answers", fg="green")
