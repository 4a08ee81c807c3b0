"""The transitions of a state machine, derived from its ASL definition.

One edge per way to leave a state: `Next`; each Choice rule and `Default`; each `Catch`
(by index and ErrorEquals); each `Retry` rule (a loop back to the state, by ErrorEquals).
Top-level states only: Parallel branches and Map iterators are drawn as their state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class AslError(ValueError):
    """The ASL file cannot be read as a state machine; the message names the file and the field."""


@dataclass(frozen=True)
class Edge:
    id: str  # stable: "<state>#next", "#choice[0]", "#default", "#catch[0]", "#retry[1]"
    source: str
    target: str
    kind: str  # next, choice, default, catch, retry
    label: str


@dataclass(frozen=True)
class State:
    name: str
    type: str
    definition: dict[str, Any] = field(compare=False, repr=False)

    @property
    def terminal(self) -> bool:
        return self.type in ("Succeed", "Fail") or bool(self.definition.get("End"))


@dataclass(frozen=True)
class Graph:
    start: str
    states: dict[str, State]
    edges: list[Edge]

    def edge(self, edge_id: str) -> Edge:
        return next(e for e in self.edges if e.id == edge_id)


def load(path: Path) -> Graph:
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AslError(f"{path}: cannot be read as JSON: {exc}") from exc
    return from_definition(definition, str(path))


def from_definition(definition: dict[str, Any], where: str = "definition") -> Graph:
    states_def = definition.get("States")
    if not isinstance(states_def, dict) or not isinstance(definition.get("StartAt"), str):
        raise AslError(f"{where}: needs 'StartAt' and a 'States' map")
    states = {name: State(name, str(body.get("Type", "?")), body) for name, body in states_def.items()}
    edges: list[Edge] = []
    for name, state in states.items():
        edges.extend(_edges(name, state.definition))
    for edge in edges:
        if edge.target not in states:
            raise AslError(f"{where}: States.{edge.source} goes to {edge.target!r}, which is not a state")
    return Graph(definition["StartAt"], states, edges)


def _edges(name: str, body: dict[str, Any]) -> list[Edge]:
    edges: list[Edge] = []
    for index, rule in enumerate(body.get("Retry", [])):
        errors = ", ".join(rule.get("ErrorEquals", []))
        edges.append(Edge(f"{name}#retry[{index}]", name, name, "retry", f"retry {errors}"))
    for index, rule in enumerate(body.get("Choices", [])):
        edges.append(Edge(f"{name}#choice[{index}]", name, rule["Next"], "choice", f"rule {index + 1}"))
    if "Default" in body:
        edges.append(Edge(f"{name}#default", name, body["Default"], "default", "default"))
    for index, catcher in enumerate(body.get("Catch", [])):
        errors = ", ".join(catcher.get("ErrorEquals", []))
        edges.append(Edge(f"{name}#catch[{index}]", name, catcher["Next"], "catch", f"catch {errors}"))
    if "Next" in body:
        edges.append(Edge(f"{name}#next", name, body["Next"], "next", "next"))
    return edges


def error_matches(error_equals: list[str], error: str) -> bool:
    """Step Functions' ErrorEquals: exact names, States.ALL, and States.TaskFailed (all but States.Timeout)."""
    if "States.ALL" in error_equals or error in error_equals:
        return True
    return "States.TaskFailed" in error_equals and error != "States.Timeout"
