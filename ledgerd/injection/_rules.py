"""The rule-based detector: instruction-like content in data a model reads.

Rules, not a model: they run before every mutating call (the gate) and in the guardrail,
deterministically, and cannot be talked out of a finding. They look for text addressed to a
model rather than to a bookkeeper: overrides ("ignore previous instructions"), fake turns and
tags, directives to categorise, map, link, upsert or remember, requests to hide something
from the user. The judge model is the second detector, for what rules miss (docs/eval.md).

Text is normalised first (NFKC, zero-width characters removed, whitespace collapsed) so
`I​G​N​O​R​E` with zero-width joiners or full-width letters reads as `IGNORE`. The rules are
tuned not to fire on the demo ledger's descriptors, the company directory or the sample
charts (tests/test_injection_rules.py holds them to that).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")

RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "override",
            r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}?\b(?:previous|prior|above|"
            r"earlier|all|any|your|the|these|system)\b.{0,30}?\b(?:instructions?|rules?|"
            r"prompts?|directions?|guidelines?|guardrails?|policies)\b",
        ),
        (
            "role_change",
            r"\b(?:you are now|act as (?:an?|the)|pretend (?:to be|you are)|new instructions?|"
            r"system prompt|developer mode|jailbreak)\b",
        ),
        (
            "fake_turn",
            r"(?:^|[\n.;:!] ?)(?:system|assistant|human)\s*:|</?\s*(?:system|instructions?|"
            r"tool_result|tool_use|admin|data)\b",
        ),
        (
            "addressed_to_model",
            r"\b(?:ai|llm|assistant|agent|chatbot|language model|model|bot)s?\b\s*[:,]?\s*"
            r"(?:must|should|shall|please|always|never|now|will)\b|\b(?:ai|llm|assistant|chatbot)"
            r"\s*:|\b(?:attention|note|message|"
            r"instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llm|assistant|"
            r"agent|model|bot)s?\b",
        ),
        (
            "categorise",
            r"\b(?:re-?)?(?:categori[sz]e|classify|reclassify)\b.{0,30}?\b(?:as|to|under|into)\b"
            r"|\b(?:set|change|use|make|put)\s+(?:the\s+|its\s+|their\s+|this\s+)?(?:category|"
            r"account(?: code)?|domain|canonical name|confidence|vendor)\b.{0,20}?"
            r"\b(?:to|as|=)\b|\bmap\s+(?:this|these|it|all|every|each|them)\b.{0,40}?\bto\b"
            r"|\bbook\s+(?:this|these|it|all|them)\b.{0,30}?\b(?:as|to|under)\b",
        ),
        (
            "act",
            r"\b(?:link|attach|assign|move)\s+(?:all|every|these|those|them|the|each)\b.{0,30}?"
            r"\btransactions?\b|\bremember\s+that\b|\b(?:call|invoke|run|use)\s+(?:the\s+)?"
            r"(?:tool\s+)?`?(?:upsert_vendor|link_transactions|remember|recall|query_ledger|"
            r"respond|submit_plan|submit_verdict|list_transactions|update_client_profile|"
            r"upsert_account)\b|\b(?:upsert_vendor|link_transactions|update_client_profile|"
            r"upsert_account)\b",
        ),
        (
            "conceal",
            r"\b(?:do not|don't|never)\s+(?:tell|mention|report|reveal|inform|show|flag)\b|"
            r"\b(?:tell|inform|say to|instruct)\s+the\s+(?:user|accountant|person|customer|"
            r"owner)\b|\bwire\b.{0,30}\b(?:funds|money|payment)\b",
        ),
    )
)


def normalise(text: str) -> str:
    return " ".join(_ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).split())


# Tool results repeat the same short strings across turns and daemons (a merchant's
# descriptors, vendor names, account names), and every one is scanned on every turn: the
# verdict depends on the text alone, so short ones are remembered. Long strings (documents,
# free text) are rarely repeated and would make the cache hold a lot; they are scanned anew.
_CACHED_LENGTH = 1024


def rule_of(text: str) -> str | None:
    """The first rule the text trips, or None."""
    if len(text) <= _CACHED_LENGTH:
        return _cached_rule_of(text)
    return _rule_of(text)


@lru_cache(maxsize=16384)
def _cached_rule_of(text: str) -> str | None:
    return _rule_of(text)


def _rule_of(text: str) -> str | None:
    plain = normalise(text)
    for name, pattern in RULES:
        if pattern.search(plain):
            return name
    return None


def excerpt(text: str, limit: int = 120) -> str:
    """What the trace and notifications may show: redacted, one line, short."""
    # Imported here: the feedback package imports the daemons, which import this module.
    from ledgerd.feedback._redact import Redactor

    shown = Redactor().text(normalise(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True)
class Finding:
    """One string that reads as instructions, where it was, and what is around it."""

    channel: str
    rule: str
    where: str  # "<tool_use id>:<path>" or "task:<source>"
    text: str  # the flagged string itself (stays in the activity, never in history)
    siblings: tuple[str, ...] = ()  # ids and codes of the object holding it

    def flag(self) -> dict[str, str]:
        return {
            "channel": self.channel,
            "rule": self.rule,
            "where": self.where[:120],
            "excerpt": excerpt(self.text),
        }


_ID_KEYS = re.compile(r"^(?:id|code|.*_id|.*_ids|account_code)$")


def _ids_of(item: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key, value in item.items():
        if _ID_KEYS.match(str(key)):
            if isinstance(value, str | int):
                found.append(str(value))
            elif isinstance(value, list):
                found += [str(v) for v in value if isinstance(v, str | int)]
    return tuple(found)


def scan(value: Any, channel: str, where: str) -> list[Finding]:
    """Every string of a JSON value that trips a rule, with its path and the ids of the
    object holding it (a flagged descriptor's transaction id, a flagged record's vendor id)."""
    return list(_walk(value, channel, where, ()))


def _walk(value: Any, channel: str, path: str, ids: tuple[str, ...]) -> Iterator[Finding]:
    if isinstance(value, str):
        rule = rule_of(value)
        if rule is not None:
            yield Finding(channel, rule, path, value, ids)
    elif isinstance(value, dict):
        here = ids + _ids_of(value)
        for key, item in value.items():
            yield from _walk(item, channel, f"{path}.{key}", here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, channel, f"{path}.{index}", ids)


CHANNELS = {
    "list_transactions": "bank descriptor",
    "search_vendors": "vendor record",
    "get_vendor": "vendor record",
    "upsert_vendor": "vendor record",
    "lookup_company": "company directory",
    "recall": "memory",
    "remember": "memory",
    "list_accounts": "chart of accounts",
    "get_client_profile": "client profile",
    "query_ledger": "ledger",
}


def channel_of(tool: str) -> str:
    return CHANNELS.get(tool, f"tool result ({tool})")
