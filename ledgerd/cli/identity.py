"""Who runs a CLI command: the principal a bearer token proves, never a name typed after it.

The token is read from, in order: `LEDGERD_TOKEN`, the file named by `--token-file` or
`LEDGERD_TOKEN_FILE`, or a hidden prompt when stdin is a terminal. Never from an argument:
arguments show in `ps` and in shell history. It is checked as the HTTP API checks it
(`authenticate_token`: expiry, revocation, a closed tenant), then the role matrix decides
whether that principal may run the command (`ledgerd.security.policy`, kind `cli`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledgerd.cli.output import fail
from ledgerd.config import Settings

if TYPE_CHECKING:
    from accounting.principals import Principal

TOKEN_ENV = "LEDGERD_TOKEN"
TOKEN_FILE_ENV = "LEDGERD_TOKEN_FILE"

TokenFile = Annotated[
    Path | None,
    typer.Option(
        envvar=TOKEN_FILE_ENV,
        help="A file holding your bearer token (or set LEDGERD_TOKEN; without either you are "
        "asked for it). Never pass a token as an argument: `ps` shows arguments.",
    ),
]


def read_token(token_file: Path | None) -> str:
    """The caller's bearer token, or exit with one line saying how to give it."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise fail(f"--token-file: cannot read {str(token_file)!r}: {error.strerror}") from None
        if not token:
            raise fail(f"--token-file: {str(token_file)!r} is empty")
        return token
    if sys.stdin.isatty():
        token = str(typer.prompt("bearer token", hide_input=True)).strip()
        if token:
            return token
    raise fail(
        f"who are you? set {TOKEN_ENV}, or give --token-file (or {TOKEN_FILE_ENV}) naming a "
        "file that holds your bearer token"
    )


async def authenticate(
    settings: Settings,
    command: str,
    *,
    token_file: Path | None = None,
    acting_as: str | None = None,
    tenant: str | None = None,
) -> Principal:
    """The principal the caller's token proves, allowed by the matrix to run `command`.

    `acting_as` (`--as`/`--principal`) and `tenant` (`--tenant`) are only checked against the
    token: they never choose who acts.
    """
    from accounting.errors import AccessDenied
    from accounting.principals import authenticate_token
    from ledgerd.cli.context import database
    from ledgerd.security.policy import require

    token = read_token(token_file)
    pool = await database(settings)
    try:
        principal = await authenticate_token(pool, token)
    except AccessDenied as error:
        raise fail(f"not authenticated: {error}") from None
    finally:
        await pool.close()
    if tenant is not None and tenant != principal.tenant_id:
        raise fail(
            f"your token is {principal.id!r}'s, of tenant {principal.tenant_id!r}, not {tenant!r}"
        )
    if acting_as is not None and acting_as != principal.id:
        raise fail(
            f"your token is {principal.id!r}'s, not {acting_as!r}'s: a command acts for the "
            "principal its token proves"
        )
    try:
        require(principal, "cli", command)
    except AccessDenied as error:
        raise fail(f"refused: {error}") from None
    return principal


async def authenticate_admin(
    settings: Settings, command: str, *, token_file: Path | None = None
) -> str:
    """The platform administrator the caller's token proves; a tenant principal's token is
    refused by the matrix (these commands are for administrators only)."""
    from accounting.errors import AccessDenied
    from accounting.principals import authenticate_token
    from ledgerd.cli.context import database
    from ledgerd.security import admins
    from ledgerd.security.policy import refusal

    token = read_token(token_file)
    pool = await database(settings)
    try:
        try:
            return await admins.authenticate_admin(pool, token)
        except admins.AdminRefused as not_admin:
            try:
                principal = await authenticate_token(pool, token)
            except AccessDenied:
                raise fail(f"not authenticated: {not_admin}") from None
            raise fail(f"refused: {refusal(principal, 'cli', command) or not_admin}") from None
    finally:
        await pool.close()
