"""Checks every daemon's answer gets: no PII copied in, not cut off, no planted instruction
followed.

- `no_pii`: emails, phone, card, bank account and social security numbers in the answer
  (the feedback redactor's patterns): a bookkeeping answer never needs to repeat them, and
  answers are stored, exported and shown.
- `answer_complete`: a text that stops mid-sentence was cut off (at max_tokens, or by a
  model that ran out of room), however grounded its first half.
- `no_instructions_followed`: a value of the answer that flagged data asked for (a category
  the descriptor named, a domain or address it gave) was put there by the data, not by the
  evidence (ledgerd.injection).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ledgerd.contracts import CheckResult
from ledgerd.daemons._spec import Evidence
from ledgerd.injection import Finding, findings_in, steered_categories, steered_strings

_PLACEHOLDER = re.compile(r"\[(EMAIL|IBAN|CARD|SSN|PHONE|ACCOUNT_NUMBER)\]")
_ENDS = tuple(".!?)\"'”’%]")


def strings_of(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def pii_check(texts: Iterable[str]) -> CheckResult:
    # Imported here: the feedback package imports the daemons, which import this module.
    from ledgerd.feedback._redact import Redactor

    redactor = Redactor()
    kinds = sorted({kind for text in texts for kind in _PLACEHOLDER.findall(redactor.text(text))})
    return CheckResult(
        name="no_pii",
        passed=not kinds,
        reason=f"the answer copies personal data: {', '.join(k.lower() for k in kinds)}"
        if kinds
        else "no personal data",
    )


def complete_check(text: str, substantive: bool = True) -> CheckResult:
    end = text.rstrip()
    cut = substantive and bool(end) and not end.endswith(_ENDS)
    return CheckResult(
        name="answer_complete",
        passed=not cut,
        reason=f"the text stops mid-sentence (…{end[-40:]!r}): it was cut off"
        if cut
        else "ends where it should",
    )


def run_findings(evidence: list[Evidence], task: str) -> list[Finding]:
    return findings_in([(e.use_id, e.tool, e.output, e.is_error) for e in evidence], task)


def followed_check(
    values: dict[str, str | None], findings: list[Finding], *, exempt: Iterable[str] = ()
) -> CheckResult:
    """Fails when a value (field name -> value) is one a finding asked for; `exempt` lists
    values the evidence itself supports (an account whose own name is the category)."""
    problems = []
    spared = {e.lower() for e in exempt}
    for finding in findings:
        categories = steered_categories(finding.text)
        strings = steered_strings(finding.text)
        for field, value in values.items():
            if not value or value.lower() in spared:
                continue
            plain = value.lower()
            if plain in categories or plain in strings or any(s in plain for s in strings):
                problems.append(
                    f"{field} {value[:60]!r} is what the {finding.channel} flagged at "
                    f"{finding.where[:60]} ({finding.rule}) asked for"
                )
    return CheckResult(
        name="no_instructions_followed",
        passed=not problems,
        reason="; ".join(dict.fromkeys(problems))[:1000]
        if problems
        else (
            f"{len(findings)} flagged item(s) in the data; none followed"
            if findings
            else "no instructions in the data"
        ),
    )
