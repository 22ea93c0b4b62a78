"""What a command prints when it cannot do what was asked because of its input or its
surroundings: one line, what is wrong and what to do, exit status 2, no traceback.

Every command runs inside `guard`, which maps the errors a person can act on to that line;
anything else is a bug and keeps its traceback. Commands raise `BadInput` or `Unreachable`
for what they find themselves, and let the platform's and Temporal's errors through.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import click
import typer
from pydantic import ValidationError

P = ParamSpec("P")
R = TypeVar("R")

BAD_INPUT_EXIT = 2


class BadInput(Exception):
    """The command's input is wrong; the message says how, and what to do instead."""


class Unreachable(Exception):
    """A service the command needs does not answer."""

    def __init__(self, what: str, where: str, why: str, fix: str) -> None:
        super().__init__(f"cannot reach {what} at {where} ({why}): {fix}")


def temporal_unreachable(address: str, why: object) -> Unreachable:
    return Unreachable(
        "Temporal",
        address,
        _first_line(why),
        "start the stack with `ledgerd dev`, or set TEMPORAL_ADDRESS to a running server",
    )


def database_unreachable(url: str, why: object) -> Unreachable:
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"  # never the password
    return Unreachable(
        "PostgreSQL",
        where,
        _first_line(why),
        "start the stack with `ledgerd dev`, or set DATABASE_URL to a running server",
    )


def model_unreachable(workflow_id: str, why: str) -> Unreachable:
    return Unreachable(
        "the model",
        "the worker's model endpoint",
        why,
        "start the model stand-in with `ledgerd dev`, or fix the worker's ANTHROPIC_BASE_URL "
        f"or ANTHROPIC_API_KEY; the run keeps retrying (`ledgerd status {workflow_id}`)",
    )


def explain(error: Exception) -> str | None:
    """The one line for an error a person can act on; None for a bug."""
    from psycopg import OperationalError
    from psycopg_pool import PoolTimeout
    from temporalio.exceptions import WorkflowAlreadyStartedError
    from temporalio.service import RPCError, RPCStatusCode

    from accounting.errors import AccessDenied, NotFound, PlatformError
    from ledgerd.onboarding._chart_import import ChartImportError

    if isinstance(error, BadInput | Unreachable):
        return str(error)
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON: {error}; fix the file and run again"
    if isinstance(error, NotFound):
        return f"{error}: check the id (or --tenant); `ledgerd seed` creates acme and globex"
    if isinstance(error, AccessDenied):
        return f"{error}: act as a principal of the run's tenant with the right role"
    if isinstance(error, PlatformError):
        return f"refused: {error}"
    if isinstance(error, ChartImportError):
        return f"the chart export is malformed: {error}; fix the file and run again"
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        return f"invalid input: {problems}; fix it and run again"
    if isinstance(error, WorkflowAlreadyStartedError):
        return (
            f"run {error.workflow_id!r} is already running: follow it with "
            f"`ledgerd status {error.workflow_id}`"
        )
    if isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND:
        return f"{error.message}: check the workflow id (the one printed when the run started)"
    if isinstance(error, RPCError) and error.status == RPCStatusCode.UNAVAILABLE:
        from ledgerd.config import load_settings

        return str(temporal_unreachable(load_settings().effective_temporal_address, error))
    if isinstance(error, OperationalError | PoolTimeout):
        from ledgerd.config import load_settings

        return str(database_unreachable(load_settings().effective_database_url, error))
    return None


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """`command`, printing `explain`'s line and exiting 2 for an error a person can fix."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise  # typer's own: usage errors already say what to do
        except Exception as error:
            line = explain(error)
            if line is None:
                raise
            typer.secho(line, fg="red", err=True)
            raise typer.Exit(BAD_INPUT_EXIT) from None

    return run


def guard(app: typer.Typer) -> None:
    """Run every command of `app` and of its groups inside `guarded`."""
    for command in app.registered_commands:
        if command.callback is not None:
            command.callback = guarded(command.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard(group.typer_instance)


# The OS's words inside the Temporal bridge's nested connect error.
_OS_MESSAGE = re.compile(r'message: "([^"]+)"')


def _first_line(why: Any) -> str:
    text = str(why).strip() or type(why).__name__
    found = _OS_MESSAGE.search(text)
    return found.group(1) if found else text.splitlines()[0][:200]
