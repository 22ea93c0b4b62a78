"""CLI commands `models` (the model registry) and `doctor` (does the endpoint accept each
role's requests?)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Annotated

import httpx
import typer

from ledgerd.cli.context import cli_settings
from ledgerd.cli.output import fail
from ledgerd.config import ROLES, ConfigError, Settings, load_settings


def models(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print docs/models.md (generated from the registry).")
    ] = False,
) -> None:
    """List the models ledgerd knows and what each role sends them."""
    from ledgerd.model_registry import known_models, models_markdown, shape_for

    if markdown:
        typer.echo(models_markdown())
        return
    settings = cli_settings()
    for profile in known_models():
        status = f"retired {profile.retired_on}" if profile.retired() else "current"
        typer.echo(f"{profile.id:<20} {profile.display_name:<18} {status}")
    typer.echo("\nconfigured roles:")
    for role in ROLES:
        # The plan's step inputs are open objects; the verdict is closed (as docs/models.md).
        shape = shape_for(
            settings.role_settings(role),
            structured_answer=role != "executor",
            free_form=role == "planner",
        )
        typer.echo(f"  {role:<8} {shape.model:<20} {shape.describe()}")


@contextlib.contextmanager
def _stand_in() -> Iterator[int]:
    """A private offline stand-in on a free port, for checking with no stack running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "standin", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        found = re.search(r":(\d+)\s*$", process.stdout.readline())
        if found is None:
            raise RuntimeError("the offline stand-in did not start")
        yield int(found.group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)


def _reachable(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.model_base_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def doctor() -> None:
    """Show the Temporal connection and check the model endpoint: the account's models, and
    one request per role as it will really be sent. Exits 1 if any role would fail."""
    from activities.model_check import check_models, render_check
    from ledgerd.connection import describe_connection

    settings = cli_settings()
    try:
        shown = describe_connection(settings)
    except ConfigError as error:
        raise fail(str(error)) from None
    typer.echo("Temporal connection (secrets masked; `ledgerd connection --check` connects)")
    for name, value in shown.items():
        typer.echo(f"  {name:<{max(map(len, shown))}}  {value}")
    with contextlib.ExitStack() as stack:
        if settings.uses_offline_model and not _reachable(settings):
            typer.echo("offline stand-in not running: starting a private one for the check")
            port = stack.enter_context(_stand_in())
            settings = load_settings(offline_model_port=port)
        check = asyncio.run(check_models(settings))
    typer.echo(render_check(check))
    if not check.ok:
        typer.secho("some roles would fail: see above", fg="red", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(models)
    app.command()(doctor)
