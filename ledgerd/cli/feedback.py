"""CLI commands for feedback on daemon responses and the datasets built from it:
`ledgerd feedback <workflow-id> ...` and `ledgerd dataset export ...`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ledgerd.cli.context import cli_settings, database, temporal
from ledgerd.cli.errors import BadInput
from ledgerd.cli.identity import TokenFile, authenticate
from ledgerd.feedback import DatasetKind, Feedback, FeedbackReceipt, Thumbs


def _correction(value: str | None) -> dict[str, Any] | None:
    """`--correction` as JSON, or `@path` to a JSON file."""
    if value is None:
        return None
    try:
        text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
        parsed = json.loads(text)
    except OSError as error:
        raise BadInput(f"--correction: cannot read {value[1:]!r}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise BadInput(f"--correction: not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise BadInput("--correction: give a JSON object, the answer as it should have been")
    return parsed


dataset_app = typer.Typer(no_args_is_help=True, help="Fine-tuning datasets built from feedback.")


def feedback(
    workflow_id: Annotated[str, typer.Argument(help="The daemon run's workflow id.")],
    thumbs: Annotated[
        bool | None, typer.Option("--up/--down", help="Thumbs up or thumbs down.")
    ] = None,
    rating: Annotated[
        int | None, typer.Option(min=1, max=5, help="1 (useless) to 5 (perfect).")
    ] = None,
    correction: Annotated[
        str | None,
        typer.Option(help="The answer as it should have been: JSON, or @file.json."),
    ] = None,
    comment: Annotated[str, typer.Option(help="Anything else to say.")] = "",
    principal: Annotated[
        str | None, typer.Option("--principal", "--as", help="Checked against your token.")
    ] = None,
    token_file: TokenFile = None,
) -> None:
    """Rate, approve or correct a daemon run's response (running or finished), as your
    token's principal (LEDGERD_TOKEN, --token-file, or asked for: never an argument)."""
    from ledgerd.feedback import give_feedback

    try:
        given = Feedback(
            thumbs=None if thumbs is None else Thumbs.UP if thumbs else Thumbs.DOWN,
            rating=rating,
            correction=_correction(correction),
            comment=comment,
        )
    except ValidationError as error:
        raise BadInput(
            "invalid feedback: "
            + "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'feedback'}: {e['msg']}" for e in error.errors()
            )
        ) from None
    settings = cli_settings()

    async def run() -> FeedbackReceipt:
        command = "feedback (correction)" if given.correction is not None else "feedback"
        caller = await authenticate(settings, command, token_file=token_file, acting_as=principal)
        client = await temporal(settings)
        pool = await database(settings, max_size=1)
        try:
            return await give_feedback(client, pool, caller, workflow_id, given)
        finally:
            await pool.close()

    receipt = asyncio.run(run())
    typer.echo(f"feedback {receipt.feedback_id} recorded on {receipt.run_id} ({receipt.daemon})")


def export(
    tenant: Annotated[str, typer.Option(help="The tenant whose feedback to export (one).")],
    out: Annotated[
        Path | None, typer.Option(help="The JSONL file to write (default: stdout).")
    ] = None,
    kind: Annotated[DatasetKind, typer.Option(help="sft, preference or all.")] = DatasetKind.ALL,
    min_reward: Annotated[
        float, typer.Option(help="Supervised examples need at least this reward.")
    ] = 0.0,
) -> None:
    """JSONL for fine-tuning: approved responses (sft) and corrections (preference
    pairs), PII redacted. See docs/feedback.md for the shape of each line."""
    from ledgerd.feedback import ExportSummary, export_dataset

    settings = cli_settings()

    async def run() -> ExportSummary:
        pool = await database(settings, max_size=1)
        try:
            if out is None:
                return await export_dataset(
                    pool, sys.stdout, tenant_id=tenant, kind=kind, min_reward=min_reward
                )
            # Written beside the target and renamed at the end: a failed export never
            # leaves half a dataset where a complete one is expected.
            partial = out.with_name(f".{out.name}.partial")
            with partial.open("w", encoding="utf-8") as file:
                summary = await export_dataset(
                    pool, file, tenant_id=tenant, kind=kind, min_reward=min_reward
                )
            os.replace(partial, out)
            return summary
        finally:
            await pool.close()

    summary = asyncio.run(run())
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items()))
    typer.echo(
        f"exported {summary.sft} sft and {summary.preference} preference lines"
        + (f" to {out}" if out else "")
        + (f"; skipped {skipped}" if skipped else ""),
        err=True,
    )


def register(app: typer.Typer) -> None:
    app.command()(feedback)
    dataset_app.command("export")(export)
    app.add_typer(dataset_app, name="dataset")
