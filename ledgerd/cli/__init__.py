"""The `ledgerd` command line: one module per command group, registered here in help order."""

from __future__ import annotations

import typer

from ledgerd.cli import (
    admin,
    ask,
    chaos,
    connection,
    demo,
    evaluate,
    feedback,
    models,
    onboarding,
    runs,
    stack,
    tokens,
    trace,
)
from ledgerd.cli.errors import guard

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The `ledgerd` command line.")

for group in (
    stack,
    runs,
    demo,
    onboarding,
    tokens,
    ask,
    evaluate,
    chaos,
    trace,
    feedback,
    models,
    connection,
    admin,
):
    group.register(app)
# After every group registered: bad input and unreachable services are one line, exit 2.
guard(app)
