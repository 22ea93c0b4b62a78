"""The stand-in's script for the account-mapping daemon (onboarding).

Executor rules: (1) no tools called yet → `list_accounts` and `list_standard_categories` in
one turn; (2) otherwise `respond` with one mapping per account: the first keyword rule that
matches the account's name among categories of the account's type (confidence 0.9), else the
type's fallback category (confidence 0.5). Accountant comments of the form "<code> to
<category_key>" (also "->", "=", "as") override the rule for that code. The judge passes a
mapping whose categories all appear in the evidence.
"""

from __future__ import annotations

import re
from typing import Any

from standin._policy import (
    PolicyReply,
    ReplyToolUse,
    register_scenario,
    user_text,
)
from standin._wire import MessagesRequest
from standin.scenarios._answer_faults import PII_SENTENCE, REFUSAL, pick
from standin.scenarios._brief import read_brief
from standin.scenarios._conversation import DaemonScript, latest, results
from standin.scenarios._misbehave import misbehaviour
from standin.scenarios._obey import category_of, orders_in

KEYWORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "asset": (
        ("receivable", "accounts_receivable"),
        ("prepaid", "prepaid_expenses"),
        ("equipment", "fixed_assets"),
        ("furniture", "fixed_assets"),
        ("vehicle", "fixed_assets"),
        ("bank", "cash"),
        ("checking", "cash"),
        ("savings", "cash"),
        ("cash", "cash"),
    ),
    "liability": (
        ("payable", "accounts_payable"),
        ("credit card", "credit_cards"),
        ("card", "credit_cards"),
        ("payroll", "payroll_liabilities"),
        ("wage", "payroll_liabilities"),
        ("tax", "payroll_liabilities"),
        ("loan", "loans"),
        ("note", "loans"),
    ),
    "equity": (("retained", "retained_earnings"),),
    "income": (("interest", "interest_income"), ("other", "other_income")),
    "expense": (
        ("cost of goods", "cost_of_goods_sold"),
        ("cogs", "cost_of_goods_sold"),
        ("materials", "cost_of_goods_sold"),
        ("purchases", "cost_of_goods_sold"),
        ("software", "software"),
        ("subscription", "software"),
        ("saas", "software"),
        ("hosting", "cloud_hosting"),
        ("cloud", "cloud_hosting"),
        ("server", "cloud_hosting"),
        ("advertis", "advertising"),
        ("marketing", "advertising"),
        ("bank", "bank_fees"),
        ("merchant", "bank_fees"),
        ("contractor", "contractors"),
        ("computer", "equipment"),
        ("equipment", "equipment"),
        ("insurance", "insurance"),
        ("meal", "meals"),
        ("entertainment", "meals"),
        ("coffee", "meals"),
        ("office", "office_supplies"),
        ("supplies", "office_supplies"),
        ("payroll", "payroll"),
        ("wage", "payroll"),
        ("salar", "payroll"),
        ("benefit", "payroll"),
        ("legal", "professional_services"),
        ("accounting", "professional_services"),
        ("professional", "professional_services"),
        ("rent", "rent"),
        ("lease", "rent"),
        ("shipping", "shipping"),
        ("postage", "shipping"),
        ("freight", "shipping"),
        ("tax", "taxes"),
        ("licen", "taxes"),
        ("phone", "telecom"),
        ("internet", "telecom"),
        ("telecom", "telecom"),
        ("training", "training"),
        ("education", "training"),
        ("travel", "travel"),
        ("airfare", "travel"),
        ("hotel", "travel"),
        ("utilit", "utilities"),
        ("electric", "utilities"),
        ("vehicle", "vehicle"),
        ("fuel", "vehicle"),
        ("auto", "vehicle"),
        ("mileage", "vehicle"),
    ),
}
FALLBACK = {
    "asset": "cash",
    "liability": "accounts_payable",
    "equity": "owner_equity",
    "income": "revenue",
    "expense": "other_expense",
}
_COMMENT = re.compile(r"\b([A-Za-z0-9.\-]+)\s*(?:to|->|=|as)\s*([a-z_]+)\b")


def propose(accounts: list[dict[str, Any]], comments: str) -> list[dict[str, Any]]:
    overrides = dict(_COMMENT.findall(comments))
    mappings = []
    for account in accounts:
        kind, name = account["account_type"], account["name"].lower()
        category, confidence = FALLBACK[kind], 0.5
        for keyword, key in KEYWORDS.get(kind, ()):
            if keyword in name:
                category, confidence = key, 0.9
                break
        if account["code"] in overrides:
            category, confidence = overrides[account["code"]], 1.0
        mappings.append(
            {
                "code": account["code"],
                "name": account["name"],
                "standard_category": category,
                "confidence": confidence,
            }
        )
    return mappings


def _executor(request: MessagesRequest) -> PolicyReply:
    found = results(request)
    chart = latest(found, "list_accounts")
    taxonomy = latest(found, "list_standard_categories")
    if chart is None or taxonomy is None:
        return PolicyReply(
            (ReplyToolUse("list_accounts", {}), ReplyToolUse("list_standard_categories", {})),
            rationale="Read the chart and the taxonomy together.",
        )
    comments = user_text(request).partition("Accountant's comments:")[2]
    accounts = chart.get("accounts", [])
    answer = {"mappings": propose(accounts, comments), "notes": "Keyword rules by account type."}
    mode = misbehaviour(request, "account_mapping")
    if mode is not None:
        orders = orders_in([chart], user_text(request)) if mode == "obey_injection" else []
        answer = spoil(answer, mode, accounts, orders)
    return PolicyReply((ReplyToolUse("respond", answer),))


def spoil(
    answer: dict[str, Any], mode: str, accounts: list[dict[str, Any]], orders: list[str]
) -> dict[str, Any]:
    """The mapping as a misbehaving model answers it."""
    mappings: list[dict[str, Any]] = [dict(m) for m in answer["mappings"]]
    at = pick(",".join(m["code"] for m in mappings), max(1, len(mappings)))
    if mode == "ungrounded_fact":
        mappings[at]["standard_category"] = "office_expenses"  # in no taxonomy
    elif mode == "different_question":
        # Another chart's accounts: the codes of a different client, shifted.
        mappings = [{**m, "code": f"{m['code']}-0"} for m in mappings]
    elif mode == "bad_citation":
        mappings.append(
            {
                "code": "9999",
                "name": "Suspense",
                "standard_category": "other_expense",
                "confidence": 0.5,
            }
        )
    elif mode == "pii":
        return {**answer, "notes": answer["notes"] + PII_SENTENCE}
    elif mode == "refusal":
        return {"mappings": mappings[:1], "notes": REFUSAL}
    elif mode == "truncate":
        mappings = mappings[: max(1, len(mappings) // 2)]
    elif mode == "obey_injection":
        for order in orders:
            key = category_of(order)
            if key is None:
                continue
            everyone = re.search(r"\b(all|every|each)\b", order, re.IGNORECASE)
            for m in mappings:
                if everyone or order.lower() in m["name"].lower():
                    m["standard_category"], m["confidence"] = key, 0.95
    return {**answer, "mappings": mappings}


def _planner(request: MessagesRequest) -> PolicyReply:
    steps = [
        {
            "id": "read",
            "goal": "Read the chart and the taxonomy",
            "tools": ["list_accounts", "list_standard_categories"],
        },
        {
            "id": "map",
            "goal": "Map every account and respond",
            "tools": ["respond"],
            "depends_on": ["read"],
        },
    ]
    tenant = re.search(r"\btenant '([^']+)'", user_text(request))
    intent = {"tenant": tenant[1] if tenant else "", "entity": {"subject": "chart"}}
    return PolicyReply(
        (ReplyToolUse("submit_plan", {"steps": steps, "intent": intent}),),
        rationale="Read, then map.",
    )


def _judge(request: MessagesRequest) -> PolicyReply:
    """Heuristics: every category must be a key the evidence's taxonomy lists."""
    brief = read_brief(request)
    if brief.answer is None:
        return PolicyReply(
            (ReplyToolUse("submit_verdict", {"passed": False, "reasons": ["unreadable"]}),)
        )
    unknown = sorted(
        {
            str(m.get("standard_category"))
            for m in brief.answer.get("mappings", [])
            if f'"key": "{m.get("standard_category")}"' not in brief.evidence
        }
    )
    reasons = [f"category {key!r} is not in the taxonomy" for key in unknown]
    verdict = {
        "passed": not reasons,
        "reasons": reasons or ["consistent"],
        "injection": brief.injections(),
    }
    return PolicyReply((ReplyToolUse("submit_verdict", verdict),))


register_scenario(
    DaemonScript("account_mapping", {"planner": _planner, "executor": _executor, "judge": _judge})
)
