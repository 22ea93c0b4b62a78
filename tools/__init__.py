"""The tools daemons may use: one declaration per exposed platform handler.

A daemon receives a curated toolset (`toolset(...)`), never everything.
"""

from __future__ import annotations

from tools._declaration import Tool, ToolDeclarationError, tool
from tools.catalog import CATALOG

__all__ = ["CATALOG", "Tool", "ToolDeclarationError", "tool", "toolset"]


def toolset(*names: str) -> dict[str, Tool]:
    """The named tools; an unknown name fails when the daemon is defined, not mid-run."""
    unknown = sorted(set(names) - set(CATALOG))
    if unknown:
        raise ToolDeclarationError(f"unknown tools {unknown}; known: {sorted(CATALOG)}")
    return {name: CATALOG[name] for name in names}
