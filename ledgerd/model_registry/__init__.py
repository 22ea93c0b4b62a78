"""One registry of the Claude models ledgerd talks to, and the requests each accepts.

What a request may carry differs per model (thinking forms, effort, forced tool choice,
sampling, prefill, limits, prices), and the 5.5 models refuse with a 400 what earlier models
accepted. The facts live as data in `registry.toml`, each citing its doc page, and are
consulted here only: configuration validates each role against them at start-up, the model
activities shape requests from them, costs are priced from them, and the offline stand-in
enforces them.
"""

from ledgerd.model_registry._docs import models_markdown
from ledgerd.model_registry._pricing import COST_NOTE, PRICES_AS_OF, estimate_cost
from ledgerd.model_registry._profile import (
    CONSERVATIVE,
    EFFORTS,
    Effort,
    ModelProfile,
    UnknownModelWarning,
    known_models,
    profile_for,
    registry,
)
from ledgerd.model_registry._request import (
    ROLE_MAX_TOKENS,
    AnswerMode,
    AnswerTool,
    RequestShape,
    Role,
    RoleSettings,
    ThinkingSetting,
    answer_mode,
    request_fields,
    role_problems,
    shape_for,
)

__all__ = [
    "CONSERVATIVE",
    "COST_NOTE",
    "EFFORTS",
    "PRICES_AS_OF",
    "ROLE_MAX_TOKENS",
    "AnswerMode",
    "AnswerTool",
    "Effort",
    "ModelProfile",
    "RequestShape",
    "Role",
    "RoleSettings",
    "ThinkingSetting",
    "UnknownModelWarning",
    "answer_mode",
    "estimate_cost",
    "known_models",
    "models_markdown",
    "profile_for",
    "registry",
    "request_fields",
    "role_problems",
    "shape_for",
]
