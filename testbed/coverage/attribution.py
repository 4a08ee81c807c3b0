"""Map an execution's history onto the graph's edges: which states it entered, which edges it took.

Works on a compact form of the history (`compact`), which is what the plugin records, so a
report can be regenerated later against the current ASL (`make coverage`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from testbed.coverage import choice
from testbed.coverage.graph import Graph, error_matches

_FAILED = ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut",
           "TaskStartFailed", "TaskSubmitFailed", "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed")
_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")
_SUCCEEDED = ("TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded")
# A Map's or Parallel's inner states lie between its Started and its Succeeded/Failed/Aborted.
_COMPOUND_ENTERED = ("MapStateEntered", "ParallelStateEntered")
_COMPOUND_STARTED = ("MapStateStarted", "ParallelStateStarted")
_COMPOUND_ENDS = tuple(f"{kind}State{end}" for kind in ("Map", "Parallel")
                       for end in ("Succeeded", "Failed", "Aborted"))


@dataclass
class Taken:
    states: list[str] = field(default_factory=list)  # in order, with repeats
    edges: list[str] = field(default_factory=list)  # edge ids, in order, with repeats
    unexplained: list[str] = field(default_factory=list)  # "A -> B" the graph has no edge for


def compact(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What attribution needs of each top-level event: type, state name, Choice input, error.

    The graph draws a Map or Parallel as one state, so the events of its iterations and
    branches are left out (a retried Map starts again at the same depth).
    """
    events: list[dict[str, Any]] = []
    opened: list[bool] = []  # one per Map/Parallel entered and not ended: has it started?
    for event in history:
        nested = any(opened)
        kind = event["type"]
        if kind in _COMPOUND_ENTERED:
            opened.append(False)
        elif kind in _COMPOUND_STARTED and opened:
            opened[-1] = True
        elif kind in _COMPOUND_ENDS and opened:
            opened.pop()
            nested = any(opened)
        if nested:
            continue
        item: dict[str, Any] = {"type": kind}
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            item["name"] = entered["name"]
            if event["type"] == "ChoiceStateEntered":
                item["input"] = entered.get("input")
        details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
        if event["type"] in _FAILED:
            item["error"] = details.get("error") or ("States.Timeout" if "TimedOut" in event["type"] else "")
        events.append(item)
    return events


def attribute(graph: Graph, events: list[dict[str, Any]]) -> Taken:
    taken = Taken()
    current: str | None = None
    current_input: Any = None
    last_error: str | None = None
    for event in events:
        kind = event["type"]
        if "name" in event:
            if current is not None:
                _transition(graph, taken, current, event["name"], current_input, last_error)
            current, last_error = event["name"], None
            current_input = _parse(event.get("input"))
            taken.states.append(current)
        elif current is None:
            continue
        elif kind in _FAILED:
            last_error = event.get("error", "")
        elif kind in _SCHEDULED and last_error is not None:
            _retry(graph, taken, current, last_error)
            last_error = None
        elif kind in _SUCCEEDED:
            last_error = None
    return taken


def _retry(graph: Graph, taken: Taken, state: str, error: str) -> None:
    rules = graph.states[state].definition.get("Retry", []) if state in graph.states else []
    for index, rule in enumerate(rules):
        if error_matches(rule.get("ErrorEquals", []), error):
            taken.edges.append(f"{state}#retry[{index}]")
            return
    taken.unexplained.append(f"{state} retried after {error}")


def _transition(graph: Graph, taken: Taken, source: str, target: str, data: Any, error: str | None) -> None:
    state = graph.states.get(source)
    if state is None:
        taken.unexplained.append(f"{source} -> {target}")
        return
    body = state.definition
    if state.type == "Choice":
        edge = _choice_edge(source, body, target, data)
    elif error is not None:
        catchers = body.get("Catch", [])
        index = next((i for i, c in enumerate(catchers) if error_matches(c.get("ErrorEquals", []), error)), None)
        edge = f"{source}#catch[{index}]" if index is not None and catchers[index]["Next"] == target else None
    else:
        edge = f"{source}#next" if body.get("Next") == target else None
    if edge is None:
        taken.unexplained.append(f"{source} -> {target}")
    else:
        taken.edges.append(edge)


def _choice_edge(source: str, body: dict[str, Any], target: str, data: Any) -> str | None:
    rules = body.get("Choices", [])
    try:
        index = choice.matching_rule(rules, data)
    except choice.Unsupported:
        # Cannot evaluate: the first rule (or Default) that leads where the execution went.
        index = next((i for i, rule in enumerate(rules) if rule.get("Next") == target), None)
    if index is not None and rules[index].get("Next") == target:
        return f"{source}#choice[{index}]"
    if index is None and body.get("Default") == target:
        return f"{source}#default"
    return None


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
