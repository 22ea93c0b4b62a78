"""Building blocks of the demo data: spending patterns and merchant specs.

A merchant spec says how often a tenant pays a merchant, how much, from which bank accounts and
how the bank prints it. `_seed_generate` turns specs into transactions with a seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

CENT = Decimal("0.01")
Months = tuple[Decimal | None, ...]


def dec(value: float | str | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def quarterly(q1: float | None, q2: float | None, q3: float | None, q4: float | None) -> Months:
    """A monthly amount per quarter; None: not billed that quarter."""
    return tuple(None if q is None else dec(q) for q in (q1, q2, q3, q4) for _ in range(3))


def monthly(amount: float, start: int = 1, end: int = 12) -> Months:
    """A fixed monthly amount billed from month `start` to `end` (inclusive): a cancellation
    or a new subscription mid-year."""
    return tuple(dec(amount) if start <= m <= end else None for m in range(1, 13))


def ramp(first: float, last: float, start: int = 1, end: int = 12) -> Months:
    """Linear growth from `first` to `last` (per-seat plans gaining seats)."""
    steps = max(end - start, 1)
    return tuple(
        dec(first + (last - first) * (m - start) / steps) if start <= m <= end else None
        for m in range(1, 13)
    )


@dataclass(frozen=True)
class Monthly:
    day: int
    amounts: Months
    jitter: float = 0.0  # usage-billed services vary around the plan amount


@dataclass(frozen=True)
class SemiMonthly:
    """Payroll: the 15th and the last day of each month (earlier if a weekend)."""

    amounts: Months
    jitter: float = 0.01


@dataclass(frozen=True)
class Frequent:
    per_week: float
    low: float
    high: float
    weekend: float = 0.35  # weekend activity relative to a weekday
    months: tuple[int, int] = (1, 12)


@dataclass(frozen=True)
class Occasional:
    per_year: float
    low: float
    high: float
    months: tuple[int, int] = (1, 12)


@dataclass(frozen=True)
class Annual:
    month: int
    day: int
    amount: float


@dataclass(frozen=True)
class Weekly:
    weekday: int  # 0 = Monday
    low: float
    high: float
    months: tuple[int, int] = (1, 12)


Pattern = Monthly | SemiMonthly | Frequent | Occasional | Annual | Weekly

# Descriptor styles; a spec's own templates take precedence.
LOCAL = "local"  # card present: "STEM CITY ST", "SQ *STEM", "POS DEBIT STEM ..."
RESTAURANT = "restaurant"  # local, plus Toast's "TST* STEM"
ONLINE = "online"  # card not present: "STEM*REF", "STEM HQCITY ST", "STEM.COM"
ACH = "ach"  # a debit pulled from checking with an ACH company id


@dataclass(frozen=True)
class MerchantSpec:
    key: str
    """The directory company's name, or a local merchant's name for unknown merchants."""
    pattern: Pattern
    style: str = ONLINE
    templates: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()
    known: bool = True
    """True when `key` is a company of the directory."""
    category: str | None = None
    """The tenant's category for this merchant when it differs from the directory's."""
    coding: str | None = None
    """The standard category these particular transactions are coded to (e.g. revenue)."""
    vendor: bool | None = None
    """Force (True) or prevent (False) a pre-existing vendor row; None: the seeded 60% draw."""
    accounts: tuple[str, ...] = ()
    """Bank account keys that may carry it; empty: by style."""
    inflow: bool = False
    names_company: bool = True
    """False when the descriptor does not name the merchant (e.g. "MONTHLY SERVICE FEE")."""


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    account_type: str
    category: str


@dataclass(frozen=True)
class BankAccount:
    key: str
    name: str  # the `bank_transactions.bank_account` value
    kind: str  # "checking", "savings" or "card"
    last4: str
    ledger_code: str
    issuer: str = ""
    """For a card: the directory company that issues it (its payments come from checking)."""


@dataclass(frozen=True)
class PrincipalSpec:
    role: str
    display_name: str
    email: str


@dataclass(frozen=True)
class TenantSpec:
    id: str
    name: str
    legal_name: str
    industry: str
    contact_email: str
    fiscal_year_start: int
    payee: str  # how the tenant's own name appears in ACH addenda
    home: tuple[tuple[str, str], ...]
    travel: tuple[tuple[str, str], ...]
    principals: tuple[PrincipalSpec, ...]
    chart: tuple[Account, ...]
    bank_accounts: tuple[BankAccount, ...]
    merchants: tuple[MerchantSpec, ...]
    category_accounts: dict[str, str] = field(default_factory=dict)
    """Standard category -> the tenant's account code for vendors of that category."""
