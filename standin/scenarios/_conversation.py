"""Reading a whole conversation, for scenarios that act on everything their tools returned."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledgerd.injection import unwrap
from standin._policy import PolicyReply, ReplyText, ToolCall, tool_calls_so_far
from standin._wire import MessagesRequest, ToolResultBlock

_ROLE = re.compile(r"^\s*(daemon|role):\s*(\S+)\s*$", re.MULTILINE)


def prompt_header(request: MessagesRequest) -> dict[str, str]:
    """The `daemon:` and `role:` lines ledgerd's prompt files start with."""
    return dict(_ROLE.findall(request.system_text()))


def results(request: MessagesRequest) -> list[tuple[ToolCall, Any, bool]]:
    """Every (call, parsed result, is_error) so far, in conversation order."""
    calls = {call.id: call for call in tool_calls_so_far(request)}
    found: list[tuple[ToolCall, Any, bool]] = []
    for message in request.messages:
        if message.role != "user":
            continue
        for block in message.blocks():
            if isinstance(block, ToolResultBlock) and block.tool_use_id in calls:
                # Read through the data marking, as a model reads what is inside the tags.
                text = unwrap(block.text())
                try:
                    parsed: Any = json.loads(text)
                except json.JSONDecodeError:
                    parsed = text
                found.append((calls[block.tool_use_id], parsed, block.is_error))
    return found


def latest(found: list[tuple[ToolCall, Any, bool]], tool: str) -> Any:
    """The last successful result of `tool`, or None."""
    for call, parsed, is_error in reversed(found):
        if call.name == tool and not is_error:
            return parsed
    return None


@dataclass(frozen=True)
class DaemonScript:
    """A daemon's script: one reply function per role named in ledgerd's prompt header."""

    name: str
    roles: Mapping[str, Callable[[MessagesRequest], PolicyReply]]

    def matches(self, request: MessagesRequest) -> bool:
        return prompt_header(request).get("daemon") == self.name

    def respond(self, request: MessagesRequest) -> PolicyReply:
        role = prompt_header(request).get("role", "")
        reply = self.roles.get(role)
        return reply(request) if reply else PolicyReply((ReplyText(f"unknown role {role!r}"),))
