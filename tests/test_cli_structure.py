"""The CLI package: one module per command group, importing each other without a cycle, so a
new command group can be added (or read) without knowing the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import ledgerd.cli

PACKAGE = Path(ledgerd.cli.__file__).parent
FACES = {"__init__", "__main__"}  # they assemble the package; nothing imports them back
SHARED = {"output", "context", "errors"}


def _cli_imports(path: Path) -> set[str]:
    """The ledgerd.cli modules a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "ledgerd.cli":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("ledgerd.cli."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ledgerd.cli."):
                    found.add(alias.name.split(".")[2])
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _cli_imports(path) for path in sorted(PACKAGE.glob("*.py"))}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the modules, or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return [*visiting[visiting.index(module) :], module]
        if module in done:
            return None
        visiting.append(module)
        for imported in sorted(graph.get(module, set())):
            cycle = visit(imported)
            if cycle is not None:
                return cycle
        visiting.pop()
        done.add(module)
        return None

    for module in graph:
        cycle = visit(module)
        if cycle is not None:
            return cycle
    return None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_cli_modules_import_each_other_without_a_cycle() -> None:
    graph = _graph()
    assert {"ask", "runs", "stack", "output"} <= set(graph)
    assert _cycle(graph) is None


def test_no_command_module_imports_the_package_face() -> None:
    for module, imported in _graph().items():
        if module not in FACES:
            assert not imported & FACES, f"{module} imports {imported & FACES}"
            assert "app" not in imported, f"{module} imports the app back from ledgerd.cli"


def test_shared_helpers_import_no_command_module() -> None:
    graph = _graph()
    for module in SHARED:
        assert graph[module] <= SHARED, f"{module} imports {graph[module] - SHARED}"
