"""Configuration of the offline stand-in, from code or from `LEDGERD_OFFLINE_*` variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from standin._faults import FaultSpec, parse_faults

if TYPE_CHECKING:
    from standin._policy import Scenario

ENV_FAULTS = "LEDGERD_OFFLINE_FAULTS"
ENV_LATENCY_MS = "LEDGERD_OFFLINE_LATENCY_MS"
ENV_FAULT_RATE = "LEDGERD_OFFLINE_FAULT_RATE"
ENV_FAULT_SEED = "LEDGERD_OFFLINE_FAULT_SEED"
ENV_MISBEHAVE = "LEDGERD_OFFLINE_MISBEHAVE"


@dataclass(frozen=True)
class OfflineModelConfig:
    """How the stand-in behaves; every field has a safe default (no faults, no delay).

    `scenarios` are consulted before the globally registered ones, so a test can add a
    scenario to one server without touching the process-wide registry.
    """

    faults: tuple[FaultSpec, ...] = ()
    latency_ms: int = 0
    fault_rate: float = 0.0
    seed: int = 0
    random_fault_statuses: tuple[int, ...] = (429, 500, 529)
    record_limit: int = 100
    cache_min_tokens: int | None = None  # None: each model's own minimum, from the registry
    scenarios: tuple[Scenario, ...] = ()
    # A fault mode the daemons' scripts apply (scenarios/_misbehave.py): `MODE` or
    # `MODE:daemon,daemon`. None: the scripts answer as well as they can.
    misbehave: str | None = None
    # `/_control/*` returns every recorded prompt: on for in-process servers (tests), off for
    # the standalone process unless LEDGERD_OFFLINE_CONTROL=1 (docs/security.md).
    control: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if self.record_limit < 0:
            raise ValueError(f"record_limit must be >= 0, got {self.record_limit}")
        if self.misbehave is not None:
            from standin.scenarios._misbehave import Misbehaviour

            Misbehaviour.parse(self.misbehave)  # an unknown mode fails here, naming it

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OfflineModelConfig:
        """Read `LEDGERD_OFFLINE_*`; a bad value fails here, naming the variable."""
        env = os.environ if environ is None else environ
        faults: tuple[FaultSpec, ...] = ()
        if env.get(ENV_FAULTS):
            try:
                faults = tuple(parse_faults(json.loads(env[ENV_FAULTS])))
            except (ValueError, ValidationError) as error:
                raise ValueError(f"{ENV_FAULTS}: {error}") from None
        misbehave = env.get(ENV_MISBEHAVE) or None
        try:
            return cls(
                faults=faults,
                latency_ms=_number(env, ENV_LATENCY_MS, int, 0),
                fault_rate=_number(env, ENV_FAULT_RATE, float, 0.0),
                seed=_number(env, ENV_FAULT_SEED, int, 0),
                misbehave=misbehave,
                control=env.get("LEDGERD_OFFLINE_CONTROL") == "1",
            )
        except ValueError as error:
            if misbehave and "misbehaviour" in str(error):
                raise ValueError(f"{ENV_MISBEHAVE}: {error}") from None
            raise


_Number = TypeVar("_Number", int, float)


def _number(env: Mapping[str, str], name: str, kind: type[_Number], default: _Number) -> _Number:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {raw!r}") from None
