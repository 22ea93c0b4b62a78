"""`act`: one executor turn. The conversation is read from PostgreSQL and the reply appended
there; only the tool calls and usage go back into workflow history.

A reply that was cut off (`max_tokens`, or the context window filling up) runs no tool: its
last call may hold partial input, and a half-written `upsert_vendor` must never reach the
books. Each of its calls is answered with an error result instead, so the conversation stays
valid and the model can ask again, briefly.
"""

from __future__ import annotations

from temporalio import activity

from activities._model_client import converse, summary_text
from ledgerd import transcript
from ledgerd.contracts import ModelTurn, ModelTurnRequest, ToolCall
from ledgerd.daemons import daemon_spec
from ledgerd.prompts import load_prompt
from ledgerd.runtime import dependencies
from tools import toolset

CUT_OFF = (
    "Not run: your reply was cut off at max_tokens before this call was complete. "
    "Be brief, and call it again if it is still needed."
)


@activity.defn(name="model_turn")
async def model_turn(request: ModelTurnRequest) -> ModelTurn:
    deps = dependencies()
    spec = daemon_spec(request.daemon)
    prompt = load_prompt(request.prompt)
    tools = [t.anthropic_definition() for t in toolset(*request.tools).values()]
    if request.answer_tool:
        tools.append(spec.respond_tool())
    reply = await converse(
        deps.settings,
        deps.pool,
        ref=request.ref,
        turn=request.turn,
        role=request.role.value,
        prompt=prompt,
        tools=tools,
    )
    calls = [
        ToolCall(id=block["id"], name=block["name"], input=dict(block.get("input") or {}))
        for block in reply.tool_uses()
    ]
    if calls and not reply.complete:
        await transcript.append_all(
            deps.pool,
            request.ref,
            *(
                transcript.Entry(
                    request.turn,
                    position,
                    "user",
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": c.id,
                            "is_error": True,
                            "content": CUT_OFF,
                        }
                    ],
                )
                for position, c in enumerate(calls, start=1)
            ),
        )
        calls = []
    return ModelTurn(
        stop_reason=reply.stop_reason,
        text=summary_text(reply.content),
        tool_calls=calls,
        usage=reply.usage,
        model=reply.model,
        prompt_version=prompt.version,
        refusal_category=str((reply.stop_details or {}).get("category") or "")
        if reply.stop_reason == "refusal"
        else None,
    )
