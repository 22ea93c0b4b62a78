"""`UpdateRefused`: an Update validator's refusal, whose message the caller may read.

Failure messages are encrypted like payloads (a failure may quote what it failed on), so the
plain `temporal` CLI would print only "Encoded failure". A validator's refusal is different:
it is written for the caller who sent the Update, and it never reaches history (Temporal keeps
no event of a rejected Update). `ledgerd.plugin.LedgerdFailureConverter` leaves these in clear,
without a stack trace. Raise it only from validators, and never with secrets or tenant data
beyond what the caller sent.
"""

from __future__ import annotations


class UpdateRefused(ValueError):
    """Raised by an Update validator: the Update is rejected with this message."""
