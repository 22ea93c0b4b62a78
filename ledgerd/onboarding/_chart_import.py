"""Parse a client's chart-of-accounts export: QuickBooks and Xero CSV layouts.

A bad file is refused with the row and column that are wrong, so the person who uploaded it
can fix the file instead of guessing; nothing is imported from a file with any bad row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from accounting.accounts import AccountType
from ledgerd.onboarding._models import ChartFormat, ImportedAccount


class ChartImportError(ValueError):
    """The export cannot be imported; the message names the row and column."""


@dataclass(frozen=True)
class _Layout:
    code: tuple[str, ...]
    name: tuple[str, ...]
    type: tuple[str, ...]
    types: dict[str, AccountType]


_A, _L, _E, _I, _X = (
    AccountType.ASSET,
    AccountType.LIABILITY,
    AccountType.EQUITY,
    AccountType.INCOME,
    AccountType.EXPENSE,
)

LAYOUTS = {
    # QuickBooks Online "Account List" export.
    ChartFormat.QUICKBOOKS: _Layout(
        code=("Account #", "Number", "Account Number"),
        name=("Account", "Account Name", "Name"),
        type=("Type", "Account Type"),
        types={
            "bank": _A,
            "accounts receivable (a/r)": _A,
            "accounts receivable": _A,
            "other current assets": _A,
            "other current asset": _A,
            "fixed assets": _A,
            "fixed asset": _A,
            "other assets": _A,
            "accounts payable (a/p)": _L,
            "accounts payable": _L,
            "credit card": _L,
            "other current liabilities": _L,
            "other current liability": _L,
            "long term liabilities": _L,
            "equity": _E,
            "income": _I,
            "other income": _I,
            "cost of goods sold": _X,
            "expenses": _X,
            "expense": _X,
            "other expense": _X,
        },
    ),
    # Xero "Chart of Accounts" export (required columns are starred).
    ChartFormat.XERO: _Layout(
        code=("*Code", "Code"),
        name=("*Name", "Name"),
        type=("*Type", "Type"),
        types={
            "bank": _A,
            "current asset": _A,
            "current": _A,
            "fixed asset": _A,
            "fixed": _A,
            "inventory": _A,
            "non-current asset": _A,
            "prepayment": _A,
            "current liability": _L,
            "currliab": _L,
            "liability": _L,
            "non-current liability": _L,
            "termliab": _L,
            "equity": _E,
            "revenue": _I,
            "sales": _I,
            "other income": _I,
            "otherincome": _I,
            "direct costs": _X,
            "directcosts": _X,
            "expense": _X,
            "overhead": _X,
            "overheads": _X,
            "depreciation": _X,
            "depreciatn": _X,
        },
    ),
}


def _column(header: list[str], names: tuple[str, ...], layout: ChartFormat) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise ChartImportError(
        f"row 1: the {layout.value} export needs a column named {names[0]!r} "
        f"(found columns: {', '.join(repr(h) for h in header) or 'none'})"
    )


def parse_chart(text: str, layout: ChartFormat) -> list[ImportedAccount]:
    """All accounts of the export, or `ChartImportError` for the first bad row."""
    spec = LAYOUTS[layout]
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise ChartImportError("the file is empty")
    header = [h.strip() for h in rows[0]]
    positions = {
        "code": _column(header, spec.code, layout),
        "name": _column(header, spec.name, layout),
        "type": _column(header, spec.type, layout),
    }
    accounts: list[ImportedAccount] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {}
        for field, index in positions.items():
            if index >= len(row) or not row[index].strip():
                raise ChartImportError(f"row {number}, column {header[index]!r}: empty")
            cells[field] = row[index].strip()
        kind = spec.types.get(cells["type"].lower())
        if kind is None:
            raise ChartImportError(
                f"row {number}, column {header[positions['type']]!r}: unknown account type "
                f"{cells['type']!r} for {layout.value} (expected one of: "
                f"{', '.join(sorted({t.title() for t in spec.types}))})"
            )
        if cells["code"] in seen:
            raise ChartImportError(
                f"row {number}, column {header[positions['code']]!r}: code {cells['code']!r} "
                f"repeats row {seen[cells['code']]}"
            )
        seen[cells["code"]] = number
        accounts.append(
            ImportedAccount(
                code=cells["code"], name=cells["name"], account_type=kind, source_type=cells["type"]
            )
        )
    if not accounts:
        raise ChartImportError("the file has a header but no accounts")
    return accounts
