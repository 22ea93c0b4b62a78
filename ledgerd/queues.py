"""Task queues by kind of work, and the model provider's rate limit on them.

Tools, database work and every workflow run on the main queue (`LEDGERD_TASK_QUEUE`). Model
calls run on one queue per model role, `<main>-model-<role>` (planner, executor, judge), so a
worker can serve them under a limit that Temporal enforces across all workers polling the
queue (`max_task_queue_activities_per_second`): ten workers never send the provider ten times
the rate it allows, and a throttled call waits in the queue instead of failing and piling up
retries.

Limits are set per model *family* (`LEDGERD_MODEL_RATE_LIMITS=opus=1,sonnet=4,haiku=8`, calls
per second), as providers rate-limit per family. When several roles use models of one family,
the family's limit is split evenly between their queues, so the family's total never exceeds
it. The names are pure functions of the main queue, so a workflow derives them
deterministically (`workflows/_queues.py`) and a KEDA trigger can name them.

How each queue is polled (slots, pollers, the workflow cache) is `LEDGERD_WORKER_*`
(`worker_options`); docs/reliability.md ("Load") gives the measurements behind the defaults.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.worker import PollerBehaviorSimpleMaximum

from ledgerd.config import Settings

MODEL_ROLES = ("planner", "executor", "judge")
# Provider families: Anthropic rate-limits Opus, Sonnet and Haiku models separately.
_FAMILIES = ("opus", "sonnet", "haiku")


def model_queue_name(task_queue: str, role: str) -> str:
    """The queue of `role`'s model calls for workflows running on `task_queue`."""
    if role not in MODEL_ROLES:
        raise ValueError(f"not a model role: {role!r} (one of {', '.join(MODEL_ROLES)})")
    return f"{task_queue}-model-{role}"


def is_model_queue(task_queue: str) -> bool:
    return any(task_queue.endswith(f"-model-{role}") for role in MODEL_ROLES)


def model_family(model: str) -> str:
    """`claude-sonnet-4-5-20250929` → `sonnet`; a model of no known family is its own."""
    lowered = model.lower()
    return next((family for family in _FAMILIES if family in lowered), lowered)


def role_rate_limits(settings: Settings) -> dict[str, float | None]:
    """Calls per second each role's model queue may dispatch (None: unlimited).

    `*` in `LEDGERD_MODEL_RATE_LIMITS` covers families it does not name.
    """
    limits = settings.rate_limits_by_family
    families = {role: model_family(settings.model_for(role)) for role in MODEL_ROLES}
    sharing = {family: list(families.values()).count(family) for family in families.values()}
    result: dict[str, float | None] = {}
    for role, family in families.items():
        limit = limits.get(family, limits.get("*"))
        result[role] = None if limit is None else limit / sharing[family]
    return result


def worker_options(settings: Settings) -> dict[str, Any]:
    """The `Worker` options `LEDGERD_WORKER_*` set, the same for each queue's worker: slots
    and pollers count per queue, so a process serving all four queues has four times each.
    The raw baseline of benchmarks/load.py takes them from here too, like for like."""
    return {
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(
            settings.worker_workflow_task_pollers
        ),
        "activity_task_poller_behavior": PollerBehaviorSimpleMaximum(
            settings.worker_activity_task_pollers
        ),
        "graceful_shutdown_timeout": timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    }
