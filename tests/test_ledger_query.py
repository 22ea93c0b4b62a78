"""`query_ledger` on the seeded demo ledger, checked against SQL written here by hand.

The reference queries are deliberately written differently from the handler's (NOT EXISTS
instead of a join for transfers, half-open date ranges, no shared code), so a mistake in
the handler's composition cannot hide by being repeated in the test.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from pydantic import ValidationError

from accounting.errors import InvalidRequest, NotFound
from accounting.ledger_query import (
    MAX_ROWS,
    SAMPLE_IDS,
    LedgerQuery,
    LedgerQueryResult,
    query_ledger,
)
from accounting.principals import Principal, Role
from ledgerd.db import Pool, read_only
from tools import CATALOG

ACME = Principal(id="acme-viewer", tenant_id="acme", role=Role.VIEWER)
GLOBEX = Principal(id="globex-viewer", tenant_id="globex", role=Role.VIEWER)

# A transaction's category, and "not a transfer", in the reference queries' own words.
_NOT_TRANSFER = """NOT EXISTS (SELECT 1 FROM standard_categories s
                               WHERE s.key = a.standard_category
                                 AND s.account_type IN ('asset', 'liability', 'equity'))"""
_CATEGORY = "COALESCE(a.standard_category, v.category)"
_FROM = """FROM bank_transactions t
           LEFT JOIN vendors v ON v.id = t.vendor_id
           LEFT JOIN accounts a ON a.tenant_id = t.tenant_id AND a.code = t.account_code"""


async def rows(pool: Pool, statement: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(statement.encode())
        return await cursor.fetchall()


async def ask(pool: Pool, principal: Principal = ACME, **spec: Any) -> LedgerQueryResult:
    return await query_ledger(pool, principal, LedgerQuery.model_validate(spec))


async def test_spend_by_vendor_in_a_category_matches_hand_written_sql(ledger: Pool) -> None:
    result = await ask(
        ledger,
        categories=["software"],
        group_by=["vendor"],
        start_date="2025-07-01",
        end_date="2025-09-30",
        limit=MAX_ROWS,
    )
    reference = await rows(
        ledger,
        f"""SELECT v.id AS vendor_id, v.canonical_name, sum(abs(t.amount)) AS total,
                   count(*) AS n, max(abs(t.amount)) AS largest
            {_FROM}
            WHERE t.tenant_id = 'acme' AND t.amount < 0
              AND t.posted_date >= '2025-07-01' AND t.posted_date < '2025-10-01'
              AND {_CATEGORY} = 'software' AND {_NOT_TRANSFER}
            GROUP BY v.id, v.canonical_name
            ORDER BY total DESC, v.canonical_name""",
    )
    assert reference, "the seed has software spend in Q3"
    assert [(r.vendor_name, r.sum, r.transaction_count) for r in result.rows] == [
        (r["canonical_name"], r["total"], r["n"]) for r in reference
    ]
    assert result.groups == len(reference)
    assert result.totals.sum == sum(r["total"] for r in reference)
    assert result.totals.transaction_count == sum(r["n"] for r in reference)
    top = result.rows[0]
    assert str(top.vendor_id) == str(reference[0]["vendor_id"])
    assert 0 < len(top.transaction_ids) <= SAMPLE_IDS
    sampled = await rows(
        ledger,
        f"""SELECT abs(amount) AS amount FROM bank_transactions
            WHERE id IN ({", ".join(f"'{i}'" for i in top.transaction_ids)})""",
    )
    assert max(r["amount"] for r in sampled) == reference[0]["largest"], "largest first"


async def test_comparison_period_carries_change_and_percentage(ledger: Pool) -> None:
    result = await ask(
        ledger,
        categories=["cloud_hosting"],
        group_by=["vendor"],
        start_date="2025-07-01",
        end_date="2025-09-30",
        compare_start="2025-04-01",
        compare_end="2025-06-30",
        order_by="change",
        limit=3,
    )
    reference = await rows(
        ledger,
        f"""SELECT v.canonical_name,
                   coalesce(sum(-t.amount) FILTER (WHERE t.posted_date >= '2025-07-01'), 0) AS q3,
                   coalesce(sum(-t.amount) FILTER (WHERE t.posted_date < '2025-07-01'), 0) AS q2
            {_FROM}
            WHERE t.tenant_id = 'acme' AND t.amount < 0 AND {_CATEGORY} = 'cloud_hosting'
              AND t.posted_date >= '2025-04-01' AND t.posted_date < '2025-10-01'
              AND {_NOT_TRANSFER}
            GROUP BY v.canonical_name
            ORDER BY coalesce(sum(-t.amount) FILTER (WHERE t.posted_date >= '2025-07-01'), 0)
                   - coalesce(sum(-t.amount) FILTER (WHERE t.posted_date < '2025-07-01'), 0) DESC
            LIMIT 3""",
    )
    top = result.rows[0]
    assert top.vendor_name == reference[0]["canonical_name"] == "Amazon Web Services"
    assert top.sum == reference[0]["q3"]
    assert top.comparison is not None and top.comparison.sum == reference[0]["q2"]
    assert top.change == reference[0]["q3"] - reference[0]["q2"]
    assert top.change_pct == (top.change * 100 / reference[0]["q2"]).quantize(Decimal("0.1"))
    assert [r.vendor_name for r in result.rows] == [r["canonical_name"] for r in reference]
    assert result.comparison_period is not None
    assert str(result.comparison_period.start) == "2025-04-01"


async def test_average_min_max_and_monthly_groups(ledger: Pool) -> None:
    result = await ask(
        ledger,
        metrics=["average", "min", "max", "count"],
        categories=["meals"],
        group_by=["month"],
        start_date="2025-01-01",
        end_date="2025-03-31",
    )
    reference = await rows(
        ledger,
        f"""SELECT to_char(date_trunc('month', t.posted_date), 'YYYY-MM') AS month,
                   round(avg(-t.amount), 2) AS average, min(-t.amount) AS low,
                   max(-t.amount) AS high, count(*) AS n
            {_FROM}
            WHERE t.tenant_id = 'acme' AND t.amount < 0 AND {_CATEGORY} = 'meals'
              AND t.posted_date >= '2025-01-01' AND t.posted_date < '2025-04-01'
            GROUP BY 1 ORDER BY 1""",
    )
    assert [(r.month, r.average, r.min, r.max, r.count) for r in result.rows] == [
        (r["month"], r["average"], r["low"], r["high"], r["n"]) for r in reference
    ]
    assert [r.month for r in result.rows] == ["2025-01", "2025-02", "2025-03"]


async def test_card_payments_from_checking_are_not_spend(ledger: Pool) -> None:
    amex = await rows(
        ledger,
        "SELECT id FROM vendors WHERE tenant_id = 'acme' AND canonical_name = 'American Express'",
    )
    result = await ask(
        ledger, vendor_ids=[str(amex[0]["id"])], start_date="2025-01-01", end_date="2025-12-31"
    )
    everything = await rows(
        ledger,
        f"""SELECT sum(-t.amount) AS total, count(*) FILTER (WHERE NOT {_NOT_TRANSFER}) AS transfers
            {_FROM} WHERE t.tenant_id = 'acme' AND t.vendor_id = '{amex[0]["id"]}'
              AND t.amount < 0""",
    )
    fees = await rows(
        ledger,
        f"""SELECT sum(-t.amount) AS total {_FROM}
            WHERE t.tenant_id = 'acme' AND t.vendor_id = '{amex[0]["id"]}' AND t.amount < 0
              AND {_NOT_TRANSFER}""",
    )
    assert everything[0]["transfers"] > 0, "the seed books card payments to the card account"
    assert result.totals.sum == fees[0]["total"] < everything[0]["total"]


async def test_money_in_and_amount_filters(ledger: Pool) -> None:
    received = await ask(
        ledger,
        GLOBEX,
        direction="in",
        categories=["revenue"],
        start_date="2025-07-01",
        end_date="2025-09-30",
    )
    reference = await rows(
        ledger,
        f"""SELECT sum(t.amount) AS total, count(*) AS n {_FROM}
            WHERE t.tenant_id = 'globex' AND t.amount > 0 AND {_CATEGORY} = 'revenue'
              AND t.posted_date BETWEEN '2025-07-01' AND '2025-09-30'""",
    )
    assert (received.totals.sum, received.totals.transaction_count) == (
        reference[0]["total"],
        reference[0]["n"],
    )
    large = await ask(
        ledger,
        min_amount="10000",
        vendor_linked=True,
        group_by=["vendor"],
        start_date="2025-01-01",
        end_date="2025-12-31",
        limit=MAX_ROWS,
    )
    expected = await rows(
        ledger,
        f"""SELECT DISTINCT v.canonical_name {_FROM}
            WHERE t.tenant_id = 'acme' AND t.amount <= -10000 AND {_NOT_TRANSFER}
              AND t.vendor_id IS NOT NULL""",
    )
    assert {r.vendor_name for r in large.rows} == {r["canonical_name"] for r in expected}


async def test_quarters_and_open_periods(ledger: Pool) -> None:
    result = await ask(ledger, group_by=["quarter"], categories=["payroll"])
    assert [r.quarter for r in result.rows] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    span = await rows(
        ledger,
        "SELECT min(posted_date) AS first, max(posted_date) AS last "
        "FROM bank_transactions WHERE tenant_id = 'acme'",
    )
    assert (result.period.start, result.period.end) == (span[0]["first"], span[0]["last"])
    payroll = await rows(
        ledger,
        f"""SELECT sum(-t.amount) AS total {_FROM}
            WHERE t.tenant_id = 'acme' AND t.amount < 0 AND {_CATEGORY} = 'payroll'""",
    )
    assert result.totals.sum == payroll[0]["total"]


async def test_a_tenant_never_sees_another_tenants_rows(ledger: Pool) -> None:
    mine = await ask(ledger, ACME, direction="all", group_by=["vendor"], limit=MAX_ROWS)
    count = await rows(
        ledger,
        f"""SELECT count(*) AS n {_FROM} WHERE t.tenant_id = 'acme' AND {_NOT_TRANSFER}""",
    )
    assert mine.totals.transaction_count == count[0]["n"]
    ids = [i for r in mine.rows for i in r.transaction_ids] + mine.totals.transaction_ids
    assert ids and all(i.startswith("acme-") for i in ids)
    names = {r.vendor_name for r in mine.rows}
    assert "Cafe Imports" not in names, "a globex-only vendor"
    theirs = await rows(
        ledger,
        "SELECT id FROM vendors WHERE tenant_id = 'globex' AND canonical_name = 'Cafe Imports'",
    )
    with pytest.raises(NotFound, match="not found in tenant 'acme'"):  # as if it did not exist
        await ask(ledger, ACME, vendor_ids=[str(theirs[0]["id"])])


async def test_queries_run_read_only_with_a_timeout(ledger: Pool) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        async with read_only(ledger) as conn:
            await conn.execute("INSERT INTO tenants (id, name) VALUES ('intruder', 'Intruder')")
    with pytest.raises(psycopg.errors.QueryCanceled):
        async with read_only(ledger, timeout_ms=50) as conn:
            await conn.execute("SELECT pg_sleep(2)")
    assert not await rows(ledger, "SELECT 1 FROM tenants WHERE id = 'intruder'")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"order_by": "change"}, "order_by 'change' needs a comparison period"),
        (
            {"start_date": "2025-06-01", "end_date": "2025-03-01"},
            "end_date 2025-03-01 is before start_date 2025-06-01",
        ),
        ({"compare_start": "2025-01-01"}, "compare_start and compare_end: give both or neither"),
        ({"order_by": "max"}, "order_by 'max' is not among the metrics requested (sum)"),
        ({"group_by": ["vendor", "month", "quarter"]}, "group_by\n  List should have at most 2"),
        ({"group_by": ["vendor", "vendor"]}, "group_by: each value may appear only once"),
        ({"limit": 500}, "limit\n  Input should be less than or equal to 50"),
        ({"min_amount": "100", "max_amount": "10"}, "max_amount 10 is below min_amount 100"),
        ({"metrics": ["median"]}, "metrics.0\n  Input should be 'sum', 'count'"),
    ],
)
def test_bad_specifications_fail_naming_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        LedgerQuery.model_validate(spec)
    assert message in str(raised.value)


async def test_unknown_categories_are_refused_by_name(ledger: Pool) -> None:
    with pytest.raises(InvalidRequest, match="categories: 'sofware' not a standard category"):
        await ask(ledger, categories=["software", "sofware"])


async def test_declared_as_a_read_only_tool_with_a_compact_result(ledger: Pool) -> None:
    declared = CATALOG["query_ledger"]
    assert issubclass(declared.input_model, LedgerQuery) and not declared.mutating
    schema = declared.input_schema()
    assert "comparison period" in schema["properties"]["compare_start"]["description"]
    assert schema["properties"]["limit"]["maximum"] == MAX_ROWS
    widest = await declared.invoke(
        ledger,
        ACME,
        {"group_by": ["vendor", "month"], "limit": MAX_ROWS, "metrics": ["sum", "count"]},
        "unused",
    )
    text = widest.model_dump_json()
    assert len(json.loads(text)["rows"]) == MAX_ROWS
    assert len(text) < 25_000, "a full page of rows must stay readable"
    assert "null" not in text, "empty fields are left out"
