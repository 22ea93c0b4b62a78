"""What CLI commands need before they act: validated settings, Temporal and the database; a
service that does not answer is one line (`ledgerd.cli.errors`). Who acts comes from a
token: `ledgerd.cli.identity`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ledgerd.cli.errors import database_unreachable, temporal_unreachable
from ledgerd.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from temporalio.client import Client

    from ledgerd.db import Pool

_CONNECT_SECONDS = 5  # a command waits this long for PostgreSQL before saying it is not there


def cli_settings() -> Settings:
    """The settings, or exit 2 naming the invalid variable."""
    try:
        return load_settings()
    except ConfigError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None


async def temporal(settings: Settings) -> Client:
    """A client of the configured Temporal, with ledgerd's plugin."""
    from ledgerd.connection import resolve_connection
    from starter import connect

    try:
        return await connect(settings)
    except RuntimeError as error:  # the bridge's "Failed client connect: …"
        address = resolve_connection(settings).address  # the profile's, if one is used
        raise temporal_unreachable(address, error) from None


async def database(settings: Settings, *, max_size: int = 1) -> Pool:
    """A pool on the configured database, once one connection proved it answers."""
    import psycopg

    from ledgerd.db import open_pool

    url = settings.effective_database_url
    try:
        probe = await psycopg.AsyncConnection.connect(url, connect_timeout=_CONNECT_SECONDS)
    except psycopg.OperationalError as error:
        raise database_unreachable(url, error) from None
    await probe.close()
    return await open_pool(url, max_size=max_size)
