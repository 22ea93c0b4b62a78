"""Platform administration: `ledgerd admin create`, `ledgerd tenant create|add-principal`,
`ledgerd principal revoke`.

Each acts for the platform administrator its token proves (`ledgerd.cli.identity`); the very
first administrator is created by whoever can reach the database (`ledgerd admin create` when
there is none yet), as a deployment's bootstrap. Tokens are printed once, here, and kept only
as their SHA-256: store them in a secret manager, not a shell history.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from pydantic import ValidationError

from accounting.principals import Role
from ledgerd.cli.context import cli_settings
from ledgerd.cli.identity import TokenFile, authenticate_admin
from ledgerd.cli.output import fail
from ledgerd.config import Settings

tenant_app = typer.Typer(no_args_is_help=True, help="Tenants and their principals (admins).")
principal_app = typer.Typer(no_args_is_help=True, help="Principals of tenants (admins).")
admin_app = typer.Typer(no_args_is_help=True, help="Platform administrators.")


def _ttl(settings: Settings) -> timedelta:
    return timedelta(days=settings.token_ttl_days)


def _invalid(what: str, error: ValidationError) -> typer.Exit:
    return fail(
        f"invalid {what}: "
        + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    )


def _show_once(lines: list[str]) -> None:
    typer.echo("\n".join(lines))
    typer.secho(
        "These tokens are shown once and stored only as hashes: keep them in a secret store.",
        fg="yellow",
        err=True,
    )


def create_tenant(
    tenant: Annotated[str, typer.Option(help="The new tenant's id, e.g. hooli.")],
    name: Annotated[str, typer.Option(help="The company's name.")],
    currency: Annotated[str, typer.Option(help="Base currency (ISO 4217).")] = "USD",
    token_file: TokenFile = None,
) -> None:
    """Create a tenant (status onboarding) with an owner, accountant, viewer and service."""
    from accounting.errors import InvalidRequest
    from ledgerd.db import open_pool
    from ledgerd.security.tenancy import NewTenant, create_tenant

    settings = cli_settings()
    try:
        new = NewTenant(tenant_id=tenant, name=name, base_currency=currency)
    except ValidationError as error:
        raise _invalid("tenant", error) from None

    async def run() -> list[str]:
        admin = await authenticate_admin(settings, "tenant create", token_file=token_file)
        pool = await open_pool(settings.effective_database_url, max_size=1)
        try:
            issued = await create_tenant(pool, new, created_by=admin, token_ttl=_ttl(settings))
        except InvalidRequest as error:
            raise fail(str(error)) from None
        finally:
            await pool.close()
        return [f"created tenant {tenant} ({name}), status onboarding"] + [
            f"  {t.principal_id:<28} {t.role.value:<11} {t.token}  (expires "
            f"{t.token_expires_at:%Y-%m-%d})"
            for t in issued
        ]

    _show_once(asyncio.run(run()))


def add_principal(
    tenant: Annotated[str, typer.Option(help="The tenant's id.")],
    role: Annotated[Role, typer.Option(help="owner, accountant, viewer or service.")],
    principal_id: Annotated[
        str | None, typer.Option("--id", help="Default: <tenant>-<role>.")
    ] = None,
    display_name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    token_file: TokenFile = None,
) -> None:
    """Add a principal to a tenant; prints its token once."""
    from accounting.errors import InvalidRequest, NotFound
    from ledgerd.db import open_pool
    from ledgerd.security.tenancy import NewPrincipal, add_principal

    settings = cli_settings()
    try:
        new = NewPrincipal(role=role, id=principal_id, display_name=display_name, email=email)
    except ValidationError as error:
        raise _invalid("principal", error) from None

    async def run() -> list[str]:
        admin = await authenticate_admin(settings, "tenant add-principal", token_file=token_file)
        pool = await open_pool(settings.effective_database_url, max_size=1)
        try:
            t = await add_principal(pool, tenant, new, created_by=admin, token_ttl=_ttl(settings))
        except (InvalidRequest, NotFound) as error:
            raise fail(str(error)) from None
        finally:
            await pool.close()
        return [f"  {t.principal_id:<28} {t.role.value:<11} {t.token}"]

    _show_once(asyncio.run(run()))


def revoke(
    principal_id: Annotated[str, typer.Argument(help="The principal to revoke.")],
    token_file: TokenFile = None,
) -> None:
    """Revoke a principal: its token stops working at once."""
    from accounting.errors import NotFound
    from ledgerd.db import open_pool
    from ledgerd.security.tenancy import revoke_principal

    settings = cli_settings()

    async def run() -> None:
        await authenticate_admin(settings, "principal revoke", token_file=token_file)
        pool = await open_pool(settings.effective_database_url, max_size=1)
        try:
            await revoke_principal(pool, principal_id)
        except NotFound as error:
            raise fail(str(error)) from None
        finally:
            await pool.close()

    asyncio.run(run())
    typer.echo(f"revoked {principal_id}")


def create_admin(
    admin_id: Annotated[str, typer.Argument(help="The new administrator's id.")],
    token_file: TokenFile = None,
) -> None:
    """Create a platform administrator. The first needs no token (bootstrap, by whoever can
    reach the database); every later one is created by an administrator."""
    import re

    from accounting.errors import InvalidRequest
    from ledgerd.db import open_pool
    from ledgerd.security.admins import ADMIN_ID, any_admin, create_admin

    settings = cli_settings()
    if not re.match(ADMIN_ID, admin_id):
        raise fail(f"invalid administrator id {admin_id!r}: lower-case letters, digits, . _ -")

    async def run() -> str:
        pool = await open_pool(settings.effective_database_url, max_size=1)
        try:
            creator = None
            if await any_admin(pool):
                creator = await authenticate_admin(settings, "admin create", token_file=token_file)
            return await create_admin(pool, admin_id, created_by=creator, ttl=_ttl(settings))
        except InvalidRequest as error:
            raise fail(str(error)) from None
        finally:
            await pool.close()

    _show_once([f"  {admin_id:<28} administrator {asyncio.run(run())}"])


def register(app: typer.Typer) -> None:
    tenant_app.command("create")(create_tenant)
    tenant_app.command("add-principal")(add_principal)
    principal_app.command("revoke")(revoke)
    admin_app.command("create")(create_admin)
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(principal_app, name="principal")
    app.add_typer(admin_app, name="admin")
