"""Defence against instructions planted in data (OWASP LLM01 prompt injection, LLM06
excessive agency): spotlighting, a rule-based detector, and a gate on mutating tools.

- `spotlight`: every tool result and every piece of outside data in a task reaches a model
  inside `<data source=...>` tags, and every prompt says that is data, never instructions.
- `scan`/`findings_in`: rules flag instruction-like strings in tool results and task data;
  the flags are recorded on the run (`ToolOutcome.flags`, `DaemonResult.injection_flags`),
  shown in `ledgerd trace` and sent with the run's notification. The judge model flags what
  the rules miss (`Verdict.injection`).
- `hold_reason` (and `conversation.held_reason` over a stored run, which reads the
  transcript and so lives in its own module): a mutating call (upsert_vendor, link_transactions, remember, applying a
  mapping) whose arguments trace back to a finding is not run; it is held for a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ledgerd.contracts import InjectionFlag
from ledgerd.injection._gate import hold_reason
from ledgerd.injection._rules import Finding, channel_of, excerpt, rule_of, scan
from ledgerd.injection._spotlight import blocks, inline, neutralise, spotlight, unwrap
from ledgerd.injection._steer import CATEGORY_KEYS, steered_categories, steered_strings

# Tools whose results are the runtime's own words, not outside data.
OWN_TOOLS = frozenset({"respond", "submit_plan", "submit_verdict"})


def findings_in(exchanges: Iterable[tuple[str, str, Any, bool]], task: str = "") -> list[Finding]:
    """Findings in a run: every successful tool result (use id, tool, output, is_error) and
    every data block of the task."""
    found: list[Finding] = []
    for source, content in blocks(task):
        found += scan(content, source, f"task:{source}")
    for use_id, tool, output, is_error in exchanges:
        if not is_error and tool not in OWN_TOOLS:
            found += scan(output, channel_of(tool), use_id)
    return found


def as_flags(findings: Iterable[Finding]) -> list[InjectionFlag]:
    return [InjectionFlag.model_validate(f.flag()) for f in findings]


__all__ = [
    "CATEGORY_KEYS",
    "OWN_TOOLS",
    "Finding",
    "as_flags",
    "blocks",
    "channel_of",
    "excerpt",
    "findings_in",
    "hold_reason",
    "inline",
    "neutralise",
    "rule_of",
    "scan",
    "spotlight",
    "steered_categories",
    "steered_strings",
    "unwrap",
]
