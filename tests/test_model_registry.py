"""The model registry: the data, what each role sends each model, prices and the docs table.

The central check is the last one of the first group: for every model in the registry and
every role the configuration allows, the request ledgerd builds is sent through the real SDK
to the stand-in, whose contract refuses what the real API refuses for that exact model.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import anthropic
import pytest

from activities.guardrails import SUBMIT_VERDICT
from activities.planning import SUBMIT_PLAN
from ledgerd.config import ConfigError, load_settings
from ledgerd.contracts import Usage
from ledgerd.model_registry import (
    AnswerMode,
    RoleSettings,
    UnknownModelWarning,
    estimate_cost,
    known_models,
    models_markdown,
    profile_for,
    registry,
    request_fields,
    role_problems,
    shape_for,
)
from standin import OfflineModelServer

ROLES = ("planner", "executor", "judge")
CURRENT = [p.id for p in known_models() if not p.retired()]
DOCS = Path(__file__).parents[1] / "docs" / "models.md"


def test_every_entry_cites_its_doc_pages_and_aliases_resolve() -> None:
    for profile in known_models():
        assert profile.sources, profile.id
        assert all(s.startswith("https://platform.claude.com/docs/") for s in profile.sources)
    assert registry()["claude-haiku-4-5-20251001"].id == "claude-haiku-4-5"
    assert {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5",
            "claude-sonnet-5", "claude-haiku-4-5", "claude-sonnet-4-5"} <= set(registry())  # fmt: skip


def test_an_unknown_model_gets_the_conservative_profile_and_a_warning() -> None:
    with pytest.warns(UnknownModelWarning, match="claude-future-9"):
        profile = profile_for("claude-future-9")
    assert not profile.known
    shape = shape_for(RoleSettings(role="judge", model="claude-future-9"), structured_answer=True)
    assert shape.thinking is None and shape.effort is None
    assert shape.answer_mode is AnswerMode.AUTO_TOOL
    assert shape.max_tokens == 8_192


@pytest.mark.parametrize(
    ("role", "model", "thinking", "mode"),
    [
        ("planner", "claude-opus-5-5", "adaptive", AnswerMode.AUTO_TOOL),  # plan inputs are open
        ("judge", "claude-haiku-5-5", None, AnswerMode.FORCED_TOOL),  # allowed and cheaper
        ("judge", "claude-sonnet-5-5", "adaptive", AnswerMode.JSON_SCHEMA),  # forcing refused
        ("judge", "claude-opus-5-5", "adaptive", AnswerMode.JSON_SCHEMA),
        ("judge", "claude-haiku-4-5", None, AnswerMode.FORCED_TOOL),
        ("executor", "claude-sonnet-5-5", "adaptive", None),
        ("executor", "claude-haiku-4-5", None, None),
    ],
)
def test_what_each_role_sends(
    role: str, model: str, thinking: str | None, mode: AnswerMode | None
) -> None:
    answer = {"planner": SUBMIT_PLAN, "judge": SUBMIT_VERDICT}.get(role)
    shape = shape_for(RoleSettings(role=role, model=model), answer=answer)  # type: ignore[arg-type]
    assert (shape.thinking or {}).get("type") == thinking
    assert shape.answer_mode is mode
    assert shape.max_tokens <= profile_for(model).max_output


def test_settings_a_model_cannot_honour_fail_at_start_up() -> None:
    cases = {
        "planner_effort": ("claude-haiku-4-5", "low", "does not take that effort"),
        "executor_thinking": ("claude-sonnet-5-5", "off", "between_tools"),
        "judge_thinking": ("claude-opus-5-5", "off", "always on"),
    }
    for field, (model, value, words) in cases.items():
        role = field.split("_")[0]
        overrides: dict[str, Any] = {f"{role}_model": model, field: value}
        if role == "judge":
            overrides["executor_model"] = "claude-sonnet-5"
        with pytest.raises(ConfigError, match=words) as caught:
            load_settings(**overrides)
        assert f"LEDGERD_{field.upper()}" in str(caught.value)
    with pytest.raises(ConfigError, match="retired on 2026-11-30"):
        load_settings(planner_model="claude-sonnet-4-5")
    with pytest.raises(ConfigError, match="must exceed the thinking budget"):
        load_settings(
            executor_model="claude-haiku-4-5", executor_thinking="on", executor_max_tokens=2048
        )


def test_a_replaced_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERD_PLANNER_THINKING_TOKENS", "2048")
    with pytest.raises(ConfigError, match="LEDGERD_PLANNER_THINKING_TOKENS is no longer read"):
        load_settings()


def _every_allowed_role() -> list[tuple[str, str, dict[str, Any]]]:
    """(model, role, settings) for every model and role, with each thinking setting the
    model accepts there, as configuration would allow them."""
    cases = []
    for model in CURRENT:
        for role in ROLES:
            for thinking in (None, "on", "off", "between_tools"):
                settings = RoleSettings(role=role, model=model, thinking=thinking)  # type: ignore[arg-type]
                if not role_problems(settings):
                    cases.append((model, role, {"thinking": thinking}))
    return cases


@pytest.mark.parametrize(("model", "role", "extra"), _every_allowed_role())
async def test_every_request_ledgerd_builds_is_accepted_for_its_model(
    model_server: OfflineModelServer, model: str, role: str, extra: dict[str, Any]
) -> None:
    settings = RoleSettings(role=role, model=model, **extra)  # type: ignore[arg-type]
    answer = {"planner": SUBMIT_PLAN, "judge": SUBMIT_VERDICT}.get(role)
    shape = shape_for(settings, answer=answer)
    tool: Any = {"name": "search_vendors", "input_schema": {"type": "object", "properties": {}}}
    fields = request_fields(
        shape,
        system="daemon: none\nrole: test\nYou help.",
        messages=[{"role": "user", "content": [{"type": "text", "text": "go"}]}],
        tools=[] if answer else [tool],
        answer=answer,
    )
    async with (
        anthropic.AsyncAnthropic(
            base_url=model_server.base_url, api_key="test", max_retries=0
        ) as client,
        client.messages.stream(**fields) as stream,
    ):
        message = await stream.get_final_message()
    assert message.model == model


def test_tiered_and_one_hour_prices() -> None:
    small = Usage(input_tokens=90_000, output_tokens=1_000, cache_read_tokens=10_000)
    large = Usage(input_tokens=90_000, output_tokens=1_000, cache_read_tokens=10_001)
    cost_small, priced = estimate_cost("claude-haiku-5-5", small)
    cost_large, _ = estimate_cost("claude-haiku-5-5", large)
    assert priced
    # Up to 100,000 prompt tokens: $0.10 in, $0.50 out, $0.01 reads; above, five times each.
    assert cost_small == pytest.approx((90_000 * 0.10 + 1_000 * 0.50 + 10_000 * 0.01) / 1e6)
    assert cost_large == pytest.approx((90_000 * 0.50 + 1_000 * 2.50 + 10_001 * 0.05) / 1e6)
    writes = Usage(cache_creation_tokens=1_000_000, cache_creation_1h_tokens=400_000)
    assert estimate_cost("claude-opus-5-5", writes)[0] == pytest.approx(
        600_000 * 5e-6 + 400_000 * 8e-6
    )
    assert estimate_cost("claude-sonnet-4-5", Usage(output_tokens=1000))[0] == pytest.approx(0.015)
    assert estimate_cost("claude-unknown", Usage(output_tokens=1000)) == (0.0, False)


def test_docs_models_md_is_generated_from_the_registry() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert DOCS.read_text() == models_markdown() + "\n", (
            "docs/models.md is stale: run `uv run ledgerd models --markdown > docs/models.md`"
        )


def _marks(fields: dict[str, Any]) -> int:
    found = sum("cache_control" in t for t in fields.get("tools", []))
    found += sum("cache_control" in b for b in fields["system"])
    found += sum("cache_control" in b for m in fields["messages"] for b in m["content"])
    return found


def test_prefixes_are_marked_for_caching_only_where_they_reach_the_minimum() -> None:
    judge = shape_for(RoleSettings(role="judge", model="claude-haiku-5-5"), structured_answer=True)
    short = [{"role": "user", "content": [{"type": "text", "text": "Review this."}]}]
    # A judge's brief: system prompt and one short message, below Haiku 5.5's 512 tokens.
    assert (
        _marks(
            request_fields(
                judge, system="Judge it.", messages=short, tools=[], answer=SUBMIT_VERDICT
            )
        )
        == 0
    )
    executor = shape_for(RoleSettings(role="executor", model="claude-sonnet-5-5"))
    tools: list[dict[str, Any]] = [
        {"name": f"tool_{n}", "description": "x" * 800, "input_schema": {"type": "object"}}
        for n in range(4)
    ]
    fields = request_fields(executor, system="You hydrate vendors.", messages=short, tools=tools)
    # Tools, system and the conversation so far: three breakpoints of the four allowed.
    assert _marks(fields) == 3
    assert "cache_control" in fields["messages"][-1]["content"][-1]
    assert "cache_control" not in short[-1]["content"][-1]  # the caller's list is untouched
