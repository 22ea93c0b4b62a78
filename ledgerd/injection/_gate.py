"""The gate on mutating tools (OWASP LLM06, excessive agency): a call whose arguments trace
back to flagged content is not run; it is held for a person.

A call traces back to a finding when one of its arguments
- repeats the flagged text, or is contained in it (a descriptor stored as the vendor's
  descriptor, a "fact" copied from a poisoned memory);
- is an id or code of the object that carried it (the flagged transaction, the flagged
  vendor record);
- is a value the text names (the category "owner draws" asks for, a domain it gives); or
- the call is the kind of action the text asks for (linking, remembering, upserting or
  categorising, when the text says so).
The last one matters when a model follows an instruction with clean-looking values ("link
all transactions" with ids from an honest listing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ledgerd.injection._rules import Finding, excerpt, normalise
from ledgerd.injection._steer import steered_categories, steered_strings

# What each mutating tool does, in the words an instruction would use to ask for it.
_ACTIONS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "upsert_vendor": r"\b(?:categori|classif|vendor|domain|category|account|upsert|book|"
        r"headquarter|confidence|canonical)",
        "link_transactions": r"\b(?:link|attach|assign|move)",
        "remember": r"\b(?:remember|memori|note that|store|save)",
        "upsert_account": r"\b(?:account|categor|map)",
        "update_client_profile": r"\b(?:profile|company|industry|address|name)",
    }.items()
}
_MIN_COPY = 6  # a shorter argument ("acme", "USD") appearing in a text proves nothing


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}")
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield path, str(value)


def hold_reason(tool: str, arguments: dict[str, Any], findings: Iterable[Finding]) -> str | None:
    """Why `tool(arguments)` must wait for a person, or None when it traces to no finding."""
    leaves = list(_leaves(arguments))
    for finding in findings:
        flagged = normalise(finding.text).lower()
        categories = steered_categories(finding.text)
        strings = steered_strings(finding.text)
        source = f"the {finding.channel} flagged at {finding.where} ({finding.rule})"
        for path, raw in leaves:
            value = normalise(raw).lower()
            if len(value) >= _MIN_COPY and (value in flagged or flagged in value):
                return f"{tool}: argument {path} repeats {source}"
            # Values are shown redacted: a reason goes to history, the trace and notifications.
            if raw in finding.siblings:
                return f"{tool}: argument {path}={excerpt(raw, 60)} is the record that carried {source}"
            if value in categories or value in strings:
                return f"{tool}: argument {path}={excerpt(raw, 60)} is what {source} asks for"
        action = _ACTIONS.get(tool)
        if action is not None and action.search(finding.text):
            return f"{tool}: {source} asks for this kind of action"
    return None
