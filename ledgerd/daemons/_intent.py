"""The planner's intent, as it travels to the executor and the guardrail: one line of the
executor's opening message (`Intent: {...}`), written after the plan.

One line of JSON keeps the intent where the guardrail already looks (the task the executor
was given) without another table or activity input; the question itself is
whitespace-collapsed by the workflow, so no line of a question can pose as the intent.
"""

from __future__ import annotations

from pydantic import ValidationError

from ledgerd.contracts import Intent

PREFIX = "Intent: "


def render_intent(intent: Intent) -> str:
    return PREFIX + intent.model_dump_json(exclude_defaults=True)


def intent_in(task: str) -> Intent | None:
    """The intent line of a task, or None (no plan, or a plan without one)."""
    for line in reversed(task.splitlines()):
        if line.startswith(PREFIX):
            try:
                return Intent.model_validate_json(line.removeprefix(PREFIX))
            except ValidationError:
                return None
    return None


def task_line(task: str, name: str) -> str:
    """The value of a `Name: value` line of the task block (`Question`, `Tenant`)."""
    prefix = f"{name}:"
    for line in task.splitlines():
        if line.startswith(prefix):
            return line.removeprefix(prefix).strip()
    return ""
