"""`act`: one executor turn. The conversation is read from PostgreSQL and the reply appended
there; only the tool calls and usage go back into workflow history."""

from __future__ import annotations

from anthropic.types import Message
from temporalio import activity

from activities._model_client import call_model, content_blocks, record_call, usage_of
from ledgerd import transcript
from ledgerd.contracts import ModelTurn, ModelTurnRequest, ToolCall
from ledgerd.daemons import daemon_spec
from ledgerd.prompts import load_prompt
from ledgerd.runtime import dependencies
from tools import toolset


def _summary_text(message: Message) -> str:
    text = " ".join(block.text for block in message.content if block.type == "text")
    return text[:300]


@activity.defn(name="model_turn")
async def model_turn(request: ModelTurnRequest) -> ModelTurn:
    deps = dependencies()
    spec = daemon_spec(request.daemon)
    prompt = load_prompt(request.prompt)
    tools = [t.anthropic_definition() for t in toolset(*request.tools).values()]
    if request.answer_tool:
        tools.append(spec.respond_tool())
    messages = await transcript.messages(deps.pool, request.ref)
    message, latency = await call_model(
        deps.settings, role=request.role.value, prompt=prompt, messages=messages, tools=tools
    )
    await transcript.append(
        deps.pool, request.ref, request.turn, 0, "assistant", content_blocks(message)
    )
    await record_call(
        deps.pool, request.ref, request.turn, request.role.value, prompt, message, latency
    )
    return ModelTurn(
        stop_reason=message.stop_reason or "end_turn",
        text=_summary_text(message),
        tool_calls=[
            ToolCall(id=block.id, name=block.name, input=dict(block.input))
            for block in message.content
            if block.type == "tool_use"
        ],
        usage=usage_of(message),
        model=message.model,
        prompt_version=prompt.version,
    )
