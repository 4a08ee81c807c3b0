"""The context object (`$$`) a JSONPath state reads, shaped as on AWS.

MiniStack's execution context (`ctx`) holds the context object's parts next to its own
fields (`QueryLanguage`, `variables`), lacks `Execution.RoleArn` and `Execution.RedriveCount`,
and gives every state a `State.RetryCount`. AWS (recorded cases `test_input_path[$$]`,
`test_query_context_object_values`): `Execution` has `RoleArn` (the state machine's role)
and `RedriveCount`; `State.RetryCount` exists in Task, Parallel and Map states only.
"""

from __future__ import annotations

import contextlib
import functools
import json
from typing import Any

PARTS = ("Execution", "State", "StateMachine", "Task", "Map")
RETRYING_TYPES = ("Task", "Parallel", "Map")


@functools.lru_cache(maxsize=64)
def state_types(definition: str) -> dict[str, str]:
    """Each state's type by name, branches and item processors included."""
    types: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, state in (node.get("States") or {}).items():
                if isinstance(state, dict):
                    types.setdefault(name, str(state.get("Type")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    with contextlib.suppress(ValueError):  # an unreadable definition has no states to name
        walk(json.loads(definition))
    return types


def view(ctx: Any) -> dict[str, Any]:
    """The context object of the state now running, as AWS shows it."""
    from ministack.services import stepfunctions

    ctx = ctx or {}
    shown = {part: ctx[part] for part in PARTS if part in ctx}
    machine = stepfunctions._state_machines.get((ctx.get("StateMachine") or {}).get("Id"), {})
    if "Execution" in shown:
        shown["Execution"] = {**shown["Execution"], "RoleArn": machine.get("roleArn", ""), "RedriveCount": 0}
    state = shown.get("State")
    if state and "RetryCount" in state:
        kind = state_types(machine.get("definition", "{}")).get(state.get("Name"))
        if kind not in RETRYING_TYPES:
            shown["State"] = {key: value for key, value in state.items() if key != "RetryCount"}
    return shown
