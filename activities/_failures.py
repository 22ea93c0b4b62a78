"""One place that decides which model-provider failures Temporal retries, and when.

The Anthropic client runs with `max_retries=0`, so Temporal owns every retry and records it.
Requests that cannot succeed by repetition (a bad request, bad credentials, an exhausted
spend limit) fail at once instead of burning the retry budget; overloads and rate limits
retry after the delay the provider asked for (`retry-after-ms`, then `retry-after`).
"""

from __future__ import annotations

from datetime import timedelta

import anthropic
from temporalio.exceptions import ApplicationError

# 402 billing_error: payment details need fixing by a person; repetition cannot cure it.
NON_RETRYABLE_STATUS = frozenset({400, 401, 402, 403, 404, 413, 422})
# 429s that waiting will not cure: the usage tier's monthly spend cap, or a contract's spend
# limit. The API says so in `error.details.error_code`, which the SDK parses into
# `error_code`. (`ramp_limit_exceeded` is not here: it clears after its `retry-after`.)
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})


def retry_delay(headers: object) -> timedelta | None:
    """The provider's requested back-off, from `retry-after-ms` or `retry-after` (seconds)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            continue  # an HTTP date: fall back to Temporal's own back-off
        if seconds >= 0:
            return timedelta(seconds=min(seconds, 300))
    return None


def is_spend_limit(error: anthropic.APIStatusError) -> bool:
    return getattr(error, "error_code", None) in SPEND_LIMIT_CODES


def should_retry(error: anthropic.APIStatusError) -> bool:
    """The API's own `x-should-retry` header decides when present (as the SDK does);
    otherwise the status does."""
    if is_spend_limit(error):
        return False
    header = error.response.headers.get("x-should-retry")
    if header == "true":
        return True
    if header == "false":
        return False
    return error.status_code not in NON_RETRYABLE_STATUS


def classify(error: Exception) -> ApplicationError:
    """Translate a model-call failure into the `ApplicationError` Temporal should act on."""
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        request_id = error.response.headers.get("request-id", "?")
        kind = type(error).__name__
        message = (
            f"model call failed: HTTP {status} {kind} (request-id {request_id}): {error.message}"
        )
        if is_spend_limit(error):
            return ApplicationError(message, type="ModelSpendLimit", non_retryable=True)
        if not should_retry(error):
            return ApplicationError(message, type=f"Model{kind}", non_retryable=True)
        return ApplicationError(
            message, type=f"Model{kind}", next_retry_delay=retry_delay(error.response.headers)
        )
    if isinstance(error, anthropic.APIConnectionError):  # includes timeouts
        return ApplicationError(f"model provider unreachable: {error}", type="ModelConnectionError")
    return ApplicationError(f"model call failed: {error!r}", type="ModelError")
