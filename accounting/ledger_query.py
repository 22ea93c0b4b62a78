"""Typed ledger queries: the model fills a specification, the platform writes the SQL.

A model answering questions about the books never writes SQL. It fills `LedgerQuery`
(metrics, grouping, filters, a comparison period, order and a top-N limit), and this module
composes parameterised SQL from it (identifiers are ours, every value is a parameter) and
runs it in a READ ONLY transaction with a statement timeout, always within the caller's
tenant.

Definitions, so that every answer means the same thing:

- A transaction's **category** is the standard category of the account it is booked to,
  else its vendor's category; a transaction with neither is uncategorised.
- **Transfers** between the tenant's own accounts (rows booked to an account whose standard
  category is an asset, liability or equity, e.g. a card payment from checking) are never
  counted: they are neither spend nor income.
- **Direction** `out` (spend) counts money out, `in` money in; sums, averages, minimums and
  maximums are of absolute amounts. `all` counts both, signed (money in is positive).
- Money is `Decimal`, exact to the cent; averages are rounded to the cent and percentage
  changes to one decimal.

Every figure can be cited: each row (and the totals) carries the ids of up to
`SAMPLE_IDS` of its transactions, largest first, next to its `transaction_count`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import errors, sql
from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from accounting._access import Conn, not_found
from accounting.errors import InvalidRequest
from accounting.principals import Principal
from accounting.transactions import Direction
from ledgerd.db import STATEMENT_TIMEOUT_MS, Pool, read_only

MAX_ROWS = 50
"""A model reads the result; more rows than this would crowd out everything else."""
SAMPLE_IDS = 5


class Metric(StrEnum):
    SUM = "sum"
    COUNT = "count"
    AVERAGE = "average"
    MIN = "min"
    MAX = "max"


class Dimension(StrEnum):
    VENDOR = "vendor"
    CATEGORY = "category"
    MONTH = "month"
    QUARTER = "quarter"


class OrderBy(StrEnum):
    SUM = "sum"
    COUNT = "count"
    AVERAGE = "average"
    MIN = "min"
    MAX = "max"
    CHANGE = "change"
    CHANGE_PCT = "change_pct"


class SortOrder(StrEnum):
    DESC = "desc"
    ASC = "asc"


class LedgerQuery(BaseModel):
    """What to compute over the tenant's bank transactions."""

    metrics: list[Metric] = Field(
        default_factory=lambda: [Metric.SUM],
        min_length=1,
        max_length=5,
        description="sum, count, average, min, max of the amounts (absolute for direction "
        "out or in). The first one is the one `change` compares.",
    )
    group_by: list[Dimension] = Field(
        default_factory=list,
        max_length=2,
        description="Up to two of vendor, category, month, quarter; empty: one total only "
        "(then `rows` is empty and `totals` holds the answer).",
    )
    start_date: dt.date | None = Field(
        default=None, description="Inclusive; empty: from the first transaction."
    )
    end_date: dt.date | None = Field(
        default=None, description="Inclusive; empty: up to the last transaction."
    )
    vendor_ids: list[UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Only these vendors (ids from search_vendors).",
    )
    categories: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Only these standard category keys (see list_standard_categories), "
        "e.g. ['software', 'cloud_hosting'].",
    )
    vendor_linked: bool | None = Field(
        default=None,
        description="true: only transactions linked to a vendor; false: only unlinked ones; "
        "empty: both. Rankings of vendors usually want true.",
    )
    min_amount: Decimal | None = Field(
        default=None, ge=0, decimal_places=2, description="Absolute amount, inclusive."
    )
    max_amount: Decimal | None = Field(
        default=None, ge=0, decimal_places=2, description="Absolute amount, inclusive."
    )
    direction: Direction = Field(
        default=Direction.OUT,
        description="out: spend (money out); in: money received; all: both, signed. "
        "Transfers between the tenant's own accounts are never counted.",
    )
    compare_start: dt.date | None = Field(
        default=None,
        description="With compare_end: a comparison period; each row then also carries "
        "that period's values, the change and the percentage change.",
    )
    compare_end: dt.date | None = Field(default=None, description="Inclusive.")
    order_by: OrderBy | None = Field(
        default=None,
        description="A requested metric, or change / change_pct (needs a comparison period). "
        "Empty: chronological when grouped by month or quarter, else the first metric.",
    )
    order: SortOrder = Field(default=SortOrder.DESC, description="desc: largest first.")
    limit: int = Field(default=10, ge=1, le=MAX_ROWS, description="Top-N rows returned.")

    @model_validator(mode="after")
    def _coherent(self) -> LedgerQuery:
        problems: list[str] = []
        for name, values in (("metrics", self.metrics), ("group_by", self.group_by)):
            if len(set(values)) != len(values):
                problems.append(f"{name}: each value may appear only once")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            problems.append(f"end_date {self.end_date} is before start_date {self.start_date}")
        if (self.compare_start is None) != (self.compare_end is None):
            problems.append("compare_start and compare_end: give both or neither")
        elif self.compare_start and self.compare_end and self.compare_end < self.compare_start:
            problems.append(
                f"compare_end {self.compare_end} is before compare_start {self.compare_start}"
            )
        if self.order_by in (OrderBy.CHANGE, OrderBy.CHANGE_PCT) and self.compare_start is None:
            problems.append(
                f"order_by {self.order_by.value!r} needs a comparison period "
                "(compare_start and compare_end)"
            )
        elif (
            self.order_by is not None
            and self.order_by not in (OrderBy.CHANGE, OrderBy.CHANGE_PCT)
            and Metric(self.order_by.value) not in self.metrics
        ):
            problems.append(
                f"order_by {self.order_by.value!r} is not among the metrics requested "
                f"({', '.join(m.value for m in self.metrics)})"
            )
        low, high = self.min_amount, self.max_amount
        if low is not None and high is not None and high < low:
            problems.append(f"max_amount {high} is below min_amount {low}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class _Compact(BaseModel):
    """Leaves out empty fields when serialised: a model reads every byte of the result."""

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class MetricValues(_Compact):
    sum: Decimal | None = None
    count: int | None = None
    average: Decimal | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    transaction_count: int = 0
    transaction_ids: list[str] = Field(
        default_factory=list, description=f"Up to {SAMPLE_IDS}, largest amounts first."
    )


class Compared(MetricValues):
    comparison: MetricValues | None = Field(
        default=None, description="The same metrics over the comparison period."
    )
    change: Decimal | None = Field(
        default=None, description="The first metric minus its comparison-period value."
    )
    change_pct: Decimal | None = Field(
        default=None, description="The change as a percentage of the comparison value."
    )


class GroupKeys(_Compact):
    vendor_id: UUID | None = None
    vendor_name: str | None = Field(default=None, description="'(unlinked)': no vendor yet.")
    category: str | None = Field(default=None, description="A standard category key.")
    category_name: str | None = None
    month: str | None = Field(default=None, description="e.g. '2025-03'")
    quarter: str | None = Field(default=None, description="e.g. '2025-Q3'")


class LedgerRow(Compared, GroupKeys):
    """One group: its keys first, then its values."""


class Period(BaseModel):
    start: dt.date
    end: dt.date


class LedgerQueryResult(_Compact):
    period: Period
    comparison_period: Period | None = None
    rows: list[LedgerRow]
    groups: int = Field(description="Groups that matched; rows holds the first `limit`.")
    totals: Compared = Field(description="Over every matching transaction, not only the rows.")


UNLINKED = "(unlinked)"
UNCATEGORISED = "Uncategorised"

# Each dimension's key and label columns; the SQL is ours, never the model's.
_DIMENSIONS: dict[Dimension, tuple[tuple[str, str], ...]] = {
    Dimension.VENDOR: (("vendor_id", "t.vendor_id"), ("vendor_name", "v.canonical_name")),
    Dimension.CATEGORY: (("category", "c.key"), ("category_name", "c.name")),
    Dimension.MONTH: (("month", "to_char(t.posted_date, 'YYYY-MM')"),),
    Dimension.QUARTER: (("quarter", """to_char(t.posted_date, 'YYYY-"Q"Q')"""),),
}
_TIME = (Dimension.MONTH, Dimension.QUARTER)


def _filters(
    principal: Principal, query: LedgerQuery
) -> tuple[list[sql.Composable], dict[str, Any]]:
    clauses: list[sql.Composable] = [
        sql.SQL("t.tenant_id = %(tenant)s"),
        sql.SQL("t.posted_date BETWEEN %(start)s AND %(end)s"),
        # Transfers between the tenant's own accounts are neither spend nor income.
        sql.SQL("(booked.account_type IS NULL OR booked.account_type = ANY(%(flows)s))"),
    ]
    params: dict[str, Any] = {"tenant": principal.tenant_id, "flows": ["income", "expense"]}
    if query.direction is Direction.OUT:
        clauses.append(sql.SQL("t.amount < 0"))
    elif query.direction is Direction.IN:
        clauses.append(sql.SQL("t.amount > 0"))
    if query.vendor_ids is not None:
        clauses.append(sql.SQL("t.vendor_id = ANY(%(vendor_ids)s)"))
        params["vendor_ids"] = query.vendor_ids
    if query.categories is not None:
        clauses.append(sql.SQL("c.key = ANY(%(categories)s)"))
        params["categories"] = query.categories
    if query.vendor_linked is not None:
        clauses.append(
            sql.SQL("t.vendor_id IS NOT NULL" if query.vendor_linked else "t.vendor_id IS NULL")
        )
    if query.min_amount is not None:
        clauses.append(sql.SQL("abs(t.amount) >= %(min_amount)s"))
        params["min_amount"] = query.min_amount
    if query.max_amount is not None:
        clauses.append(sql.SQL("abs(t.amount) <= %(max_amount)s"))
        params["max_amount"] = query.max_amount
    return clauses, params


async def _aggregate(
    conn: Conn,
    query: LedgerQuery,
    clauses: list[sql.Composable],
    params: dict[str, Any],
    period: Period,
    dimensions: list[Dimension],
) -> list[dict[str, Any]]:
    """One row per group of `dimensions` (one row in all without), over `period`."""
    value = "-t.amount" if query.direction is Direction.OUT else "t.amount"
    columns = [
        sql.SQL("{} AS {}").format(sql.SQL(expression), sql.Identifier(name))
        for dimension in dimensions
        for name, expression in _DIMENSIONS[dimension]
    ]
    keys = sql.SQL(", ").join(
        sql.SQL(expression) for d in dimensions for _, expression in _DIMENSIONS[d]
    )
    statement = sql.SQL(
        """SELECT {columns}
                  sum({value}) AS sum, count(*) AS count, round(avg({value}), 2) AS average,
                  min({value}) AS min, max({value}) AS max,
                  (array_agg(t.id ORDER BY abs(t.amount) DESC, t.id))[1:{sample}]
                      AS transaction_ids
           FROM bank_transactions t
           LEFT JOIN vendors v ON v.tenant_id = t.tenant_id AND v.id = t.vendor_id
           LEFT JOIN accounts a ON a.tenant_id = t.tenant_id AND a.code = t.account_code
           LEFT JOIN standard_categories booked ON booked.key = a.standard_category
           LEFT JOIN standard_categories c ON c.key = COALESCE(a.standard_category, v.category)
           WHERE {where}
           {group}"""
    ).format(
        columns=sql.SQL("").join(sql.SQL("{}, ").format(column) for column in columns),
        value=sql.SQL(value),
        where=sql.SQL(" AND ").join(clauses),
        group=sql.SQL("GROUP BY {}").format(keys) if dimensions else sql.SQL(""),
        sample=sql.Literal(SAMPLE_IDS),
    )
    cursor = await conn.execute(statement, params | {"start": period.start, "end": period.end})
    rows = await cursor.fetchall()
    # Without grouping an empty period still aggregates to one row (of nulls and a zero count).
    return [row for row in rows if row["count"]]


def _values(row: dict[str, Any] | None, metrics: list[Metric]) -> MetricValues:
    if row is None:
        row = {"sum": Decimal("0.00"), "count": 0, "transaction_ids": []}
    return MetricValues(
        **{m.value: row.get(m.value) for m in metrics},
        transaction_count=row["count"],
        transaction_ids=list(row["transaction_ids"]),
    )


def _only(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    return found[0] if found else None


def _first(values: MetricValues, metrics: list[Metric]) -> Decimal | None:
    found = getattr(values, metrics[0].value)
    return None if found is None else Decimal(found)


def _compared(
    current: dict[str, Any] | None, earlier: dict[str, Any] | None, query: LedgerQuery
) -> dict[str, Any]:
    values = _values(current, query.metrics)
    fields: dict[str, Any] = values.model_dump()
    if query.compare_start is None:
        return fields
    comparison = _values(earlier, query.metrics)
    now, before = _first(values, query.metrics), _first(comparison, query.metrics)
    change = None if now is None or before is None else now - before
    pct = None
    if change is not None and before:
        pct = (change * 100 / before).quantize(Decimal("0.1"))
    return fields | {"comparison": comparison, "change": change, "change_pct": pct}


def _key(row: dict[str, Any], dimensions: list[Dimension]) -> tuple[Any, ...]:
    return tuple(row[name] for d in dimensions for name, _ in _DIMENSIONS[d])


def _label(row: LedgerRow) -> str:
    return " ".join(
        str(part)
        for part in (row.month, row.quarter, row.vendor_name, row.category_name)
        if part is not None
    )


def _sorted(rows: list[LedgerRow], query: LedgerQuery) -> list[LedgerRow]:
    """Nulls (no value in a period) go last whichever way; ties break by label."""
    field = (query.order_by or OrderBy(query.metrics[0].value)).value
    sign = -1 if query.order is SortOrder.DESC else 1

    def key(row: LedgerRow) -> tuple[str, str, bool, Decimal, str]:
        value = getattr(row, field)
        ordered = sign * Decimal(value) if value is not None else Decimal(0)
        if query.order_by is None and any(d in _TIME for d in query.group_by):
            return (row.month or "", row.quarter or "", value is None, ordered, _label(row))
        return ("", "", value is None, ordered, _label(row))

    return sorted(rows, key=key)


async def _resolve_period(conn: Conn, principal: Principal, query: LedgerQuery) -> Period:
    if query.start_date and query.end_date:
        return Period(start=query.start_date, end=query.end_date)
    cursor = await conn.execute(
        "SELECT min(posted_date) AS first, max(posted_date) AS last "
        "FROM bank_transactions WHERE tenant_id = %s",
        (principal.tenant_id,),
    )
    row = await cursor.fetchone()
    today = dt.date.today()
    first = row["first"] if row and row["first"] else today
    last = row["last"] if row and row["last"] else today
    return Period(start=query.start_date or first, end=query.end_date or max(last, first))


async def _check_references(conn: Conn, principal: Principal, query: LedgerQuery) -> None:
    """Unknown category keys and other tenants' vendors are refused by name, not ignored."""
    if query.categories is not None:
        cursor = await conn.execute(
            "SELECT key FROM standard_categories WHERE key = ANY(%s)", (query.categories,)
        )
        known = {row["key"] for row in await cursor.fetchall()}
        unknown = [c for c in query.categories if c not in known]
        if unknown:
            raise InvalidRequest(
                f"categories: {', '.join(map(repr, unknown))} not a standard category key; "
                "list_standard_categories has them all"
            )
    if query.vendor_ids is not None:
        cursor = await conn.execute(
            "SELECT id FROM vendors WHERE tenant_id = %s AND id = ANY(%s)",
            (principal.tenant_id, query.vendor_ids),
        )
        found = {row["id"] for row in await cursor.fetchall()}
        for vendor_id in query.vendor_ids:
            if vendor_id not in found:
                raise not_found(principal, "vendors", vendor_id)


def _rows(
    current: list[dict[str, Any]], earlier: list[dict[str, Any]], query: LedgerQuery
) -> list[LedgerRow]:
    dimensions = query.group_by
    now = {_key(row, dimensions): row for row in current}
    before = {_key(row, dimensions): row for row in earlier}
    rows = []
    for key in dict.fromkeys([*now, *before]):
        sample = now.get(key) or before[key]
        labels = {name: sample[name] for d in dimensions for name, _ in _DIMENSIONS[d]}
        if Dimension.VENDOR in dimensions and labels["vendor_id"] is None:
            labels["vendor_name"] = UNLINKED
        if Dimension.CATEGORY in dimensions and labels["category"] is None:
            labels["category_name"] = UNCATEGORISED
        rows.append(LedgerRow(**labels, **_compared(now.get(key), before.get(key), query)))
    return rows


async def query_ledger(pool: Pool, principal: Principal, request: LedgerQuery) -> LedgerQueryResult:
    """Answer a question about the tenant's bank transactions with a typed query: totals,
    counts, averages, minimums and maximums, grouped by vendor, category, month or quarter,
    filtered by period, vendors, categories and amount, optionally against a comparison
    period (each row then carries the change and percentage change), ordered, top-N.

    Spend (direction out) is money out; transfers between the tenant's own accounts (card
    payments from checking) are never counted. A transaction's category is that of its
    booked account, else its vendor's. Every row and the totals carry `transaction_count`
    and up to five `transaction_ids` (largest first) to cite; money is exact to the cent.
    """
    try:
        async with read_only(pool) as conn:
            await _check_references(conn, principal, request)
            period = await _resolve_period(conn, principal, request)
            comparison = None
            if request.compare_start and request.compare_end:
                comparison = Period(start=request.compare_start, end=request.compare_end)
            clauses, params = _filters(principal, request)

            async def over(span: Period | None, dimensions: list[Dimension]) -> list[Any]:
                if span is None:
                    return []
                return await _aggregate(conn, request, clauses, params, span, dimensions)

            totals = _compared(
                _only(await over(period, [])), _only(await over(comparison, [])), request
            )
            grouped: list[LedgerRow] = []
            if request.group_by:
                grouped = _rows(
                    await over(period, request.group_by),
                    await over(comparison, request.group_by),
                    request,
                )
    except errors.QueryCanceled:
        raise InvalidRequest(
            f"the query ran longer than {STATEMENT_TIMEOUT_MS // 1000} s; narrow the period, "
            "the filters or the grouping"
        ) from None
    return LedgerQueryResult(
        period=period,
        comparison_period=comparison,
        rows=_sorted(grouped, request)[: request.limit],
        groups=len(grouped),
        totals=Compared(**totals),
    )
