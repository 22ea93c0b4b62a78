"""`ledgerd dataset export`: PII redaction on crafted inputs, the documented shape of the
supervised and preference lines, and the --kind, --tenant and --min-reward filters, from
feedback stored in real PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from accounting.principals import Principal, Role
from ledgerd.cli import app
from ledgerd.daemons import daemon_spec
from ledgerd.db import Pool
from ledgerd.feedback import (
    DatasetKind,
    ExportSummary,
    Feedback,
    Redactor,
    RunTarget,
    Thumbs,
    export_dataset,
    save_feedback,
)
from ledgerd.prompts import load_prompt
from tests.test_feedback import FINAL_ANSWER, conversation, tenants

EMAIL = "jane.doe@example.com"
PHONE = "+1 (415) 555-0134"
CARD = "4111 1111 1111 1111"
PERSON = "Maya Chen"

# ---------------------------------------------------------------------- the redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"mail {EMAIL} or ops+books@mail.example.co.uk", "mail [EMAIL] or [EMAIL]"),
        (
            f"call {PHONE}, 415-555-0134, 415.555.0134, (415) 555 0134, 4155550134 or +44 20 7946 0958",
            "call [PHONE], [PHONE], [PHONE], [PHONE], [PHONE] or [PHONE]",
        ),
        (
            f"card {CARD}, 4111-1111-1111-1111, 4111111111111111, amex 378282246310005",
            "card [CARD], [CARD], [CARD], amex [CARD]",
        ),
        ("not a card (Luhn): 1234 5678 9012 3456", "not a card (Luhn): [ACCOUNT_NUMBER]"),
        (
            "IBAN DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432",
            "IBAN [IBAN] or [IBAN]",
        ),
        ("account 000123456789, ssn 123-45-6789", "account [ACCOUNT_NUMBER], ssn [SSN]"),
        (
            "Maya Chen approved; maya chen; Maya; Chen's call; the kitchen; Initech LLC owner",
            "[PERSON] approved; [PERSON]; [PERSON]; [PERSON]'s call; the kitchen; [PERSON]",
        ),
    ],
)
def test_what_is_redacted(text: str, expected: str) -> None:
    assert Redactor([PERSON, "Initech LLC owner"]).text(text) == expected


def test_what_is_left_alone() -> None:
    kept = (
        "paid $48,210.55 (48210.55) on 2025-04-01 10:30 to vendor "
        "5f0c9b1e-1234-4a5b-9c8d-123456789012 for acme-t12: GUSTO PAY 123456, "
        "SQ *BLUE BOTTLE COFF OAKLAND CA; Initech LLC rocks; the kitchen"
    )
    assert Redactor([PERSON, "Initech LLC owner"]).text(kept) == kept


def test_json_values_are_redacted_and_keys_kept() -> None:
    value = {EMAIL: [f"to {EMAIL}", 3, None, {"phone": PHONE}], "n": 1.5}
    assert Redactor().value(value) == {
        EMAIL: ["to [EMAIL]", 3, None, {"phone": "[PHONE]"}],
        "n": 1.5,
    }


# ---------------------------------------------------------------------- the export
TASK = (
    "Hydrate the vendor behind the bank descriptor "
    f"'PAYPAL *JANE {EMAIL} {PHONE} CARD {CARD}' for tenant 'acme'."
)
WITH_PII = {**FINAL_ANSWER, "headquarters": f"Oakland; ask {PERSON} at {PHONE}"}
OWNER = Principal(id="acme-owner", tenant_id="acme", role=Role.OWNER)
GLOBEX = Principal(id="globex-owner", tenant_id="globex", role=Role.OWNER)


async def principals(pool: Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        for principal, name in ((OWNER, PERSON), (GLOBEX, "Elena Marsh")):
            await conn.execute(
                "INSERT INTO principals (id, tenant_id, display_name, role) VALUES (%s, %s, %s, %s)",
                (principal.id, principal.tenant_id, name, principal.role.value),
            )


async def rate(
    pool: Pool,
    workflow_id: str,
    feedback: Feedback,
    who: Principal = OWNER,
    **conversation_args: Any,
) -> None:
    await conversation(pool, f"{workflow_id}@r", **conversation_args)
    await save_feedback(
        pool,
        who,
        RunTarget(workflow_id=workflow_id, tenant_id=who.tenant_id),
        feedback,
        idempotency_key=f"{workflow_id}/{feedback.describe()}",
    )


@pytest.fixture
async def rated(pool: Pool) -> Pool:
    """Five rated runs: approved (thumbs up), corrected, well rated, turned down, and one of
    another tenant."""
    await tenants(pool)
    await principals(pool)
    approved = Feedback(thumbs=Thumbs.UP, comment=f"{PERSON} checked it; card {CARD}")
    await rate(pool, "approved", approved, task=TASK, answers=[WITH_PII], reviews=1)
    correction = {
        **WITH_PII,
        "domain": "bluebottlecoffee.com",
        "canonical_name": f"Blue Bottle ({EMAIL})",
    }
    await rate(
        pool, "corrected", Feedback(rating=2, correction=correction), task=TASK, answers=[WITH_PII]
    )
    await rate(pool, "well-rated", Feedback(rating=5), answers=[FINAL_ANSWER], reviews=1)
    await rate(pool, "turned-down", Feedback(thumbs=Thumbs.DOWN), answers=[FINAL_ANSWER])
    await rate(pool, "globex-run", Feedback(thumbs=Thumbs.UP), who=GLOBEX, answers=[FINAL_ANSWER])
    return pool


async def exported(pool: Pool, **options: Any) -> tuple[list[dict[str, Any]], str, ExportSummary]:
    out = io.StringIO()
    summary = await export_dataset(pool, out, **options)
    text = out.getvalue()
    return [json.loads(line) for line in text.splitlines()], text, summary


async def test_no_email_phone_card_or_name_survives_the_export(rated: Pool) -> None:
    lines, text, _ = await exported(rated, tenant_id="acme")
    assert {line["type"] for line in lines} == {"sft", "preference"}
    for secret in (EMAIL, "555-0134", "4111", PERSON, "Maya", "Chen", "Elena"):
        assert secret not in text, secret
    approved = next(line for line in lines if line["metadata"]["workflow_id"] == "approved")
    assert approved["messages"][0]["content"] == (
        "Hydrate the vendor behind the bank descriptor "
        "'PAYPAL *JANE [EMAIL] [PHONE] CARD [CARD]' for tenant 'acme'."
    )
    answer = approved["messages"][1]["content"][0]["input"]
    assert answer["headquarters"] == "Oakland; ask [PERSON] at [PHONE]"
    assert approved["metadata"]["comments"] == ["[PERSON] checked it; card [CARD]"]


async def test_sft_and_preference_lines_have_the_documented_shape(rated: Pool) -> None:
    lines, _, summary = await exported(rated, tenant_id="acme")
    spec = daemon_spec("vendor_hydration")
    system = load_prompt(spec.prompt("executor"))
    sft = [line for line in lines if line["type"] == "sft"]
    preference = [line for line in lines if line["type"] == "preference"]
    assert [line["metadata"]["workflow_id"] for line in sft] == ["approved", "well-rated"]
    assert [line["metadata"]["workflow_id"] for line in preference] == ["corrected"]
    assert (summary.sft, summary.preference) == (2, 1)
    assert summary.skipped == {"corrected": 1, "not_approved": 1}

    line = sft[1]
    assert set(line) == {"type", "system", "tools", "messages", "metadata"}
    assert line["system"] == system.text
    # The respond tool exactly as the executor is offered it.
    assert line["tools"] == [json.loads(json.dumps(spec.respond_tool()))]
    user, assistant = line["messages"]
    assert user == {"role": "user", "content": user["content"]} and "Hydrate" in user["content"]
    assert assistant["role"] == "assistant"
    [call] = assistant["content"]
    assert (call["type"], call["name"]) == ("tool_use", "respond")
    assert call["input"] == {**FINAL_ANSWER, "confidence": 0.9}
    meta = line["metadata"]
    assert meta["daemon"] == "vendor_hydration" and meta["tenant_id"] == "acme"
    assert meta["outcome"] == "completed" and meta["guardrail_reviews"] == 1
    assert meta["reward"] == pytest.approx(sum(meta["reward_parts"].values()))
    assert meta["models"]["executor"] == ["executor-model"]
    assert meta["system_prompt_version"] == system.version

    [pair] = preference
    assert set(pair) == {"type", "system", "tools", "prompt", "chosen", "rejected", "metadata"}
    assert pair["prompt"] == [{"role": "user", "content": approved_task()}]
    chosen = pair["chosen"][0]["content"][0]["input"]
    rejected = pair["rejected"][0]["content"][0]["input"]
    assert (
        chosen["domain"] == "bluebottlecoffee.com"
        and chosen["canonical_name"] == "Blue Bottle ([EMAIL])"
    )
    assert rejected["domain"] == FINAL_ANSWER["domain"]
    assert rejected["headquarters"] == chosen["headquarters"] == "Oakland; ask [PERSON] at [PHONE]"
    assert pair["metadata"]["reward_parts"]["correction"] < 0


def approved_task() -> str:
    return Redactor().text(TASK)


async def test_kind_tenant_and_min_reward_filter(rated: Pool) -> None:
    # An export is always one tenant's: never another tenant's line, nor its name.
    sft, text, _ = await exported(rated, tenant_id="acme", kind=DatasetKind.SFT)
    assert {line["type"] for line in sft} == {"sft"}
    assert {line["metadata"]["workflow_id"] for line in sft} == {"approved", "well-rated"}
    assert "globex" not in text
    theirs, _, _ = await exported(rated, tenant_id="globex", kind=DatasetKind.SFT)
    assert [line["metadata"]["workflow_id"] for line in theirs] == ["globex-run"]
    assert {line["metadata"]["tenant_id"] for line in theirs} == {"globex"}

    pairs, _, _ = await exported(rated, tenant_id="acme", kind=DatasetKind.PREFERENCE)
    assert [line["type"] for line in pairs] == ["preference"]

    rewards = {line["metadata"]["workflow_id"]: line["metadata"]["reward"] for line in sft}
    assert rewards["approved"] > rewards["well-rated"]  # a thumbs up outweighs a 5
    threshold = (rewards["approved"] + rewards["well-rated"]) / 2
    strict, _, summary = await exported(rated, tenant_id="acme", min_reward=threshold)
    assert [line["metadata"]["workflow_id"] for line in strict if line["type"] == "sft"] == [
        "approved"
    ]
    assert summary.skipped["below_min_reward"] == 1


async def test_cli_writes_the_file(rated: Pool, pg_url: str, tmp_path: Path) -> None:
    out = tmp_path / "dataset.jsonl"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "dataset",
            "export",
            "--out",
            str(out),
            "--tenant",
            "acme",
            "--kind",
            "sft",
            "--min-reward",
            "0.5",
        ],
        env={"DATABASE_URL": pg_url},
    )
    assert result.exit_code == 0, result.output
    assert "exported 2 sft and 0 preference lines" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["metadata"]["workflow_id"] for line in lines] == ["approved", "well-rated"]
    assert os.listdir(tmp_path) == ["dataset.jsonl"]  # no partial file left behind
    mixed = await asyncio.to_thread(
        CliRunner().invoke, app, ["dataset", "export"], env={"DATABASE_URL": pg_url}
    )
    assert mixed.exit_code == 2 and "--tenant" in mixed.output  # one tenant, always named
