"""What every CLI command prints when it cannot do what was asked."""

from __future__ import annotations

import typer


def fail(message: str) -> typer.Exit:
    """Say what is wrong on stderr, in red; raise the returned Exit (status 1)."""
    typer.secho(message, fg="red", err=True)
    return typer.Exit(1)
