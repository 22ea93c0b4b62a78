"""PII redaction for exported datasets: a fine-tuning set must not teach a model anyone's
email, phone, card or bank account.

Caught (each replaced by a placeholder, so the text keeps its shape):

- `[EMAIL]`: addresses like `jane.doe+books@example.co.uk`;
- `[IBAN]`: two letters, two check digits and 11-30 more letters/digits, grouped by spaces or
  not (`DE89 3704 0044 0532 0130 00`, `GB82WEST12345698765432`);
- `[CARD]`: 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check;
  such a run failing the check is still treated as an `[ACCOUNT_NUMBER]`;
- `[SSN]`: `123-45-6789`;
- `[PHONE]`: North American numbers (`+1 (415) 555-0134`, `415.555.0134`, `4155550134`) and
  international ones written from their `+` (`+44 20 7946 0958`), 10-15 digits in all;
- `[ACCOUNT_NUMBER]`: any other bare run of 8-17 digits (bank and card account numbers);
- `[PERSON]`: the display names of the platform's principals (people, not services), whole
  and, for names that look like a person's (`Maya Chen`), each capitalised part of three
  letters or more.

Not caught, by design or by limit: names of people who are not principals (a sole trader in a
vendor name, a name in a comment), postal addresses, dates of birth, tax ids other than SSNs,
account numbers shorter than 8 digits or mixed with letters, and card numbers split in
unusual ways, or international phone numbers written without their `+`. Amounts (`48,210.55`), dates (`2025-04-01`), UUIDs and ids such as `acme-t12`
are left alone, and so are short digit runs in bank descriptors (`GUSTO PAY 123456`); a bare
reference of 8 or more digits (`20250401`) is redacted as an account number: over-redacting
a reference costs a fine-tuning set little.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\w+\-.])\d(?:[ -]?\d){12,18}(?![\w\-]|\.\d)")
_SSN = re.compile(r"(?<![\w\-])\d{3}-\d{2}-\d{4}(?![\w\-])")
_PHONE = re.compile(
    r"(?<![\w+\-.,])(?:"
    r"(?:\+1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-]?)\d{3}[ .-]?\d{4}"  # North American
    r"|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"  # international, from its `+`
    r")(?![\w\-]|[.,]\d)"
)
_ACCOUNT = re.compile(r"(?<![\w\-.])\d{8,17}(?![\w\-]|\.\d)")
_PERSON_LIKE = re.compile(r"^[A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+){1,3}$")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban(match: re.Match[str]) -> str:
    # A real IBAN is mostly digits; this spares words like `AB12 CDEF GHIJ KLMN` in prose.
    return "[IBAN]" if len(_digits(match.group())) >= 8 else match.group()


def _card(match: re.Match[str]) -> str:
    return "[CARD]" if luhn_valid(_digits(match.group())) else "[ACCOUNT_NUMBER]"


def _phone(match: re.Match[str]) -> str:
    digits = len(_digits(match.group()))
    return "[PHONE]" if 10 <= digits <= 15 else match.group()


class Redactor:
    """Replaces PII in text, and in every string of a JSON value (keys are kept)."""

    def __init__(self, person_names: Iterable[str] = ()) -> None:
        self._steps: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]] = [
            (_EMAIL, "[EMAIL]"),
            (_IBAN, _iban),
            (_CARD, _card),
            (_SSN, "[SSN]"),
            (_PHONE, _phone),
            (_ACCOUNT, "[ACCOUNT_NUMBER]"),
        ]
        names = _name_patterns(person_names)
        if names is not None:
            self._steps.append((names, "[PERSON]"))

    def text(self, text: str) -> str:
        for pattern, replacement in self._steps:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value


def _name_patterns(person_names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every name: whole names case-insensitively, and the parts of
    person-like names (`Maya Chen` → `Maya`, `Chen`) as capitalised words only, so the word
    `chen` in `kitchen` or a lowercase common word is left alone."""
    whole: set[str] = set()
    parts: set[str] = set()
    for name in person_names:
        name = " ".join(name.split())
        if len(name) < 3:
            continue
        whole.add(name)
        if _PERSON_LIKE.match(name):
            parts.update(part for part in name.split() if len(part) >= 3)
    if not whole:
        return None
    # Longest first, so `Maya Chen` is replaced whole before `Maya` could be.
    alternatives = [f"(?i:{re.escape(n)})" for n in sorted(whole, key=len, reverse=True)]
    alternatives += [re.escape(p) for p in sorted(parts, key=len, reverse=True)]
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")
