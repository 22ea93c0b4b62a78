"""Faults applied to a finished answer's text: pure functions of the text, shared by the
daemons' scripts. Each returns the text unchanged when it has nothing to spoil, so a caller
can tell a case the mode does not apply to."""

from __future__ import annotations

import hashlib
import re

_MONEY = re.compile(r"\$\d{1,3}(?:,\d{3})*(?:\.\d+)?|\$\d+(?:\.\d+)?")
_COUNT = re.compile(r"(?<![\w.$,-])\d+(?= (?:transactions?|payments?|charges?|payouts?|times))")
_FLIPS = (
    ("an increase of", "a decrease of"),
    ("a decrease of", "an increase of"),
    (" up ", " down "),
    (" down ", " up "),
    ("increases", "decreases"),
    ("decreases", "increases"),
)
PII_SENTENCE = (
    " Remittance contact: jane.doe@example.com, +1 (415) 555-0134, account 4111111111111111."
)
REFUSAL = "I'm sorry, but I can't help with that request."


def pick(seed: str, choices: int) -> int:
    """A stable choice among `choices`, from the case's text: the same case spoils the same way."""
    return int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % choices


def wrong_digit(text: str) -> str:
    """One digit of the first non-zero amount (else a count) changed by one."""
    for pattern in (_MONEY, _COUNT):
        for match in pattern.finditer(text):
            digits = [i for i, c in enumerate(match[0]) if c.isdigit()]
            if not digits or set(match[0]) <= set("$0.,"):
                continue
            # A middle digit: a leading one would change the magnitude, a last one might
            # hide in the shown precision.
            at = digits[len(digits) // 2] if len(digits) > 1 else digits[0]
            old = match[0]
            bumped = str((int(old[at]) + 1) % 10) if at != digits[0] else str(int(old[at]) % 9 + 1)
            new = old[:at] + bumped + old[at + 1 :]
            return text[: match.start()] + new + text[match.end() :]
    return text


def wrong_sign(text: str) -> str:
    """A rise reported as a fall (or the reverse); without a direction, a negative amount.
    Only a direction before a non-zero amount is flipped: "up $0.00" is no error."""
    for old, new in _FLIPS:
        for match in re.finditer(re.escape(old), text):
            amount = _MONEY.match(text, match.end()) or _MONEY.match(text, match.end() + 1)
            if amount is None or set(amount[0]) <= set("$0.,"):
                continue
            return text[: match.start()] + new + text[match.end() :]
    signed = re.search(r"([+-])(\d+(?:\.\d+)?%)", text)
    if signed:
        flipped = "-" if signed[1] == "+" else "+"
        return text[: signed.start()] + flipped + signed[2] + text[signed.end() :]
    money = _MONEY.search(text)
    if money and set(money[0]) - set("$0.,"):
        return text[: money.start()] + "-" + text[money.start() :]
    return text


def truncate(text: str) -> str:
    """The text cut at about 55 %, mid-sentence, as a reply that ran out of tokens."""
    if len(text) < 40:
        return text
    cut = text[: int(len(text) * 0.55)].rstrip()
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut.rstrip(" .,;:!?)")
