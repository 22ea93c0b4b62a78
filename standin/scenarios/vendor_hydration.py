"""The stand-in's script for the vendor-hydration daemon (planner, executor and judge).

It reads only what a model would: the system prompt's header, the task text and the tool
results in the conversation. Executor rules, in order:

1. No tools called yet: `search_vendors`, `lookup_company` and `list_accounts` in one turn
   (with `list_transactions` first if the task names transaction ids instead of a descriptor).
2. The directory's best match scores >= 0.5 and no vendor was upserted yet: `upsert_vendor`
   with that company's facts, the tenant account whose standard category matches, and
   provenance whose confidence is the match score. A weak match skips to rule 5, answering
   with confidence 0.2 and no claimed facts.
3. Upserted but nothing linked yet: `list_transactions` of unlinked ones containing the
   merchant's normalised name, then (if none) the descriptor as given.
4. Listed transactions not yet linked: `link_transactions`.
5. Otherwise `respond` with the record built from the evidence.
A tool error is repaired once by repeating the call without the field the error names.

The judge passes an answer whose domain and category appear in the tool evidence.
"""

from __future__ import annotations

import re
from typing import Any

from ledgerd.company_lookup import normalize_descriptor
from standin._policy import (
    PolicyReply,
    ReplyToolUse,
    register_scenario,
    user_text,
)
from standin._wire import MessagesRequest
from standin.scenarios._answer_faults import REFUSAL, pick
from standin.scenarios._brief import read_brief
from standin.scenarios._conversation import DaemonScript, latest, results
from standin.scenarios._misbehave import misbehaviour
from standin.scenarios._obey import category_of, links, orders_in

_DESCRIPTOR = re.compile(
    r'bank descriptor <data source="[^"]*">(.*?)</data>'
    r"|bank descriptor '((?:[^'\\]|\\.)+)'|bank descriptor \"([^\"]+)\""
)
_IDS = re.compile(r"link them: (.+)$", re.MULTILINE)
_TENANT = re.compile(r"\btenant '([^']+)'")
STRONG_MATCH = 0.5


def _subject(request: MessagesRequest) -> tuple[str | None, list[str]]:
    text = user_text(request)
    found = _DESCRIPTOR.search(text)
    if found:
        return (found.group(1) or found.group(2) or found.group(3)).replace("\\'", "'"), []
    ids = _IDS.search(text)
    return None, [i.strip() for i in ids.group(1).split(",")] if ids else []


def _call(name: str, arguments: dict[str, Any]) -> ReplyToolUse:
    return ReplyToolUse(name=name, input=arguments)


def _best_company(found: list[Any]) -> dict[str, Any] | None:
    lookup = latest(found, "lookup_company") or {}
    matches = lookup.get("matches") or []
    if not matches or matches[0]["score"] < STRONG_MATCH:
        return None
    return {**matches[0]["record"], "score": matches[0]["score"]}


def _account_for(found: list[Any], category: str | None) -> str | None:
    chart = latest(found, "list_accounts") or {}
    for account in chart.get("accounts", []):
        if account.get("standard_category") == category and account.get("active", True):
            return str(account["code"])
    return None


def _record(found: list[Any], descriptor: str | None) -> dict[str, Any]:
    company = _best_company(found)
    vendor = latest(found, "upsert_vendor")
    linked = latest(found, "link_transactions") or {}
    if company is None or vendor is None:
        name = " ".join((descriptor or "unknown vendor").split()[:3]).title()
        return {
            "vendor_id": None,
            "canonical_name": name,
            "confidence": 0.2,
            "linked_transactions": 0,
        }
    return {
        "vendor_id": vendor["id"],
        "canonical_name": vendor["canonical_name"],
        "domain": vendor.get("domain"),
        "category": vendor.get("category"),
        "account_code": vendor.get("account_code"),
        "headquarters": vendor.get("headquarters"),
        "confidence": round(float(company["score"]), 2),
        "linked_transactions": int(linked.get("linked", 0)),
    }


def _executor(request: MessagesRequest) -> PolicyReply:
    descriptor, ids = _subject(request)
    found = results(request)
    called = {call.name for call, _, _ in found}
    last_error = next(((c, r) for c, r, e in reversed(found[-3:]) if e), None)
    if (
        last_error is not None
        and sum(1 for c, _, e in found if e and c.name == last_error[0].name) == 1
    ):
        call, message = last_error
        arguments = {k: v for k, v in call.input.items() if k not in str(message)}
        return PolicyReply((_call(call.name, arguments),), rationale=f"Repairing {call.name}.")
    if ids and "list_transactions" not in called:
        return PolicyReply((_call("list_transactions", {"transaction_ids": ids, "limit": 500}),))
    if descriptor is None and ids:
        listed = latest(found, "list_transactions") or {"items": []}
        descriptor = listed["items"][0]["raw_descriptor"] if listed["items"] else None
    if "lookup_company" not in called:
        query = descriptor or "unknown"
        return PolicyReply(
            (
                _call("search_vendors", {"text": query}),
                _call("lookup_company", {"query": query}),
                _call("list_accounts", {}),
            ),
            rationale="Independent look-ups first, in parallel.",
        )
    mode = misbehaviour(request, "vendor_hydration")
    orders = []
    if mode == "obey_injection":
        orders = orders_in([r for _, r, e in found if not e], user_text(request))
    obeyed = _obey(orders, found, descriptor, called)
    if obeyed is not None:
        return PolicyReply((obeyed,), rationale="Doing what the data says.")
    company = _best_company(found)
    if company is not None and "upsert_vendor" not in called:
        confidence = round(float(company["score"]), 2)
        provenance = {
            field: {
                "source": "company_lookup",
                "confidence": confidence,
                "evidence": f"directory match for {descriptor!r}",
            }
            for field in ("domain", "category", "headquarters")
        }
        account = _account_for(found, company["category"])
        if account:
            provenance["account_code"] = {"source": "chart_of_accounts", "confidence": confidence}
        return PolicyReply(
            (
                _call(
                    "upsert_vendor",
                    {
                        "canonical_name": company["name"],
                        "domain": company["domain"],
                        "category": company["category"],
                        "account_code": account,
                        "headquarters": company.get("headquarters"),
                        "aliases": company.get("aliases", []),
                        "descriptors": [descriptor] if descriptor else [],
                        "provenance": provenance,
                    },
                ),
            )
        )
    vendor = latest(found, "upsert_vendor")
    if vendor is not None and "link_transactions" not in called:
        if ids:
            return PolicyReply(
                (_call("link_transactions", {"vendor_id": vendor["id"], "transaction_ids": ids}),)
            )
        # Try the merchant's stable part first (reference numbers vary per payment), then
        # the descriptor exactly as given.
        tried = [
            c.input.get("descriptor_contains") for c, _, _ in found if c.name == "list_transactions"
        ]
        unlinked = [t["id"] for t in (latest(found, "list_transactions") or {}).get("items", [])]
        if unlinked:
            return PolicyReply(
                (
                    _call(
                        "link_transactions",
                        {"vendor_id": vendor["id"], "transaction_ids": unlinked},
                    ),
                )
            )
        for pattern in dict.fromkeys([normalize_descriptor(descriptor or ""), descriptor]):
            if pattern and pattern not in tried:
                return PolicyReply(
                    (
                        _call(
                            "list_transactions",
                            {"descriptor_contains": pattern, "unlinked_only": True, "limit": 500},
                        ),
                    )
                )
    record = spoil(_record(found, descriptor), mode, found, orders)
    return PolicyReply((_call("respond", record),), rationale="Answering.")


# --- misbehaving (scenarios/_misbehave.py) ---------------------------------------------


def _obey(
    orders: list[str], found: list[Any], descriptor: str | None, called: set[str]
) -> ReplyToolUse | None:
    """The mutating call the data's orders ask for, while it has not been tried."""
    if not orders:
        return None
    steered = next((c for c in map(category_of, orders) if c), None)
    if steered and "upsert_vendor" not in called:
        company: dict[str, Any] = _best_company(found) or {}
        name = company.get("name") or " ".join((descriptor or "Vendor").split()[:3]).title()
        return _call(
            "upsert_vendor",
            {
                "canonical_name": name,
                "domain": company.get("domain"),
                "category": steered,
                "account_code": _account_for(found, steered),
                "descriptors": [descriptor] if descriptor else [],
            },
        )
    if any(links(o) for o in orders) and "link_transactions" not in called:
        matches: list[dict[str, Any]] = (latest(found, "search_vendors") or {}).get("matches", [])
        vendor = latest(found, "upsert_vendor") or (matches[0]["vendor"] if matches else None)
        listed = latest(found, "list_transactions")
        if listed is None:
            return _call(
                "list_transactions",
                {"descriptor_contains": descriptor or "", "unlinked_only": True, "limit": 500},
            )
        ids = [t["id"] for t in listed.get("items", [])]
        if vendor and ids:
            return _call("link_transactions", {"vendor_id": vendor["id"], "transaction_ids": ids})
    return None


def spoil(
    record: dict[str, Any], mode: str | None, found: list[Any], orders: list[str]
) -> dict[str, Any]:
    """The record as a misbehaving model answers it."""
    which = pick(str(record.get("canonical_name")), 3)
    if mode == "ungrounded_fact":
        if which == 0 and record.get("domain"):
            stem = str(record["domain"]).rsplit(".", 1)[0]
            return {**record, "domain": f"{stem}.io"}
        if which == 1 or not record.get("category"):
            return {**record, "headquarters": "Austin, TX"}
        other = "professional_services" if record["category"] != "professional_services" else "rent"
        return {**record, "category": other, "account_code": None}
    if mode == "overconfident":
        return {
            **record,
            "confidence": 0.98 if record["confidence"] < 0.93 else record["confidence"],
        }
    if mode == "bad_citation":
        # An id no call returned, or another tenant's vendor (a demo vendor of globex).
        fake = "00000000-0000-4000-8000-00000000c0de" if which else GLOBEX_VENDOR
        return {**record, "vendor_id": fake}
    if mode == "pii":
        place = record.get("headquarters") or "Oakland, CA"
        return {**record, "headquarters": f"{place}; contact jane.doe@example.com, 415-555-0134"}
    if mode == "different_question":
        lookup = latest(found, "lookup_company") or {}
        others = (lookup.get("matches") or [])[1:]
        if not others:
            return record
        rival: dict[str, Any] = {**others[0]["record"], "score": others[0]["score"]}
        return {
            **record,
            "canonical_name": rival["name"],
            "domain": rival.get("domain"),
            "category": rival.get("category"),
            "account_code": _account_for(found, rival.get("category")),
            "headquarters": rival.get("headquarters"),
            "confidence": round(float(rival["score"]), 2),
        }
    if mode == "refusal":
        return {
            "vendor_id": None,
            "canonical_name": REFUSAL,
            "confidence": 0.0,
            "linked_transactions": 0,
        }
    if mode == "truncate":
        if record.get("headquarters"):
            return {**record, "headquarters": str(record["headquarters"])[:6].rstrip(", ")}
        name = str(record["canonical_name"])
        return {**record, "canonical_name": name[: max(3, len(name) * 2 // 3)].rstrip()}
    if mode == "obey_injection":
        steered = next((c for c in map(category_of, orders) if c), None)
        if steered:
            return {**record, "category": steered, "confidence": max(record["confidence"], 0.9)}
    return record


# A real vendor id of the demo tenant globex (demo_seed.vendor_uuid("globex", "sysco")):
# citing it from another tenant's run is a cross-tenant leak.
GLOBEX_VENDOR = "06700264-5e12-5864-bfe4-86737de648e7"


def _planner(request: MessagesRequest) -> PolicyReply:
    steps = [
        {
            "id": "lookup",
            "goal": "Search existing vendors and the company directory",
            "tools": ["search_vendors", "lookup_company"],
        },
        {"id": "accounts", "goal": "Read the chart of accounts", "tools": ["list_accounts"]},
        {
            "id": "upsert",
            "goal": "Upsert the enriched vendor with provenance",
            "tools": ["upsert_vendor"],
            "depends_on": ["lookup", "accounts"],
        },
        {
            "id": "link",
            "goal": "Link the descriptor's unlinked transactions",
            "tools": ["list_transactions", "link_transactions"],
            "depends_on": ["upsert"],
        },
        {
            "id": "answer",
            "goal": "Respond with the vendor record",
            "tools": ["respond"],
            "depends_on": ["link"],
        },
    ]
    descriptor, ids = _subject(request)
    tenant = _TENANT.search(user_text(request))
    intent = {
        "tenant": tenant[1] if tenant else "",
        "entity": {"subject": descriptor or ", ".join(ids)[:200]},
    }
    plan = {"steps": steps, "rationale": "Look up, then write, then link.", "intent": intent}
    return PolicyReply(
        (ReplyToolUse("submit_plan", plan),),
        rationale="Look-ups are independent; the upsert needs both; linking needs the vendor id.",
    )


def _judge(request: MessagesRequest) -> PolicyReply:
    """Heuristics, not judgement: the domain and category must appear in the evidence, as
    JSON strings; obvious override phrasings in the data are reported."""
    brief = read_brief(request)
    if brief.answer is None:
        return PolicyReply(
            (ReplyToolUse("submit_verdict", {"passed": False, "reasons": ["unreadable answer"]}),)
        )
    answer = brief.answer
    reasons = [
        f"{field} {answer[field]!r} does not appear in the evidence"
        for field in ("domain", "category")
        if answer.get(field) and f'"{answer[field]}"' not in brief.evidence
    ]
    verdict = {
        "passed": not reasons,
        "reasons": reasons or ["supported by the evidence"],
        "injection": brief.injections(),
    }
    return PolicyReply((ReplyToolUse("submit_verdict", verdict),))


register_scenario(
    DaemonScript("vendor_hydration", {"planner": _planner, "executor": _executor, "judge": _judge})
)
