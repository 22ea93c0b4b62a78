"""The baseline of the overhead benchmark: a minimal agent loop written directly on Temporal.

A workflow alternates a model activity and tool activities, as anyone would write it first;
the conversation is held outside history (in this worker's memory), so history carries only
the tool calls. It calls the same model (the same request fields, streamed through the same
client) and runs the same platform tool as the daemon loop: what differs between the two is
only what ledgerd adds (the transcript in PostgreSQL, idempotent turns, cost rows, model
task queues, the guardrail and notifications).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from activities._model_client import call_model, content_blocks
    from ledgerd.daemons import daemon_spec
    from ledgerd.model_registry import request_fields, shape_for
    from ledgerd.prompts import load_prompt
    from ledgerd.runtime import dependencies
    from tools import toolset

DAEMON = "vendor_hydration"
# Conversations by workflow id: the "outside history" store of the baseline. It lives as long
# as the benchmark's worker process, which is all the baseline promises.
CONVERSATIONS: dict[str, list[dict[str, Any]]] = {}
# What a hand-written loop computes once: the system prompt and the tool definitions.
_SPEC = daemon_spec(DAEMON)
_SYSTEM = load_prompt(_SPEC.prompt("executor")).text
_TOOLS = [
    {"name": t.name, "description": t.description, "input_schema": t.input_schema()}
    for t in toolset(*_SPEC.tools).values()
] + [_SPEC.respond_tool()]
# Milliseconds of each model call by (workflow id, turn), for the per-turn overhead figure.
ROUND_TRIPS: dict[tuple[str, int], int] = {}


class RawRequest(BaseModel):
    task: str
    principal: Principal


class RawTurn(BaseModel):
    conversation: str
    turn: int
    task: str


class RawCall(BaseModel):
    id: str
    name: str
    input: dict[str, Any]


class RawReply(BaseModel):
    calls: list[RawCall]


class RawToolRequest(BaseModel):
    conversation: str
    call: RawCall
    principal: Principal


@activity.defn(name="raw_model_turn")
async def raw_model_turn(request: RawTurn) -> RawReply:
    settings = dependencies().settings
    messages = CONVERSATIONS.setdefault(
        request.conversation,
        [{"role": "user", "content": [{"type": "text", "text": request.task}]}],
    )
    shape = shape_for(settings.role_settings("executor"))
    fields = request_fields(shape, system=_SYSTEM, messages=messages, tools=_TOOLS)
    message, latency = await call_model(settings, fields, shape.deadline_seconds)
    ROUND_TRIPS[(request.conversation, request.turn)] = latency
    content = content_blocks(message)
    messages.append({"role": "assistant", "content": content})
    return RawReply(
        calls=[
            RawCall(id=b["id"], name=b["name"], input=dict(b.get("input") or {}))
            for b in content
            if b.get("type") == "tool_use"
        ]
    )


@activity.defn(name="raw_tool")
async def raw_tool(request: RawToolRequest) -> str:
    tool = toolset(request.call.name)[request.call.name]
    result = await tool.invoke(
        dependencies().pool, request.principal, request.call.input, request.call.id
    )
    block = {
        "type": "tool_result",
        "tool_use_id": request.call.id,
        "content": result.model_dump_json(),
    }
    messages = CONVERSATIONS[request.conversation]
    if messages[-1]["role"] != "user":
        messages.append({"role": "user", "content": []})
    messages[-1]["content"].append(block)
    return type(result).__name__


@workflow.defn(name="RawLoop")
class RawLoop:
    @workflow.run
    async def run(self, request: RawRequest) -> int:
        conversation = workflow.info().workflow_id
        turn = 0
        while True:
            turn += 1
            reply = await workflow.execute_activity(
                raw_model_turn,
                RawTurn(conversation=conversation, turn=turn, task=request.task),
                start_to_close_timeout=timedelta(minutes=5),
            )
            calls = [c for c in reply.calls if c.name != "respond"]
            if not calls:
                return turn
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        raw_tool,
                        RawToolRequest(
                            conversation=conversation, call=c, principal=request.principal
                        ),
                        start_to_close_timeout=timedelta(seconds=60),
                    )
                    for c in calls
                )
            )


def forget(conversation: str) -> None:
    CONVERSATIONS.pop(conversation, None)


def now_ms() -> float:
    return time.perf_counter() * 1000
