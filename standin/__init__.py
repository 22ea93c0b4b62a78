"""A deterministic stand-in for the Anthropic Messages API, for tests and offline demos.

It is not a language model: every answer follows documented rules (see `_policy` and
docs/offline-model.md), so a test can predict it exactly. It speaks the wire format the
real `anthropic` SDK expects, including errors, headers, usage and thinking signatures, and
can inject the faults a production client must survive.
"""

from __future__ import annotations

from standin._config import OfflineModelConfig
from standin._faults import FaultSpec, parse_faults
from standin._policy import (
    PolicyReply,
    ReplyText,
    ReplyToolUse,
    Scenario,
    ToolCall,
    ToolResult,
    generic_policy,
    last_tool_results,
    new_tool_use_id,
    offered_tools,
    register_scenario,
    registered_scenarios,
    scenario_marker,
    tool_calls_so_far,
    unregister_scenario,
    user_text,
)
from standin._runner import OfflineModelServer, serve
from standin._schema import synthesize
from standin._server import create_app
from standin._wire import MessagesRequest

__all__ = [
    "FaultSpec",
    "MessagesRequest",
    "OfflineModelConfig",
    "OfflineModelServer",
    "PolicyReply",
    "ReplyText",
    "ReplyToolUse",
    "Scenario",
    "ToolCall",
    "ToolResult",
    "create_app",
    "generic_policy",
    "last_tool_results",
    "new_tool_use_id",
    "offered_tools",
    "parse_faults",
    "register_scenario",
    "registered_scenarios",
    "scenario_marker",
    "serve",
    "synthesize",
    "tool_calls_so_far",
    "unregister_scenario",
    "user_text",
]
