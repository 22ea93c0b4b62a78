"""CLI commands for the embedded stack and its database: dev, migrate, seed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer

from ledgerd.cli.context import cli_settings, database
from ledgerd.cli.output import fail
from ledgerd.config import ConfigError, Settings


def dev(
    background: Annotated[bool, typer.Option(help="Start in the background and return.")] = False,
    down: Annotated[bool, typer.Option(help="Stop a stack started in the background.")] = False,
) -> None:
    """Start (and supervise) Temporal + UI, PostgreSQL, the offline model, the worker and the API."""
    from ledgerd.stack import (
        AlreadyRunning,
        MissingDevStack,
        PortInUse,
        Stack,
        read_state,
        stop_background,
    )

    settings = cli_settings()
    if down:
        typer.echo(stop_background(settings))
        return
    if settings.anthropic_api_key is not None:
        _check_models(settings)
    if background:
        start_background(settings)
        return
    try:
        stack = Stack(settings)
    except ConfigError as error:
        raise fail(str(error)) from None
    signal.signal(signal.SIGTERM, stack.request_stop)
    signal.signal(signal.SIGINT, stack.request_stop)
    try:
        endpoints = stack.up()
        typer.echo("ledgerd dev is up:\n  " + "\n  ".join(endpoints.lines()))
        typer.echo(f"Logs in {stack.logs}. Ctrl-C stops everything.", err=False)
        stack.supervise()
    except AlreadyRunning as error:
        state = read_state(settings) or {}
        raise fail(f"{error}\n  " + _endpoint_lines(state)) from None
    except (PortInUse, MissingDevStack) as error:
        stack.down()
        raise fail(str(error)) from None
    except BaseException:
        stack.down()
        raise
    stack.down()
    typer.echo("ledgerd dev stopped")


def _check_models(settings: Settings) -> None:
    """With a real key, check each role's request first: a model or setting the account
    refuses would otherwise fail every daemon on its first step."""
    from activities.model_check import check_models, render_check

    check = asyncio.run(check_models(settings))
    typer.echo(render_check(check))
    if check.misconfigured:
        raise fail("the model check failed (see above); fix the configuration, then start again")


def start_background(settings: Settings) -> None:
    """Start `ledgerd dev` detached and return once it is ready (or say why it is not)."""
    from ledgerd.stack import is_running, read_state

    if is_running(settings):
        running = read_state(settings) or {}
        typer.echo("ledgerd dev is already running:\n  " + _endpoint_lines(running))
        return
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log = settings.state_dir / "dev.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledgerd.cli", "dev"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = read_state(settings)
        if state is not None and state.get("pid") == process.pid and state.get("ready"):
            typer.echo("ledgerd dev is up (background):\n  " + _endpoint_lines(state))
            typer.echo("Stop it with `ledgerd dev --down`.")
            return
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise fail(f"ledgerd dev failed to start:\n{tail}")
        time.sleep(0.3)
    raise fail(f"ledgerd dev did not become ready in 180s; see {log}")


def _endpoint_lines(state: dict[str, object]) -> str:
    lines = state.get("endpoints")
    return "\n  ".join(map(str, lines)) if isinstance(lines, list) else ""


def migrate() -> None:
    """Apply pending database migrations."""
    from ledgerd.db import apply_migrations

    settings = cli_settings()
    applied = asyncio.run(apply_migrations(settings.effective_database_url))
    typer.echo(f"applied migrations: {applied or 'none pending'}")


def seed(
    reset: Annotated[bool, typer.Option(help="Delete and re-create the demo data.")] = False,
) -> None:
    """Load the deterministic demo data (two tenants, a year of transactions)."""
    from demo_seed import seed_demo_data
    from ledgerd.db import apply_migrations

    settings = cli_settings()

    async def run() -> str:
        await apply_migrations(settings.effective_database_url)
        pool = await database(settings, max_size=2)
        try:
            summary = await seed_demo_data(pool, reset=reset)
        finally:
            await pool.close()
        return summary.model_dump_json(indent=2)

    typer.echo(asyncio.run(run()))


def register(app: typer.Typer) -> None:
    app.command()(dev)
    app.command()(migrate)
    app.command()(seed)
