"""Tool declarations: schemas come from handler signatures, never hand-written."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from accounting import vendors
from accounting.principals import Principal
from ledgerd.daemons import DaemonSpec, VendorRecord
from ledgerd.db import Pool
from tools import CATALOG, ToolDeclarationError, tool, toolset


def test_schemas_are_the_handlers_own_models() -> None:
    search = CATALOG["search_vendors"]
    assert issubclass(search.input_model, vendors.VendorSearch)
    assert search.output_model is vendors.VendorMatches
    assert search.input_schema() == {
        **vendors.VendorSearch.model_json_schema(),
        "additionalProperties": False,
    }
    assert search.description.startswith("Find the tenant's existing vendors")
    assert search.input_schema()["properties"]["text"]["maxLength"] == 200


async def test_a_misspelt_field_is_refused_naming_it_not_silently_dropped() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="category"):
        CATALOG["query_ledger"].input_model.model_validate(
            {"category": ["software"], "start_date": "2025-07-01"}
        )


def test_no_schema_lets_the_model_choose_who_it_acts_as() -> None:
    for name, declared in CATALOG.items():
        text = json.dumps(declared.input_schema()).lower()
        assert "principal" not in text and "tenant_id" not in text, name


def test_mutating_tools_are_exactly_the_writers() -> None:
    assert {n for n, t in CATALOG.items() if t.mutating} == {
        "upsert_vendor",
        "link_transactions",
        "upsert_account",
        "update_client_profile",
        "remember",
    }


class Query(BaseModel):
    q: str


class Answer(BaseModel):
    a: str


async def documented(pool: Pool, principal: Principal, request: Query) -> Answer:
    """Answer a query."""
    return Answer(a=request.q)


async def undocumented(pool: Pool, principal: Principal, request: Query) -> Answer:
    return Answer(a=request.q)


async def untyped(pool: Pool, principal: Principal, request: dict[str, str]) -> Answer:
    """Untyped input."""
    return Answer(a="")


async def no_principal(pool: Pool, who: str, request: Query) -> Answer:
    """No principal."""
    return Answer(a="")


def test_declaration_reads_the_signature_and_docstring() -> None:
    declared = tool(documented)
    assert (declared.name, declared.description) == ("documented", "Answer a query.")
    assert declared.input_schema()["required"] == ["q"]


@pytest.mark.parametrize(
    ("handler", "options", "message"),
    [
        (undocumented, {}, "needs a docstring"),
        (untyped, {}, "request type must be a pydantic model"),
        (no_principal, {}, r"expected \(pool, principal: Principal, request\)"),
        (documented, {"mutating": True}, "must take `idempotency_key`"),
        (documented, {"name": "has space"}, "is not"),
    ],
)
def test_bad_declarations_fail_at_import_with_the_reason(
    handler: object, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ToolDeclarationError, match=message):
        tool(handler, **options)  # type: ignore[arg-type]


def test_a_daemon_with_an_unknown_tool_fails_when_defined() -> None:
    with pytest.raises(ToolDeclarationError, match=r"unknown tools \['serch_vendors'\]"):
        DaemonSpec(kind="vendor_hydration", output_model=VendorRecord, tools=("serch_vendors",))
    assert set(toolset("search_vendors")) == {"search_vendors"}


def test_the_judge_sees_every_tools_evidence_even_after_a_long_page() -> None:
    from activities.guardrails import judge_brief
    from ledgerd.daemons import Evidence

    page = {"items": [{"id": f"t{n}", "raw_descriptor": "UPS*1Z" + "9" * 300} for n in range(40)]}
    lookup = {"matches": [{"record": {"domain": "ups.com", "category": "shipping"}, "score": 1.0}]}
    brief = judge_brief(
        {"domain": "ups.com"},
        [
            Evidence("list_transactions", {}, page, False),
            Evidence("lookup_company", {}, lookup, False),
        ],
    )
    assert '"ups.com"' in brief.partition("Tool evidence:")[2]
    assert "(+20 more)" in brief  # cut only as far as needed to fit
    short = judge_brief(
        {}, [Evidence("list_standard_categories", {}, {"c": list(range(34))}, False)]
    )
    assert "more)" not in short and ", 33]" in short  # a reference list that fits stays whole
