"""`respond`: the model's final answer, validated against the daemon's output schema.

An invalid answer is not an exception: it goes back to the model as an error `tool_result`
naming each wrong field, and the workflow decides (bounded) whether to ask again.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError
from temporalio import activity

from activities.tool_call import describe_validation
from ledgerd import transcript
from ledgerd.contracts import AnswerCheck, RunRef, ToolCall
from ledgerd.daemons import daemon_spec
from ledgerd.runtime import dependencies

IGNORED = "Ignored: respond was called more than once in one reply; only the first counts."


class AnswerRequest(BaseModel):
    ref: RunRef
    turn: int
    position: int
    call: ToolCall
    daemon: str
    ignored: dict[str, int] = Field(
        default_factory=dict,
        description="Further respond calls of the same turn (tool_use id -> position): only "
        "the first answer is read, but each call must get its tool_result.",
    )


@activity.defn(name="validate_answer")
async def validate_answer(request: AnswerRequest) -> AnswerCheck:
    spec = daemon_spec(request.daemon)
    try:
        answer = spec.output_model.model_validate(request.call.input)
    except ValidationError as error:
        check = AnswerCheck(valid=False, error=describe_validation("respond", error))
    else:
        check = AnswerCheck(valid=True, answer=answer.model_dump(mode="json"))
    block: dict[str, object] = {
        "type": "tool_result",
        "tool_use_id": request.call.id,
        "content": "Answer received." if check.valid else f"{check.error}. Call respond again.",
    }
    if not check.valid:
        block["is_error"] = True
    entries = [transcript.Entry(request.turn, request.position, "user", [block])]
    for use_id, position in request.ignored.items():
        ignored = {"type": "tool_result", "tool_use_id": use_id, "is_error": True}
        entries.append(
            transcript.Entry(request.turn, position, "user", [{**ignored, "content": IGNORED}])
        )
    await transcript.append_all(dependencies().pool, request.ref, *entries)
    return check
