"""Does the configured model endpoint accept what each role will send? (`ledgerd doctor`)

It lists the account's models, checks each role's model is among them, and sends each role
one minimal request of exactly the shape its real requests have (thinking, effort, how a
structured answer is asked for, max_tokens), streamed as the activities stream them. A
request the API would refuse on a daemon's first step is refused here instead, before any
run starts. `ledgerd dev` and the worker run it at start-up when a real key is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anthropic

from activities._model_client import model_client
from activities.guardrails import SUBMIT_VERDICT
from activities.planning import SUBMIT_PLAN
from ledgerd.config import ROLES, Settings
from ledgerd.model_registry import AnswerTool, profile_for, request_fields, shape_for

_ANSWERS: dict[str, AnswerTool] = {"planner": SUBMIT_PLAN, "judge": SUBMIT_VERDICT}
_PROBE_TOOL: dict[str, Any] = {
    "name": "report_status",
    "description": "Report that you are reachable.",
    "input_schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
}
# Statuses that say the configuration is wrong, as opposed to the provider being busy.
CONFIGURATION_STATUSES = frozenset({400, 401, 402, 403, 404, 413, 422})


@dataclass(frozen=True)
class RoleCheck:
    role: str
    model: str
    sent: str
    ok: bool
    message: str
    status: int | None = None

    @property
    def misconfigured(self) -> bool:
        """A failure that retrying cannot cure: the request shape, the key or the model."""
        return not self.ok and (self.status is None or self.status in CONFIGURATION_STATUSES)


@dataclass(frozen=True)
class ModelCheck:
    endpoint: str
    listed: list[str] | None  # the account's models, or None if they could not be listed
    list_error: str | None
    roles: list[RoleCheck]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.roles)

    @property
    def misconfigured(self) -> bool:
        return any(r.misconfigured for r in self.roles)


async def _listed(client: anthropic.AsyncAnthropic) -> tuple[list[str] | None, str | None]:
    try:
        return [model.id async for model in client.models.list(limit=1000)], None
    except anthropic.APIError as error:
        return None, _describe(error)


def _describe(error: anthropic.APIError) -> str:
    if isinstance(error, anthropic.APIStatusError):
        return f"HTTP {error.status_code}: {error.api_message or error.message}"
    return f"unreachable: {error}"


async def _probe(client: anthropic.AsyncAnthropic, settings: Settings, role: str) -> RoleCheck:
    answer = _ANSWERS.get(role)
    shape = shape_for(settings.role_settings(role), answer=answer)
    fields = request_fields(
        shape,
        system="You are checking connectivity. Reply briefly.",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Are you there?"}]}],
        tools=[] if answer else [_PROBE_TOOL],
        answer=answer,
        cache_conversation=False,
    )
    try:
        async with client.messages.stream(**fields) as stream:
            message = await stream.get_final_message()
    except anthropic.APIStatusError as error:
        return RoleCheck(
            role, shape.model, shape.describe(), False, _describe(error), error.status_code
        )
    except anthropic.APIError as error:
        return RoleCheck(role, shape.model, shape.describe(), False, _describe(error))
    return RoleCheck(role, shape.model, shape.describe(), True, f"ok ({message.stop_reason})")


async def check_models(settings: Settings) -> ModelCheck:
    client = model_client(settings)
    listed, list_error = await _listed(client)
    roles = []
    for role in ROLES:
        model = settings.model_for(role)
        known = {model, *profile_for(model).aliases, profile_for(model).id}
        if listed is not None and not known & set(listed):
            shape = shape_for(settings.role_settings(role), answer=_ANSWERS.get(role))
            roles.append(
                RoleCheck(
                    role, model, shape.describe(), False,
                    f"{model} is not among this account's models (GET /v1/models)", 404,
                )
            )  # fmt: skip
            continue
        roles.append(await _probe(client, settings, role))
    return ModelCheck(settings.model_base_url, listed, list_error, roles)


def render_check(check: ModelCheck) -> str:
    lines = [f"model endpoint: {check.endpoint}"]
    if check.listed is None:
        lines.append(f"models: could not list them ({check.list_error})")
    else:
        lines.append(f"models: {len(check.listed)} offered ({', '.join(check.listed)})")
    width = max(len(r.model) for r in check.roles)
    for r in check.roles:
        mark = "ok  " if r.ok else "FAIL"
        lines.append(f"  {mark} {r.role:<8} {r.model:<{width}}  {r.sent}")
        if not r.ok:
            lines.append(f"       {r.message}")
    return "\n".join(lines)
