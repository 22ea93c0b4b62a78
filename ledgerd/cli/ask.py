"""`ledgerd ask`: a question about the ledger, answered with its figures and citations."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from pydantic import ValidationError

from accounting.errors import PlatformError
from accounting.principals import Principal
from ledgerd.cli.context import cli_settings, temporal
from ledgerd.cli.identity import TokenFile, authenticate
from ledgerd.cli.output import follow, ui_link
from ledgerd.config import Settings
from ledgerd.contracts import DaemonResult


def print_answer(settings: Settings, workflow_id: str, result: DaemonResult) -> None:
    colour = "green" if result.outcome == "completed" else "yellow"
    answer = result.answer or {}
    if answer:
        typer.echo(f"\n{answer['text']}\n")
    for figure in answer.get("figures", []):
        typer.echo(f"  {figure['label']}: {figure['value']} {figure['unit']}  ← {figure['source']}")
    for calculation in answer.get("calculations", []):
        typer.echo(f"  = {calculation['expression']} = {calculation['result']}")
    cited = answer.get("citations", [])
    if cited:
        shown = ", ".join(f"{c['kind']} {c['id']}" for c in cited[:12])
        more = f" (+{len(cited) - 12} more)" if len(cited) > 12 else ""
        typer.echo(f"  cited: {shown}{more}")
    typer.secho(f"outcome: {result.outcome.value} — {result.reason}", fg=colour)
    if result.verdict is not None:
        for check in result.verdict.checks:
            typer.echo(f"  {'✓' if check.passed else '✗'} {check.name}: {check.reason}")
    typer.echo(
        f"plan rounds {result.plan_rounds}, executor steps {result.steps}, "
        f"model calls {result.model_calls}, tool calls {result.tool_calls}, "
        f"tokens {result.usage.total}, {result.seconds:.1f} s"
    )
    typer.echo(f"Temporal UI: {ui_link(settings, workflow_id)}")


async def ask_question(
    settings: Settings,
    principal: Principal,
    question: str,
    *,
    mode: str = "planned",
    conversation: str | None = None,
    as_json: bool = False,
) -> DaemonResult:
    from starter import start_ledger_question
    from workflows.ledger_question import QuestionMode

    handle = await start_ledger_question(
        await temporal(settings),
        principal=principal,
        question=question,
        mode=QuestionMode(mode),
        conversation_id=conversation,
        task_queue=settings.task_queue,
    )
    if as_json:
        result = await handle.result()
        typer.echo(json.dumps({"workflow_id": handle.id, **result.model_dump(mode="json")}))
        return result
    typer.echo(f"asking as {principal.id} ({principal.role.value}): {handle.id}")
    result = await follow(handle)
    print_answer(settings, handle.id, result)
    return result


def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    tenant: Annotated[str | None, typer.Option(help="Checked against your token's tenant.")] = None,
    principal: Annotated[
        str | None, typer.Option("--principal", "--as", help="Checked against your token.")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="planned (plan, then parallel queries) or stepwise.")
    ] = "planned",
    conversation: Annotated[
        str | None, typer.Option(help="Conversation id; follow-ups share memory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    token_file: TokenFile = None,
) -> None:
    """Ask a question about your tenant's ledger (as your token's principal); prints the
    answer with its figures and citations."""
    if mode not in ("planned", "stepwise"):
        raise typer.BadParameter(f"--mode must be planned or stepwise, not {mode!r}")
    settings = cli_settings()

    async def run() -> DaemonResult:
        asker = await authenticate(
            settings, "ask", token_file=token_file, acting_as=principal, tenant=tenant
        )
        return await ask_question(
            settings, asker, question, mode=mode, conversation=conversation, as_json=as_json
        )

    try:
        result = asyncio.run(run())
    except (PlatformError, ValidationError) as error:
        # Who is asking, or the question itself, is wrong: say so; nothing was started.
        typer.secho(f"cannot ask: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    if result.outcome != "completed":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(ask)
