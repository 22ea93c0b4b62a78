"""docs/models.md, generated from the registry so the table can never drift from the data.

`ledgerd models --markdown > docs/models.md` rewrites it; a test fails when it is stale.
"""

from __future__ import annotations

from ledgerd.model_registry._profile import ModelProfile, known_models
from ledgerd.model_registry._request import RoleSettings, role_problems, shape_for

_ROLES = ("planner", "executor", "judge")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _price(profile: ModelProfile) -> str:
    p = profile.prices
    if p is None:
        return "—"
    text = (
        f"${p.input:g} / ${p.output:g}; writes ${p.cache_write_5m:g} (5m), "
        f"${p.cache_write_1h:g} (1h); reads ${p.cache_read:g}"
    )
    for tier in p.tiers:
        text += (
            f"; prompts over {tier.above_prompt:,}: ${tier.input:g} / ${tier.output:g}, "
            f"writes ${tier.cache_write_5m:g} / ${tier.cache_write_1h:g}, reads ${tier.cache_read:g}"
        )
    return text


def _thinking(profile: ModelProfile) -> str:
    t = profile.thinking
    forms = []
    for form in t.forms:
        efforts = {"disabled": t.disabled_efforts, "between_tools": t.between_tools_efforts}.get(
            form
        )
        label = "budget" if form == "enabled" else form
        forms.append(f"{label} (effort {', '.join(efforts)})" if efforts else label)
    return f"default {t.default}; accepts {', '.join(forms) or 'nothing'}"


def _sent(profile: ModelProfile, role: str) -> str:
    settings = RoleSettings(role=role, model=profile.id)  # type: ignore[arg-type]
    if role_problems(settings):
        return "not usable (retired)" if profile.retired() else "not usable"
    # The planner's plan has open objects (each step's tool input); the verdict does not.
    return shape_for(
        settings, structured_answer=role != "executor", free_form=role == "planner"
    ).describe()


def models_markdown() -> str:
    rows = [
        "# Supported models",
        "",
        "Generated from `ledgerd/model_registry/registry.toml` by `uv run ledgerd models "
        "--markdown > docs/models.md`; a test fails when this file is stale. Prices are USD per "
        "million tokens (input / output). Every entry cites its doc pages in the registry.",
        "",
        "| model | thinking | effort (default) | forced tool choice | sampling | prefill | "
        "structured outputs | context / max output | min cacheable | prices | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in known_models():
        ids = " ".join(f"`{i}`" for i in (p.id, *p.aliases))
        effort = f"{', '.join(p.efforts)} ({p.effort.default})" if p.effort else "not accepted"
        sampling = "omit (non-default refused)" if p.sampling == "omit" else "temperature or top_p"
        status = f"retired {p.retired_on}" if p.retired() else "current"
        rows.append(
            f"| {ids} | {_thinking(p)} | {effort} | {_yes(p.forced_tool_choice)} | {sampling} | "
            f"{_yes(p.prefill)} | {_yes(p.structured_outputs)} | "
            f"{p.context_window:,} / {p.max_output:,} | {p.min_cache_tokens:,} | {_price(p)} | "
            f"{status} |"
        )
    rows += [
        "",
        "## What ledgerd sends to each model, per role",
        "",
        "With the role's settings left at their defaults (`LEDGERD_<ROLE>_EFFORT`, "
        "`LEDGERD_<ROLE>_THINKING` and `LEDGERD_<ROLE>_MAX_TOKENS` unset). The planner and the "
        "judge answer in a structure: by forced tool choice where the model allows it and "
        "thinking is not wanted, else by structured outputs (`output_config.format`), else by "
        "the tool offered with `auto`; an unusable answer is sent back with what was wrong, up to two repairs.",
        "",
        "| model | planner | executor | judge |",
        "|---|---|---|---|",
    ]
    for p in known_models():
        cells = " | ".join(_sent(p, role) for role in _ROLES)
        rows.append(f"| `{p.id}` | {cells} |")
    rows += ["", "## Sources and notes", ""]
    for p in known_models():
        rows.append(f"- **{p.display_name}** (`{p.id}`): " + ", ".join(p.sources))
        if p.notes:
            rows.append(f"  {' '.join(p.notes.split())}")
    rows += [
        "",
        "An id that is not in the registry gets a conservative profile (no thinking field, no "
        "effort, no forced tool choice or output format, max_tokens 8,192) and a warning.",
        "",
    ]
    return "\n".join(rows)
