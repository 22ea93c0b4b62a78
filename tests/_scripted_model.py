"""Scripted executor turns for loop tests, served by a real offline-model server.

A script replaces only the executor's replies (turn n = the n-th executor request); the
planner and the judge keep the shipped vendor-hydration scenario. The daemon under test
still talks to the stand-in over HTTP through the real anthropic SDK.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ledgerd.config import load_settings
from ledgerd.runtime import Dependencies, open_dependencies
from standin import (
    MessagesRequest,
    OfflineModelConfig,
    OfflineModelServer,
    PolicyReply,
    ReplyToolUse,
    parse_faults,
)
from standin.scenarios._conversation import prompt_header, results

Turn = Callable[[MessagesRequest], Sequence[tuple[str, dict[str, Any]]]]


def calls(*pairs: tuple[str, dict[str, Any]]) -> Turn:
    return lambda request: pairs


@dataclass(frozen=True)
class ExecutorScript:
    turns: Sequence[Turn]
    name: str = "scripted_executor"

    def matches(self, request: MessagesRequest) -> bool:
        header = prompt_header(request)
        return header.get("role") == "executor"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        done = sum(1 for m in request.messages if m.role == "assistant")
        turn = self.turns[min(done, len(self.turns) - 1)]
        return PolicyReply(tuple(ReplyToolUse(name, args) for name, args in turn(request)))


@dataclass(frozen=True)
class RoleScript:
    """Replies for one role of one daemon, computed from the request (e.g. a planner that
    answers a `Re-plan:` message differently from the first request)."""

    daemon: str
    role: str
    reply: Callable[[MessagesRequest], Sequence[tuple[str, dict[str, Any]]]]
    name: str = "scripted_role"

    def matches(self, request: MessagesRequest) -> bool:
        header = prompt_header(request)
        return header.get("daemon") == self.daemon and header.get("role") == self.role

    def respond(self, request: MessagesRequest) -> PolicyReply:
        return PolicyReply(tuple(ReplyToolUse(name, args) for name, args in self.reply(request)))


def last_results(request: MessagesRequest) -> list[tuple[str, Any, bool]]:
    return [(call.name, parsed, is_error) for call, parsed, is_error in results(request)]


@asynccontextmanager
async def scripted_deps(
    pg_url: str,
    script: ExecutorScript | RoleScript,
    *more: RoleScript,
    faults: Sequence[dict[str, Any]] = (),
) -> AsyncIterator[Dependencies]:
    scenarios = (script, *more)
    config = OfflineModelConfig(scenarios=scenarios, faults=tuple(parse_faults(list(faults))))
    async with OfflineModelServer(config, port=0) as server:
        deps = await open_dependencies(
            load_settings(database_url=pg_url, offline_model_port=server.port)
        )
        try:
            yield deps
        finally:
            await deps.close()
