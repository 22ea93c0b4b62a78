"""Budget ceilings: no run may ask for more steps, tokens or seconds than the configuration
allows (`LEDGERD_MAX_BUDGET_STEPS`, `_TOKENS`, `_SECONDS`), whoever starts it.

The API refuses an over-ceiling budget before starting anything (422, naming the field and
the ceiling); a run started some other way (plain Temporal) is refused by its first activity,
`verify_principal`, before any model call or tool.
"""

from __future__ import annotations

from ledgerd.config import Settings
from ledgerd.contracts import Budget

_CEILINGS = (
    ("max_steps", "max_budget_steps", "LEDGERD_MAX_BUDGET_STEPS"),
    ("max_tokens", "max_budget_tokens", "LEDGERD_MAX_BUDGET_TOKENS"),
    ("max_seconds", "max_budget_seconds", "LEDGERD_MAX_BUDGET_SECONDS"),
)


def budget_problems(budget: Budget, settings: Settings) -> list[tuple[str, str]]:
    """(field, why) for each limit of `budget` above its ceiling; empty if it fits."""
    problems = []
    for field, setting, variable in _CEILINGS:
        asked, ceiling = getattr(budget, field), getattr(settings, setting)
        if asked > ceiling:
            problems.append((field, f"{asked} is above the ceiling of {ceiling} ({variable})"))
    return problems
