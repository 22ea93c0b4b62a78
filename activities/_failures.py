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

NON_RETRYABLE_STATUS = frozenset({400, 401, 403, 404, 413, 422})


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
    """A 429 that waiting will not cure: the organisation's spend limit is reached. The API
    says so in `error.details.error_code`, which the SDK parses into `error_code`."""
    code = getattr(error, "error_code", None)
    return error.status_code == 429 and code == "enforced_spend_limit_reached"


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
        if status in NON_RETRYABLE_STATUS:
            return ApplicationError(message, type=f"Model{kind}", non_retryable=True)
        return ApplicationError(
            message, type=f"Model{kind}", next_retry_delay=retry_delay(error.response.headers)
        )
    if isinstance(error, anthropic.APIConnectionError):  # includes timeouts
        return ApplicationError(f"model provider unreachable: {error}", type="ModelConnectionError")
    return ApplicationError(f"model call failed: {error!r}", type="ModelError")
