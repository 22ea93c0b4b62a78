"""Bank transactions: read-only listing and aggregation, always within the caller's tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import sql
from pydantic import BaseModel, Field, model_validator

from accounting.principals import Principal
from ledgerd.db import Pool, read_only


class Transaction(BaseModel):
    id: str
    bank_account: str
    posted_date: dt.date
    raw_descriptor: str
    amount: Decimal = Field(description="Negative: money out. Exact to the cent.")
    currency: str
    vendor_id: UUID | None
    account_code: str | None


class TransactionFilter(BaseModel):
    start_date: dt.date | None = Field(default=None, description="Inclusive.")
    end_date: dt.date | None = Field(default=None, description="Inclusive.")
    vendor_id: UUID | None = None
    unlinked_only: bool = Field(default=False, description="Only transactions with no vendor.")
    descriptor_contains: str | None = Field(default=None, max_length=100)
    transaction_ids: list[str] | None = Field(default=None, max_length=500)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _dates_in_order(self) -> TransactionFilter:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        return self


class TransactionPage(BaseModel):
    items: list[Transaction]
    total: int


class GroupBy(StrEnum):
    VENDOR = "vendor"
    CATEGORY = "category"
    MONTH = "month"
    DESCRIPTOR = "descriptor"


class Direction(StrEnum):
    OUT = "out"
    IN = "in"
    ALL = "all"


class AggregateQuery(BaseModel):
    group_by: GroupBy
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    direction: Direction = Field(default=Direction.OUT, description="Money out, in, or both.")
    limit: int = Field(default=20, ge=1, le=500)


class AggregateRow(BaseModel):
    key: str | None
    label: str | None
    total: Decimal = Field(description="Sum of absolute amounts, exact to the cent.")
    count: int


class Aggregates(BaseModel):
    rows: list[AggregateRow]


def _where(principal: Principal, f: TransactionFilter) -> tuple[sql.Composable, dict[str, Any]]:
    clauses: list[sql.Composable] = [sql.SQL("t.tenant_id = %(tenant)s")]
    params: dict[str, Any] = {"tenant": principal.tenant_id}
    if f.start_date:
        clauses.append(sql.SQL("t.posted_date >= %(start)s"))
        params["start"] = f.start_date
    if f.end_date:
        clauses.append(sql.SQL("t.posted_date <= %(end)s"))
        params["end"] = f.end_date
    if f.vendor_id:
        clauses.append(sql.SQL("t.vendor_id = %(vendor)s"))
        params["vendor"] = f.vendor_id
    if f.unlinked_only:
        clauses.append(sql.SQL("t.vendor_id IS NULL"))
    if f.descriptor_contains:
        clauses.append(sql.SQL("t.raw_descriptor ILIKE %(like)s"))
        params["like"] = "%" + f.descriptor_contains.replace("%", r"\%") + "%"
    if f.transaction_ids is not None:
        clauses.append(sql.SQL("t.id = ANY(%(ids)s)"))
        params["ids"] = f.transaction_ids
    return sql.SQL(" AND ").join(clauses), params


async def list_transactions(
    pool: Pool, principal: Principal, request: TransactionFilter
) -> TransactionPage:
    """List the tenant's bank transactions, newest first, with the total matching count."""
    where, params = _where(principal, request)
    params |= {"limit": request.limit, "offset": request.offset}
    async with pool.connection() as conn:
        cursor = await conn.execute(
            sql.SQL(
                """SELECT t.id, t.bank_account, t.posted_date, t.raw_descriptor, t.amount,
                          t.currency, t.vendor_id, t.account_code, count(*) OVER () AS total
                   FROM bank_transactions t WHERE {}
                   ORDER BY t.posted_date DESC, t.id LIMIT %(limit)s OFFSET %(offset)s"""
            ).format(where),
            params,
        )
        rows = await cursor.fetchall()
    return TransactionPage(
        items=[Transaction.model_validate(row) for row in rows],
        total=rows[0]["total"] if rows else 0,
    )


_GROUPS: dict[GroupBy, tuple[str, str]] = {
    GroupBy.VENDOR: ("t.vendor_id::text", "v.canonical_name"),
    GroupBy.CATEGORY: ("a.standard_category", "c.name"),
    GroupBy.MONTH: ("to_char(t.posted_date, 'YYYY-MM')", "to_char(t.posted_date, 'YYYY-MM')"),
    GroupBy.DESCRIPTOR: ("t.raw_descriptor", "t.raw_descriptor"),
}


async def aggregate_transactions(
    pool: Pool, principal: Principal, request: AggregateQuery
) -> Aggregates:
    """Total and count the tenant's transactions per vendor, category, month or descriptor."""
    key, label = _GROUPS[request.group_by]
    where, params = _where(
        principal, TransactionFilter(start_date=request.start_date, end_date=request.end_date)
    )
    if request.direction is Direction.OUT:
        where = sql.SQL("{} AND t.amount < 0").format(where)
    elif request.direction is Direction.IN:
        where = sql.SQL("{} AND t.amount > 0").format(where)
    params["limit"] = request.limit
    async with read_only(pool) as conn:
        cursor = await conn.execute(
            sql.SQL(
                """SELECT {key} AS key, min({label}) AS label,
                          sum(abs(t.amount)) AS total, count(*) AS count
                   FROM bank_transactions t
                   LEFT JOIN vendors v ON v.tenant_id = t.tenant_id AND v.id = t.vendor_id
                   LEFT JOIN accounts a ON a.tenant_id = t.tenant_id AND a.code = t.account_code
                   LEFT JOIN standard_categories c ON c.key = a.standard_category
                   WHERE {where}
                   GROUP BY 1 ORDER BY total DESC, key LIMIT %(limit)s"""
            ).format(key=sql.SQL(key), label=sql.SQL(label), where=where),
            params,
        )
        rows = await cursor.fetchall()
    return Aggregates(rows=[AggregateRow.model_validate(row) for row in rows])
