"""Which task queue a model call is scheduled on, from inside a workflow.

Deterministic: the name derives only from the workflow's own task queue and the model role
(`ledgerd/queues.py`), both fixed for the run, so a replay schedules on the same queue.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ledgerd.queues import model_queue_name


def model_queue(role: str) -> str:
    """The queue where workers serve `role`'s model calls under the provider's rate limit."""
    return model_queue_name(workflow.info().task_queue, role)
