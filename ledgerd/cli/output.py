"""What CLI commands share for printing: failures, Temporal UI links and a run's progress.

It imports no command module, so every command module may import it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from ledgerd.cli.errors import model_unreachable
from ledgerd.config import Settings

if TYPE_CHECKING:
    from temporalio.client import WorkflowHandle

Result = TypeVar("Result")


def fail(message: str) -> typer.Exit:
    """Say what is wrong on stderr, in red; raise the returned Exit (status 1)."""
    typer.secho(message, fg="red", err=True)
    return typer.Exit(1)


def ui_link(settings: Settings, workflow_id: str) -> str:
    return (
        f"http://127.0.0.1:{settings.temporal_ui_port}/namespaces/"
        f"{settings.temporal_namespace}/workflows/{workflow_id}"
    )


async def follow(handle: WorkflowHandle[Any, Result]) -> Result:
    """Print the run's status each time it changes, until it ends; its result. A run whose
    worker cannot reach the model is not waited for through every retry: that is said at
    once (`Unreachable`), and the run keeps retrying."""
    from temporalio.service import RPCError

    from ledgerd.run_health import stalled_on_model

    result = asyncio.ensure_future(handle.result())
    shown = ""
    try:
        while not result.done():
            try:
                status = await handle.query("status")
                stalled = stalled_on_model(await handle.describe())
            except RPCError:
                status, stalled = shown, None
            if stalled is not None:
                raise model_unreachable(handle.id, stalled)
            if status and status != shown:
                typer.echo(f"  … {status}")
                shown = status
            await asyncio.wait([result], timeout=0.5)
    finally:
        result.cancel()  # leaving early: stop waiting for the result
    return result.result()
