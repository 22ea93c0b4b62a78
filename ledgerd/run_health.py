"""What keeps a running daemon from getting anywhere, in words: read from the run's pending
activities, so the CLI and the API can say it at once instead of after every retry."""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowExecutionDescription

# The failure type `activities/_failures.classify` gives a model call that could not connect.
MODEL_UNREACHABLE = "ModelConnectionError"
# One failed attempt can be a blip; a second in a row means the endpoint is not there.
_FAILED_ATTEMPTS = 2


def stalled_on_model(described: WorkflowExecutionDescription) -> str | None:
    """The worker's last error reaching the model, if a step keeps failing on it; else None."""
    for pending in described.raw_description.pending_activities:
        if pending.attempt - 1 < _FAILED_ATTEMPTS:
            continue
        failure: Failure | None = pending.last_failure
        # The server may wrap a large failure ("Failure exceeds size limit."): look down its
        # causes for the model's.
        while failure is not None and failure.ByteSize():
            if failure.application_failure_info.type == MODEL_UNREACHABLE:
                return failure.message
            failure = failure.cause if failure.HasField("cause") else None
    return None
