"""A tool is one declaration over an existing handler; its schemas come from reflection.

The handler's type hints give the input and output models, its docstring the description.
Nothing is written twice, so the schema a model sees cannot drift from what the handler
accepts. The handler's `principal` parameter is injected by the runtime and is not part of
the input schema: a model cannot choose who it acts as. Likewise a handler's keyword-only
`context` parameter receives the `ToolContext` (which run, which conversation) from the
runtime, never from the model.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from accounting.principals import Principal
from ledgerd.db import Pool
from ledgerd.security import policy

Handler = Callable[..., Awaitable[BaseModel]]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolDeclarationError(TypeError):
    """A handler cannot be exposed as a tool as written; raised at import, not mid-run."""


@dataclass(frozen=True)
class ToolContext:
    """Where a tool call happens, for handlers that declare a keyword-only `context`.

    Handlers annotate `context` with their own read-only protocol (see
    `ledgerd.memory.RunContext`), so the platform layer never imports the tools layer.
    """

    run_id: str
    conversation_id: str | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    handler: Handler
    mutating: bool
    takes_context: bool = False

    def input_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()

    def anthropic_definition(self) -> dict[str, Any]:
        """The tool as the Messages API takes it. Built once per tool: generating the JSON
        schema costs about half a millisecond, and every model turn offers every tool. The
        same dict is returned each time, so callers must not change it (request building
        copies where it adds a cache breakpoint)."""
        return _definition(self.name, self.description, self.input_model)

    async def invoke(
        self,
        pool: Pool,
        principal: Principal,
        arguments: dict[str, Any],
        idempotency_key: str,
        context: ToolContext | None = None,
    ) -> BaseModel:
        """Validate the model's arguments and call the handler as `principal`.

        A handler that takes `context` and is called without one gets the call's idempotency
        key (which begins with the run id) as `run_id` and no conversation: scoped no wider
        than the tenant, never to a wrong conversation.
        """
        # The role matrix (ledgerd.security.policy) decides before the arguments are read.
        policy.require(principal, "tool", self.name)
        request = self.input_model.model_validate(arguments)
        injected: dict[str, Any] = {}
        if self.mutating:
            injected["idempotency_key"] = idempotency_key
        if self.takes_context:
            injected["context"] = context or ToolContext(run_id=idempotency_key)
        return await self.handler(pool, principal, request, **injected)


def _forbidding_extras(model: type[BaseModel]) -> type[BaseModel]:
    """The request model, refusing fields it does not define. A misspelt filter
    (`category` for `categories`) must fail naming the field: silently dropped, it would
    answer a different question with a confident, correct-looking number."""
    if model.model_config.get("extra") == "forbid":
        return model
    return type(
        model.__name__,
        (model,),
        {
            "model_config": ConfigDict(extra="forbid"),
            "__module__": model.__module__,
            "__doc__": model.__doc__,
        },
    )


def tool(handler: Handler, *, mutating: bool = False, name: str | None = None) -> Tool:
    """Declare `handler(pool, principal, request[, *, idempotency_key][, context])` as a tool."""
    tool_name = name or handler.__name__
    where = f"{handler.__module__}.{handler.__qualname__}"
    if not _NAME.match(tool_name):
        raise ToolDeclarationError(f"{where}: tool name {tool_name!r} is not [a-zA-Z0-9_-]{{1,64}}")
    hints = typing.get_type_hints(handler)
    parameters = list(inspect.signature(handler).parameters.values())
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    if len(positional) != 3 or hints.get(positional[1].name) is not Principal:
        raise ToolDeclarationError(f"{where}: expected (pool, principal: Principal, request)")
    input_model = hints.get(positional[2].name)
    output_model = hints.get("return")
    for label, model in (("request", input_model), ("return", output_model)):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ToolDeclarationError(f"{where}: the {label} type must be a pydantic model")
    keyword_only = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}
    takes_key = "idempotency_key" in keyword_only
    if mutating != takes_key:
        raise ToolDeclarationError(
            f"{where}: a mutating tool's handler must take `idempotency_key`, and only it"
        )
    description = inspect.getdoc(handler)
    if not description:
        raise ToolDeclarationError(f"{where}: a tool needs a docstring to describe it")
    assert input_model is not None and output_model is not None
    return Tool(
        name=tool_name,
        description=description,
        input_model=_forbidding_extras(input_model),
        output_model=output_model,
        handler=handler,
        mutating=mutating,
        takes_context="context" in keyword_only,
    )


@cache
def _definition(name: str, description: str, input_model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "input_schema": input_model.model_json_schema(),
    }
