"""What CLI commands need before they act: validated settings. (Who acts comes from a token:
`ledgerd.cli.identity`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ledgerd.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    pass


def cli_settings() -> Settings:
    """The settings, or exit 2 naming the invalid variable."""
    try:
        return load_settings()
    except ConfigError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
