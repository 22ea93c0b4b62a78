"""`ledgerd approval-token` and `ledgerd action-token`: a signed Update input to paste into the
plain `temporal` CLI.

An Update carries no bearer token, so the workflow believes only a credential signed after
the caller was authenticated (docs/security.md). These commands authenticate you by your token
(`ledgerd.cli.identity`), read what you are deciding from the workflow, and print the Update's
input on stdout: the `temporal` flags of the input already encrypted with the payload codec
(`--input-base64 --input ... --input-meta ...`), so the credential never reaches history in the
clear; `--json` prints the plain JSON instead. stderr says what was signed and shows the
`temporal workflow update execute` command that takes it. The credential covers that workflow,
that approval, that action and exactly that content, and expires in
`LEDGERD_CREDENTIAL_TTL_SECONDS` (600 s by default).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ledgerd.cli.context import cli_settings
from ledgerd.cli.identity import TokenFile, authenticate
from ledgerd.cli.output import fail
from ledgerd.onboarding import Action


def _invalid(error: ValidationError) -> typer.Exit:
    return fail(
        "invalid: "
        + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in error.errors()
        )
    )


PlainJson = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the input as plain JSON instead (for the UI's forms, `temporal workflow "
        "signal`): its credential is then readable in the workflow's history.",
    ),
]


def encrypted_input_args(body: dict[str, Any]) -> str:
    """`body` as `temporal` input flags, already encrypted with the payload codec: the CLI
    sends the bytes as given, the worker decrypts them, and the credential never reaches
    history in the clear."""
    import base64

    from ledgerd.plugin import data_converter

    converter = data_converter(cli_settings())
    assert converter.payload_codec is not None
    plain = converter.payload_converter.to_payloads([body])
    [sealed] = asyncio.run(converter.payload_codec.encode(plain))
    flags = ["--input-base64", "--input", base64.b64encode(sealed.data).decode()]
    for key, value in sealed.metadata.items():
        flags += ["--input-meta", f"{key}={value.decode()}"]
    return " ".join(flags)


def _print_input(workflow_id: str, update: str, body: dict[str, Any], plain_json: bool) -> None:
    if plain_json:
        line = json.dumps(body, separators=(",", ":"))
        typer.echo(line)
        paste = f"--input '{line}'"
    else:
        line = encrypted_input_args(body)
        typer.echo(line)
        paste = f"$(ledgerd {'approval' if update == 'decide' else 'action'}-token ...)"
    shown = {k: v for k, v in body.items() if k not in ("credential", "edited_proposal")}
    typer.echo(
        f"\n{json.dumps(shown)}, signed; paste it within "
        f"{cli_settings().credential_ttl_seconds} s:\n"
        f"  temporal workflow update execute --workflow-id {workflow_id} --name {update} "
        f"{paste}",
        err=True,
    )


def approval_token(
    workflow_id: Annotated[str, typer.Argument(help="The onboarding's workflow id.")],
    action: Annotated[Action, typer.Option(help="approve, reject or edit.")] = Action.APPROVE,
    comments: Annotated[str, typer.Option(help="Why (a rejection needs them).")] = "",
    proposal: Annotated[
        Path | None, typer.Option(help="edit: the corrected proposal (JSON).", exists=True)
    ] = None,
    token_file: TokenFile = None,
    plain_json: PlainJson = False,
) -> None:
    """Print a signed decision for the pending approval, for `temporal workflow update execute
    --name decide` (or the `submit_decision` Signal)."""
    from temporalio.service import RPCError

    from ledgerd.onboarding import Decision, OnboardingProposal
    from starter import connect
    from starter.client_onboarding import signed_decision
    from workflows import ClientOnboarding

    settings = cli_settings()
    try:
        edited = (
            OnboardingProposal.model_validate(json.loads(proposal.read_text(encoding="utf-8")))
            if proposal is not None
            else None
        )
    except json.JSONDecodeError as error:
        raise fail(f"--proposal: not valid JSON: {error}") from None
    except ValidationError as error:
        raise _invalid(error) from None

    async def run() -> dict[str, Any]:
        approver = await authenticate(settings, "approval-token", token_file=token_file)
        client = await connect(settings)
        try:
            pending = await client.get_workflow_handle(workflow_id).query(
                ClientOnboarding.pending_approval
            )
        except RPCError as error:
            raise fail(f"cannot read {workflow_id!r}: {error.message}") from None
        if pending is None:
            raise fail(f"{workflow_id!r} has no pending approval")
        try:
            decision = Decision(
                approval_id=pending.approval_id,
                action=action,
                comments=comments,
                edited_proposal=edited,
            )
        except ValidationError as error:
            raise _invalid(error) from None
        signed = signed_decision(decision, approver, workflow_id)
        # No approver in the input: the credential alone says who decides.
        return signed.model_dump(mode="json", exclude={"approver"}, exclude_none=True)

    _print_input(workflow_id, "decide", asyncio.run(run()), plain_json)


def action_token(
    workflow_id: Annotated[str, typer.Argument(help="The running daemon's workflow id.")],
    thumbs: Annotated[
        bool | None, typer.Option("--up/--down", help="Thumbs up or thumbs down.")
    ] = None,
    rating: Annotated[int | None, typer.Option(min=1, max=5, help="1 to 5.")] = None,
    correction: Annotated[
        str | None, typer.Option(help="The answer as it should have been: JSON, or @file.json.")
    ] = None,
    comment: Annotated[str, typer.Option()] = "",
    token_file: TokenFile = None,
    plain_json: PlainJson = False,
) -> None:
    """Print signed feedback for `temporal workflow update execute --name feedback`."""
    from ledgerd.cli.feedback import _correction
    from ledgerd.feedback import Feedback, Thumbs
    from starter.feedback import signed_feedback

    settings = cli_settings()
    try:
        given = Feedback(
            thumbs=None if thumbs is None else Thumbs.UP if thumbs else Thumbs.DOWN,
            rating=rating,
            correction=_correction(correction),
            comment=comment,
        )
    except ValidationError as error:
        raise _invalid(error) from None

    async def run() -> dict[str, Any]:
        command = "feedback (correction)" if given.correction is not None else "action-token"
        principal = await authenticate(settings, command, token_file=token_file)
        signed = signed_feedback(given, principal, workflow_id)
        return signed.model_dump(mode="json", exclude_none=True)

    _print_input(workflow_id, "feedback", asyncio.run(run()), plain_json)


def register(app: typer.Typer) -> None:
    app.command("approval-token")(approval_token)
    app.command("action-token")(action_token)
