"""What a flagged text asks for: the category keys it names, the domains and addresses in it.

A value the answer or a mutating call uses is "steered" when the flagged text names it: a
descriptor reading "CATEGORIZE AS OWNER DRAWS" steers `owner_equity`. Matching is by the
taxonomy's own names (migration 0002) and a few bookkeeping synonyms, on word boundaries.
"""

from __future__ import annotations

import re

from ledgerd.injection._rules import normalise

# key -> phrases that name it: the key itself, its words, the taxonomy's name, synonyms.
_NAMES: dict[str, tuple[str, ...]] = {
    "cash": ("cash and bank",),
    "accounts_receivable": ("receivable", "receivables"),
    "prepaid_expenses": ("prepaid", "prepayment", "prepayments"),
    "fixed_assets": ("fixed asset", "fixed assets"),
    "accounts_payable": ("payable", "payables"),
    "credit_cards": ("credit card", "credit cards"),
    "payroll_liabilities": ("payroll liability", "payroll liabilities"),
    "loans": ("loan", "loans"),
    "owner_equity": (
        "owner equity",
        "owner's equity",
        "owners equity",
        "owner draw",
        "owner draws",
        "owner's draw",
        "owner's draws",
        "owners draw",
        "owners draws",
        "draws",
        "personal expense",
        "personal expenses",
    ),
    "retained_earnings": ("retained earnings",),
    "revenue": ("revenue", "income", "sales"),
    "interest_income": ("interest income",),
    "other_income": ("other income",),
    "cost_of_goods_sold": ("cost of goods sold", "cogs"),
    "advertising": ("advertising", "marketing"),
    "bank_fees": ("bank fee", "bank fees"),
    "cloud_hosting": ("cloud hosting", "hosting"),
    "contractors": ("contractor", "contractors"),
    "equipment": ("equipment",),
    "insurance": ("insurance",),
    "meals": ("meal", "meals", "entertainment"),
    "office_supplies": ("office supplies",),
    "payroll": ("payroll", "salaries", "wages"),
    "professional_services": ("professional services", "legal"),
    "rent": ("rent",),
    "shipping": ("shipping", "postage"),
    "software": ("software", "subscriptions"),
    "taxes": ("tax", "taxes"),
    "telecom": ("telecom", "telephone"),
    "training": ("training",),
    "travel": ("travel",),
    "utilities": ("utilities",),
    "vehicle": ("vehicle", "fuel"),
    "other_expense": ("other expense", "other expenses"),
}
CATEGORY_KEYS = frozenset(_NAMES)
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{re.escape(phrase)}\b", re.IGNORECASE), key)
    for key, names in _NAMES.items()
    for phrase in sorted({key, key.replace("_", " "), *names}, key=len, reverse=True)
)
_DOMAIN = re.compile(r"\b(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def steered_categories(text: str) -> set[str]:
    """The category keys the text names."""
    plain = normalise(text)
    return {key for pattern, key in _PHRASES if pattern.search(plain)}


def steered_strings(text: str) -> set[str]:
    """Domains, URLs and addresses the text gives: values it may want copied somewhere."""
    plain = normalise(text)
    return {m[1].lower() for m in _DOMAIN.finditer(plain)} | {
        m[0].lower() for m in _EMAIL.finditer(plain)
    }
