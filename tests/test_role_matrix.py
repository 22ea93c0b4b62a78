"""The role matrix: docs/security.md and ledgerd.security.policy agree cell by cell, and
every tool cell holds at its enforcement point (`Tool.invoke`), on a seeded database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from accounting.errors import AccessDenied
from accounting.principals import Principal, Role
from ledgerd.db import Pool
from ledgerd.security.policy import MATRIX, permits
from tools.catalog import CATALOG

ROLES = [Role.OWNER, Role.ACCOUNTANT, Role.VIEWER, Role.SERVICE]
DOC = Path(__file__).parent.parent / "docs" / "security.md"
ROW = re.compile(r"^\| (\w+) \| `([^`]+)` \| (\w+) \| (\w+) \| (\w+) \| (\w+) \|$")


def documented() -> dict[tuple[str, str, Role], bool]:
    cells = {}
    for line in DOC.read_text().splitlines():
        found = ROW.match(line)
        if found:
            kind, subject, *verdicts = found.groups()
            for role, verdict in zip(ROLES, verdicts, strict=True):
                cells[(kind, subject, role)] = verdict == "allowed"
    return cells


def test_the_documented_matrix_is_the_enforced_one_cell_by_cell() -> None:
    cells = documented()
    enforced = {
        (kind, subject, role): permits(role, kind, subject)
        for kind, subjects in MATRIX.items()
        for subject in subjects
        for role in ROLES
    }
    assert cells == enforced


def test_every_tool_of_the_catalog_has_a_row() -> None:
    assert set(MATRIX["tool"]) == set(CATALOG)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tool_name", sorted(CATALOG))
async def test_each_tool_cell_holds_at_invocation(ledger: Pool, tool_name: str, role: Role) -> None:
    principal = Principal(id=f"acme-{role.value}", tenant_id="acme", role=role)
    tool = CATALOG[tool_name]
    try:
        # Empty arguments: an allowed role gets past the matrix (and fails validation or
        # answers); a refused one is stopped before its arguments are read.
        await tool.invoke(ledger, principal, {}, f"matrix/{tool_name}/{role.value}")
    except AccessDenied as error:
        assert not permits(role, "tool", tool_name), f"{role} refused {tool_name}: {error}"
        assert f"tool {tool_name!r} is for" in str(error)
    except Exception:
        assert permits(role, "tool", tool_name), f"{role} was not refused {tool_name}"
    else:
        assert permits(role, "tool", tool_name), f"{role} was not refused {tool_name}"
