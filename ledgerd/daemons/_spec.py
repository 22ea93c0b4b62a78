"""What defines a daemon: an objective (its prompts), curated tools, a structured answer,
budgets and the deterministic checks its guardrail adds to the judge model.

A spec is validated when it is defined (at import), so a typo in a tool or prompt name
fails the worker's start-up instead of wedging a running workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel

from ledgerd.contracts import Budget, CheckResult
from ledgerd.prompts import load_prompt
from tools import toolset

RESPOND = "respond"  # the answer tool every daemon's executor is offered


@dataclass(frozen=True)
class Evidence:
    """One tool call of the run and what it returned, as the guardrail sees it."""

    tool: str
    input: dict[str, Any]
    output: Any
    is_error: bool
    use_id: str = ""


# (answer, the run's tool evidence, the task the executor was given) -> check results
Checks = Callable[[Any, list[Evidence], str], list[CheckResult]]


def _no_checks(answer: Any, evidence: list[Evidence], task: str = "") -> list[CheckResult]:
    return []


@dataclass(frozen=True)
class DaemonSpec:
    kind: str
    output_model: type[BaseModel]
    tools: tuple[str, ...]
    budget: Budget = field(default_factory=Budget)
    plan: bool = True
    # The runtime runs the plan's tool calls itself (independent steps concurrently) before
    # the executor answers, instead of the executor choosing each call turn by turn.
    execute_plan: bool = False
    max_replans: int = 2
    checks: Checks = _no_checks
    max_answer_repairs: int = 2
    max_revisions: int = 1
    # The planner must record the task's intent (metric, period, aggregation, ...): the
    # daemon's checks hold every figure of the answer to it.
    needs_intent: bool = False

    def __post_init__(self) -> None:
        toolset(*self.tools)
        for role in ("planner", "executor", "judge"):
            if role != "planner" or self.plan:
                load_prompt(self.prompt(role))

    def prompt(self, role: str) -> str:
        return f"{self.kind}.{role}"

    def respond_tool(self) -> dict[str, Any]:
        """The `respond` tool the executor answers with: the output model as its schema.
        Built once per output model (schema generation is slow, and every turn offers it);
        callers must not change the dict."""
        return _respond_tool(self.output_model)


@cache
def _respond_tool(output_model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": RESPOND,
        "description": (
            "Submit your final answer. Call it once, when the work is done; the input "
            f"must match the {output_model.__name__} schema exactly."
        ),
        "input_schema": output_model.model_json_schema(),
    }
