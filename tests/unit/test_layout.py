"""The harness's layout rules: no import cycles between its modules (issue 21).

Every import counts, also those inside functions and under TYPE_CHECKING: a cycle hidden in a
function is still a cycle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from testbed import settings

PACKAGE = settings.ROOT / "testbed"


def _module_name(path: Path) -> str:
    parts = path.relative_to(settings.ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The testbed modules `path` imports (`from testbed.x import y` counts y when y is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("testbed"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return found & known


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    files = {_module_name(p): p for p in root.rglob("*.py")}
    known = set(files)
    # A package's __init__ runs before its modules: importing testbed.a.b imports testbed.a too,
    # but an empty __init__ adds no edge, so packages are not counted as importers of their children.
    return {name: _imports(path, known) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_harness_has_no_import_cycles() -> None:
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_stack_interface_knows_nothing_of_its_users() -> None:
    """stacks/base.py is what the CLI, the watch and the tests use; it imports no pipeline."""
    graph = import_graph()
    allowed = {"testbed.settings", "testbed.aws", "testbed.config", "testbed.errors", "testbed.deploy.report"}
    assert graph["testbed.stacks.base"] <= allowed


def test_the_error_model_is_a_leaf() -> None:
    """testbed.errors is imported by every module that raises: it imports none of them."""
    assert import_graph()["testbed.errors"] == set()
