"""`GET /v1/models`: the registry's current models, in the real API's page shape."""

from __future__ import annotations

from typing import Any

from ledgerd.model_registry import EFFORTS, ModelProfile, known_models, registry


def _info(profile: ModelProfile) -> dict[str, Any]:
    forms = profile.thinking.forms
    released = profile.released.isoformat() if profile.released else "2025-01-01"
    return {
        "type": "model",
        "id": profile.id,
        "display_name": profile.display_name,
        "created_at": f"{released}T00:00:00Z",
        "max_input_tokens": profile.context_window,
        "max_tokens": profile.max_output,
        "capabilities": {
            "effort": {
                "supported": bool(profile.efforts),
                **{level: {"supported": level in profile.efforts} for level in EFFORTS},
            },
            "thinking": {
                "supported": bool({"adaptive", "enabled"} & set(forms)),
                "types": {
                    form: {"supported": form in forms}
                    for form in ("adaptive", "enabled", "disabled", "between_tools")
                },
            },
            "structured_outputs": {"supported": profile.structured_outputs},
        },
    }


def models_page() -> dict[str, Any]:
    """Current models, most recently released first, as one page."""
    current = [p for p in known_models() if not p.retired()]
    current.sort(key=lambda p: p.released.isoformat() if p.released else "", reverse=True)
    data = [_info(p) for p in current]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def model_info(model_id: str) -> dict[str, Any] | None:
    profile = registry().get(model_id)
    if profile is None or profile.retired():
        return None
    return _info(profile)
