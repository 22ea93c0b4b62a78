"""Fault injection: the failures a client of the real API must survive, on demand.

Faults sit in a FIFO queue. Each valid `/v1/messages` request takes the first fault whose
`match_model` fits (or that has none), applies it and spends one of its `times`; a fault
with no `times` left leaves the queue. A seeded random rate can add transient errors for
benchmarks, reproducibly for a given seed and request order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from standin._wire import error_type_for

FaultKind = Literal[
    "error",
    "spend_limit",
    "credit_exhausted",
    "truncate",
    "malformed_tool_input",
    "latency",
    "refusal",
    "context_window",
    "pause_turn",
    "stream_error",
    "stall",
]

_DEFAULT_MESSAGES: dict[int, str] = {
    400: "Invalid request (injected by the offline stand-in).",
    401: "invalid x-api-key",
    402: "There is an issue with your billing or payment information.",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found.",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "This request would exceed the rate limit for your organization.",
    500: "Internal server error",
    504: "Request timed out.",
    529: "Overloaded",
}
# Wording of the real responses; clients must classify on `details.error_code`, not on this.
SPEND_LIMIT_MESSAGE = (
    "Your organization has reached the monthly spend limit of its usage tier. "
    "API usage is paused until the start of next month or until you move to a higher tier."
)
SPEND_LIMIT_ERROR_CODE = "enforced_spend_limit_reached"
CREDIT_EXHAUSTED_MESSAGE = (
    "Your credit balance is too low to access the Anthropic API. "
    "Please go to Plans & Billing to upgrade or purchase credits."
)


class FaultSpec(BaseModel):
    """One injected fault. `kind` defaults to "error", which needs `status`.

    Kinds: "error" (an HTTP error with the real error envelope), "spend_limit" (429
    `rate_limit_error` with `details.error_code = enforced_spend_limit_reached` and no
    `retry-after`: the non-retryable 429), "credit_exhausted" (the 400 the real API sends when
    prepaid credit runs out), "truncate" (a 200 cut off at max_tokens), "malformed_tool_input"
    (a 200 whose tool_use input fails the tool's schema), "latency" (a normal 200 after
    `latency_ms`), "refusal" (stop_reason "refusal" with `stop_details` naming
    `refusal_category`, as the 5.x models' safety classifiers answer), "context_window"
    (stop_reason "model_context_window_exceeded", the reply cut), "pause_turn" (stop_reason
    "pause_turn"), "stream_error" (a streamed 200 that breaks off with an `overloaded_error`
    event after `message_start`) and "stall" (a streamed reply that goes silent for
    `latency_ms` after its first block). Any kind also waits `latency_ms` before answering,
    except "stall", which waits mid-stream.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind = "error"
    status: int | None = Field(default=None, ge=400, le=599)
    error_type: str | None = None
    message: str | None = None
    error_code: str | None = None
    retry_after: float | None = Field(default=None, ge=0)
    retry_after_ms: int | None = Field(default=None, ge=0)
    headers: dict[str, str] = Field(default_factory=dict)
    times: int = Field(default=1, ge=1)
    match_model: str | None = None
    after: int = Field(
        default=0, ge=0, description="Let this many matching requests through first."
    )
    latency_ms: int = Field(default=0, ge=0)
    refusal_category: str = "cyber"

    @model_validator(mode="after")
    def _complete(self) -> FaultSpec:
        if self.kind == "error" and self.status is None:
            raise ValueError('a fault of kind "error" needs a status (e.g. 429, 500, 529)')
        if self.kind in ("latency", "stall") and self.latency_ms == 0:
            raise ValueError(f'a fault of kind "{self.kind}" needs latency_ms > 0')
        return self

    def is_error(self) -> bool:
        return self.kind in ("error", "spend_limit", "credit_exhausted")

    def http_status(self) -> int:
        if self.kind == "spend_limit":
            return 429
        if self.kind == "credit_exhausted":
            return 400
        return self.status or 200

    def error_fields(self) -> tuple[str, str, dict[str, Any] | None]:
        """(error.type, error.message, error.details) for an error-kind fault."""
        status = self.http_status()
        if self.kind == "spend_limit":
            code = self.error_code or SPEND_LIMIT_ERROR_CODE
            return (
                self.error_type or "rate_limit_error",
                self.message or SPEND_LIMIT_MESSAGE,
                {"error_code": code},
            )
        if self.kind == "credit_exhausted":
            return (
                self.error_type or "invalid_request_error",
                self.message or CREDIT_EXHAUSTED_MESSAGE,
                {"error_code": self.error_code} if self.error_code else None,
            )
        return (
            self.error_type or error_type_for(status),
            self.message or _DEFAULT_MESSAGES.get(status, f"Injected HTTP {status} error."),
            {"error_code": self.error_code} if self.error_code else None,
        )

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            seconds = self.retry_after
            headers["retry-after"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        return headers


def parse_faults(data: Any) -> list[FaultSpec]:
    """A JSON list of fault objects, as given to the env var or the control endpoint."""
    if not isinstance(data, list):
        raise ValueError("faults must be a JSON list of fault objects")
    return [FaultSpec.model_validate(item) for item in data]


class FaultQueue:
    """The pending faults plus the optional seeded random ones."""

    def __init__(
        self,
        faults: Sequence[FaultSpec] = (),
        *,
        fault_rate: float = 0.0,
        seed: int = 0,
        random_statuses: Sequence[int] = (429, 500, 529),
    ) -> None:
        self._pending: list[list[Any]] = []  # [spec, remaining]
        self._rate = fault_rate
        self._seed = seed
        self._statuses = tuple(random_statuses)
        self._random = random.Random(seed)
        self.replace(faults)

    def replace(self, faults: Sequence[FaultSpec]) -> None:
        self._pending = [[spec, spec.times, 0] for spec in faults]  # spec, uses left, passed

    def clear(self) -> None:
        self._pending = []

    def reset_random(self) -> None:
        self._random = random.Random(self._seed)

    def pending(self) -> list[dict[str, Any]]:
        return [
            {**spec.model_dump(mode="json"), "remaining": remaining}
            for spec, remaining, _ in self._pending
        ]

    def take(self, model: str | None, *, offers_tools: bool) -> FaultSpec | None:
        """The fault for this request, if any, spending one of its uses.

        A malformed-tool-input fault waits for a request that offers tools: without a schema
        there is nothing to violate, and silently spending it would hide a test's mistake.
        """
        for entry in self._pending:
            spec: FaultSpec = entry[0]
            if spec.match_model is not None and spec.match_model != model:
                continue
            if spec.kind == "malformed_tool_input" and not offers_tools:
                continue
            if entry[2] < spec.after:
                entry[2] += 1
                continue
            entry[1] -= 1
            if entry[1] <= 0:
                self._pending.remove(entry)
            return spec
        if self._rate > 0 and self._statuses and self._random.random() < self._rate:
            status = self._statuses[self._random.randrange(len(self._statuses))]
            retry_after = 1.0 if status == 429 else None
            return FaultSpec(status=status, retry_after=retry_after, headers={})
        return None
