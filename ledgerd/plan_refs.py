"""References between plan steps: `{"$from": "<step id>", "path": "rows.0.vendor_id"}`.

A planner writes the whole plan before anything runs, so a step that needs an earlier
step's result (the vendor id a search found) names where it will be instead of a value.
The path is dot-separated: names index objects, numbers index lists, and `*` maps over a
list (`matches.*.vendor.id` is every match's id). Resolution is pure, so the offline
stand-in and the runtime resolve the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FROM = "$from"


class UnresolvedReference(LookupError):
    """A reference that cannot be resolved; the message says which step and path, and why."""


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and FROM in value


def references(value: Any) -> list[str]:
    """Every step id that `value` (a step's input) refers to, in order."""
    if is_reference(value):
        return [str(value[FROM])]
    if isinstance(value, dict):
        return [step for v in value.values() for step in references(v)]
    if isinstance(value, list):
        return [step for v in value for step in references(v)]
    return []


def _walk(value: Any, parts: list[str], where: str) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(value, list):
            raise UnresolvedReference(f"{where}: '*' needs a list, found {type(value).__name__}")
        return [_walk(item, rest, where) for item in value]
    if isinstance(value, list):
        if not head.isdigit():
            raise UnresolvedReference(f"{where}: {head!r} indexes a list; use a number or '*'")
        if int(head) >= len(value):
            raise UnresolvedReference(
                f"{where}: the list has {len(value)} item(s), so there is no item {head}"
            )
        return _walk(value[int(head)], rest, where)
    if isinstance(value, dict):
        if head not in value:
            raise UnresolvedReference(
                f"{where}: no field {head!r} (fields: {', '.join(sorted(value)) or 'none'})"
            )
        return _walk(value[head], rest, where)
    raise UnresolvedReference(f"{where}: cannot take {head!r} of {value!r}")


def resolve(value: Any, outputs: Mapping[str, Any]) -> Any:
    """`value` with every reference replaced by the referred step's output at its path.

    `outputs` maps step ids to their (parsed JSON) results; a missing step or path raises
    UnresolvedReference naming it."""
    if is_reference(value):
        step = str(value[FROM])
        path = str(value.get("path", ""))
        where = f"reference to step {step!r} at {path or '(whole result)'!r}"
        if step not in outputs:
            raise UnresolvedReference(f"{where}: step {step!r} has no result")
        return _walk(outputs[step], [p for p in path.split(".") if p], where)
    if isinstance(value, dict):
        return {k: resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, outputs) for v in value]
    return value
