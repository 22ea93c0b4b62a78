"""The typed form of `registry.toml`: what a request to one model may carry.

Loaded once and validated strictly (unknown keys, impossible combinations), so a typo in the
data fails at import instead of shaping a request the API refuses.
"""

from __future__ import annotations

import tomllib
import warnings
from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Effort = Literal["low", "medium", "high", "xhigh", "max"]
EFFORTS: tuple[Effort, ...] = ("low", "medium", "high", "xhigh", "max")
ThinkingForm = Literal["adaptive", "enabled", "disabled", "between_tools"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThinkingRules(_Strict):
    default: Literal["adaptive", "off"]
    forms: tuple[ThinkingForm, ...]
    disabled_efforts: tuple[Effort, ...] | None = None
    between_tools_efforts: tuple[Effort, ...] | None = None
    budget: int | None = Field(default=None, ge=1024)
    display: tuple[Literal["omitted", "summarized"], ...] = ()
    text_between_tools: Literal["text", "thinking"] = "text"
    prefix_bound: bool = False
    account_bound: bool = False
    reads_from: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ThinkingRules:
        if "enabled" in self.forms and self.budget is None:
            raise ValueError("a model with budget thinking needs `budget`")
        if self.default == "adaptive" and "adaptive" not in self.forms:
            raise ValueError("default adaptive thinking must be an accepted form")
        return self


class EffortRules(_Strict):
    levels: tuple[Effort, ...]
    default: Effort


class PriceRow(_Strict):
    """USD per million tokens."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


class PriceTier(PriceRow):
    above_prompt: int = Field(gt=0)


class Prices(PriceRow):
    batch_discount: float = Field(default=0.5, ge=0, le=1)
    tiers: tuple[PriceTier, ...] = ()

    def row_for(self, prompt_tokens: int) -> PriceRow:
        """The row a request pays: the highest tier its prompt is above, else the base."""
        row: PriceRow = self
        for tier in sorted(self.tiers, key=lambda t: t.above_prompt):
            if prompt_tokens > tier.above_prompt:
                row = tier
        return row


class ModelProfile(_Strict):
    id: str
    aliases: tuple[str, ...] = ()
    display_name: str
    family: str
    context_window: int
    max_output: int
    min_cache_tokens: int
    thinking: ThinkingRules
    effort: EffortRules | None = None
    forced_tool_choice: bool
    sampling: Literal["omit", "one_of"]
    prefill: bool
    structured_outputs: bool
    refusals: bool
    released: date | None = None
    retired_on: date | None = None
    prices: Prices | None = None
    sources: tuple[str, ...] = ()
    notes: str = ""
    known: bool = Field(default=True, description="False for the conservative fallback.")

    def retired(self, today: date | None = None) -> bool:
        return self.retired_on is not None and (today or date.today()) >= self.retired_on

    @property
    def efforts(self) -> tuple[Effort, ...]:
        return self.effort.levels if self.effort else ()

    def thinking_off_allowed(self, effort: Effort | None) -> bool:
        """Whether `{"type": "disabled"}` is accepted at `effort` (None: the default)."""
        if "disabled" not in self.thinking.forms:
            return False
        allowed = self.thinking.disabled_efforts
        return allowed is None or (effort or self._default_effort()) in allowed

    def between_tools_allowed(self, effort: Effort | None) -> bool:
        if "between_tools" not in self.thinking.forms:
            return False
        allowed = self.thinking.between_tools_efforts
        return allowed is None or (effort or self._default_effort()) in allowed

    def _default_effort(self) -> Effort | None:
        return self.effort.default if self.effort else None


class _Registry(_Strict):
    model: tuple[ModelProfile, ...]


# Sends only what every current model accepts: no thinking field, effort, sampling, prefill,
# forced tool choice or output format; a max_tokens every model allows.
CONSERVATIVE = ModelProfile(
    id="(unknown)",
    display_name="unknown model (conservative profile)",
    family="unknown",
    context_window=200_000,
    max_output=8_192,
    min_cache_tokens=4_096,
    thinking=ThinkingRules(default="off", forms=(), prefix_bound=True),
    forced_tool_choice=False,
    sampling="omit",
    prefill=False,
    structured_outputs=False,
    refusals=True,
    known=False,
)


@cache
def registry() -> dict[str, ModelProfile]:
    """Every known model by id and alias."""
    text = (resources.files("ledgerd.model_registry") / "registry.toml").read_text()
    models = _Registry.model_validate(tomllib.loads(text)).model
    by_id: dict[str, ModelProfile] = {}
    for profile in models:
        for name in (profile.id, *profile.aliases):
            if name in by_id:
                raise ValueError(f"registry.toml names {name!r} twice")
            by_id[name] = profile
    return by_id


def known_models() -> list[ModelProfile]:
    """Each model once, in the file's order."""
    seen: dict[str, ModelProfile] = {}
    for profile in registry().values():
        seen.setdefault(profile.id, profile)
    return list(seen.values())


def profile_for(model: str) -> ModelProfile:
    """The model's profile; an unknown id gets the conservative one (with a warning once)."""
    found = registry().get(model)
    if found is not None:
        return found
    _warn_unknown(model)
    return CONSERVATIVE.model_copy(update={"id": model})


@cache
def _warn_unknown(model: str) -> None:
    warnings.warn(
        f"model {model!r} is not in ledgerd's model registry: sending only what every current "
        "model accepts (no thinking, effort or forced tool choice; max_tokens 8192). Add it to "
        "ledgerd/model_registry/registry.toml with its doc page.",
        UnknownModelWarning,
        stacklevel=3,
    )


class UnknownModelWarning(UserWarning):
    pass
