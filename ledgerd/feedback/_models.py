"""The feedback contracts: what a person says about a daemon's response, what is kept with it,
and the errors that refuse it.

A correction is the answer as it should have been, so it must be a complete, valid answer of
the daemon's output model; a field the model does not know is refused by name rather than
dropped, so what the person wrote is never silently lost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from accounting.errors import InvalidRequest, PlatformError
from accounting.principals import Principal
from ledgerd.contracts import Outcome
from ledgerd.daemons import daemon_spec
from ledgerd.receipts import ClearReceipt


class Thumbs(StrEnum):
    UP = "up"
    DOWN = "down"


class Feedback(BaseModel):
    """One person's view of one daemon response. Who gives it is not part of it: it comes
    from the bearer token (API and CLI), or the Update's credential-proved `principal`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"thumbs": "down", "rating": 2, "comment": "wrong HQ"}]},
    )

    thumbs: Thumbs | None = None
    rating: int | None = Field(default=None, ge=1, le=5, description="1 (useless) to 5 (perfect).")
    correction: dict[str, Any] | None = Field(
        default=None,
        description="The answer as it should have been: a complete answer of the daemon's "
        "output model (e.g. a VendorRecord), validated against it.",
    )
    comment: str = Field(default="", max_length=4000)

    @model_validator(mode="after")
    def _says_something(self) -> Feedback:
        if (
            self.thumbs is None
            and self.rating is None
            and self.correction is None
            and not self.comment.strip()
        ):
            raise ValueError("give at least one of thumbs, rating, correction or comment")
        return self

    def describe(self) -> str:
        """`thumbs down, rating 2, correction`: the Temporal UI's name for the step."""
        parts = [f"thumbs {self.thumbs.value}"] if self.thumbs else []
        parts += [f"rating {self.rating}"] if self.rating is not None else []
        parts += ["correction"] if self.correction is not None else []
        parts += ["comment"] if self.comment.strip() else []
        return ", ".join(parts)


FEEDBACK_ACTION = "feedback"


class RunFeedback(Feedback):
    """Feedback through a workflow's `feedback` Update. An Update carries no bearer token, so
    the principal travels with the payload, as an approver travels with a `Decision`, and
    `credential` proves it (ledgerd.security.credentials): signed by `ledgerd action-token` or
    `starter.signed_feedback` after authenticating the principal, over the workflow, the
    action `feedback` and a digest of `content()`. Once verified the workflow drops it."""

    principal: Principal
    credential: str | None = Field(
        default=None,
        max_length=4000,
        description="From `ledgerd action-token` or `starter.signed_feedback`.",
    )

    def without_principal(self) -> Feedback:
        return Feedback.model_validate(self.model_dump(exclude={"principal", "credential"}))

    def content(self) -> dict[str, Any]:
        """What the credential's digest covers: the feedback itself, without who gives it."""
        return self.without_principal().model_dump(mode="json")

    @property
    def matrix_subject(self) -> str:
        """The role matrix's row: a correction is for those who may correct."""
        return "feedback (correction)" if self.correction is not None else "feedback"


class RunTarget(BaseModel):
    """The run feedback is about, as its caller established it."""

    workflow_id: str
    tenant_id: str = Field(
        description="The run's tenant: its `LedgerdTenant` search attribute, or the workflow's "
        "own input for the Update. Only principals of this tenant may give feedback."
    )
    execution_key: str | None = Field(
        default=None,
        description="`<workflow id>@<first run id>` of the chain rated; None: the chain whose "
        "daemon spoke last (a reused workflow id has one chain per run).",
    )


class DaemonResponse(BaseModel):
    """What was rated, resolved from PostgreSQL (`model_calls`, `transcript_entries`,
    `notification_outbox`), so the same facts serve a running and a finished run."""

    workflow_id: str
    run_id: str = Field(description="The conversation: `transcript_entries.run_id`.")
    daemon: str
    task: str = Field(description="The executor's opening message: the task (and the plan).")
    response: dict[str, Any] | None = Field(
        description="The last valid `respond` answer; None when the run ended without one."
    )
    outcome: Outcome | None = Field(description="None while the daemon loop still runs.")
    guardrail_reviews: int = Field(description="Guardrail (judge) reviews of its answers.")
    models: dict[str, list[str]] = Field(description="Per role, the models used, in order.")
    prompt_versions: dict[str, list[str]] = Field(description="Per role, the prompt versions.")


class FeedbackReceipt(ClearReceipt):
    """The Update's answer: ids and a time, readable without the codec (ClearReceipt)."""

    feedback_id: int
    workflow_id: str
    run_id: str
    daemon: str
    recorded_at: datetime


class StoredFeedback(BaseModel):
    """A `run_feedback` row, as the export and the reward functions read it."""

    id: int
    tenant_id: str
    workflow_id: str
    run_id: str
    daemon: str
    given_by: str
    given_by_role: str
    thumbs: Thumbs | None
    rating: int | None
    correction: dict[str, Any] | None
    comment: str
    response: dict[str, Any] | None
    task: str
    outcome: Outcome | None
    guardrail_reviews: int
    models: dict[str, list[str]]
    prompt_versions: dict[str, list[str]]
    created_at: datetime


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path, e.g. `correction.confidence`.")
    message: str


class InvalidFeedback(InvalidRequest):
    """Feedback that cannot be stored as given; each problem names its field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__(
            "invalid feedback: " + "; ".join(f"{p.field}: {p.message}" for p in problems)
        )


class NotAnswered(PlatformError):
    """The run exists but no daemon in it has answered yet: there is nothing to rate."""


def correction_problems(
    correction: dict[str, Any], output_model: type[BaseModel]
) -> list[FieldProblem]:
    """Why `correction` is not a complete answer of `output_model`: each invalid field, then
    each field the model does not know (refused, since storing the answer as validated would
    silently drop it)."""
    try:
        validated = output_model.model_validate(correction)
    except ValidationError as error:
        return [
            FieldProblem(
                field=".".join(["correction", *(str(p) for p in item["loc"])]),
                message=str(item["msg"]).removeprefix("Value error, "),
            )
            for item in error.errors()
        ]
    kept = validated.model_dump(mode="json", by_alias=True)
    return [
        FieldProblem(field=path, message=f"unknown field of {output_model.__name__}")
        for path in _unknown_fields(correction, kept, ("correction",))
    ]


def feedback_problems(feedback: Feedback, daemon: str) -> list[FieldProblem]:
    """What is wrong with `feedback` for a run of `daemon`, before any database is read (the
    Update's validator runs this inside the workflow)."""
    if feedback.correction is None:
        return []
    return correction_problems(feedback.correction, daemon_spec(daemon).output_model)


def canonical_answer(correction: dict[str, Any], daemon: str) -> dict[str, Any]:
    """A valid correction in the form the daemon's own answers are stored in
    (`model_dump(mode="json")`, as `validate_answer` returns them), so chosen and rejected
    answers of a preference pair compare like for like."""
    return daemon_spec(daemon).output_model.model_validate(correction).model_dump(mode="json")


def _unknown_fields(given: Any, kept: Any, path: tuple[str, ...]) -> list[str]:
    if isinstance(given, dict) and isinstance(kept, dict):
        found: list[str] = []
        for key, value in given.items():
            where = (*path, str(key))
            found += _unknown_fields(value, kept[key], where) if key in kept else [".".join(where)]
        return found
    if isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        return [
            problem
            for index, (item, validated) in enumerate(zip(given, kept, strict=True))
            for problem in _unknown_fields(item, validated, (*path, str(index)))
        ]
    return []
