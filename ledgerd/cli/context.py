"""What CLI commands need before they act: validated settings and the principal acting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ledgerd.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from accounting.principals import Principal


def cli_settings() -> Settings:
    """The settings, or exit 2 naming the invalid variable."""
    try:
        return load_settings()
    except ConfigError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None


async def principal_named(settings: Settings, principal_id: str) -> Principal:
    from accounting.principals import load_principal
    from ledgerd.db import open_pool

    pool = await open_pool(settings.effective_database_url, max_size=1)
    try:
        return await load_principal(pool, principal_id)
    finally:
        await pool.close()
