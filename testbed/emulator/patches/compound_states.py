"""States inside a Map iteration or a Parallel branch are in the history, as on AWS.

Upstream (`_run_sub_machine`, MiniStack 1.5.33) runs a branch's or an iteration's states
without recording them: the history of a Map shows `MapStateEntered`, `MapStateExited` and
nothing of the items. AWS records each inner state's `<Type>StateEntered` and
`<Type>StateExited` in the execution's history (the parity cases `test_map_state`,
`test_parallel_state`, ...), which the timeline and `make parity` read. Here the runner
records them as the top-level loop (`_run_execution`) does, and gives each branch its own
copy of the context (workflow variables still shared), so concurrent branches no longer
overwrite each other's current state. `_add_event` takes a lock: branches and iterations
append concurrently, and two events must never get the same id.

Also the one home of the Retry/Catch loop of Map and Parallel states (`retry_and_catch`):
upstream's `_with_retry_and_catch`, plus a `failed` call when an error leaves the state
(no retrier left), before any Catch: AWS records `MapStateFailed` / `ParallelStateFailed`
there, also when a Catch then takes the error (after `EvaluationFailed`, evaluation_failed).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

from testbed.emulator.patches import evaluation_failed
from testbed.emulator.patches.source import replace_function

NAME = "compound-states"
UPSTREAM = {
    "ministack.services.stepfunctions._run_sub_machine":
        "f8d844168b1459f8d2f13b3fb93ee6cba425bbc57bd05e7cab3fe8f010853f29",
    "ministack.services.stepfunctions._with_retry_and_catch":  # retry_and_catch mirrors it
        "b351699db7b381ef576a7e75ff60547346976d2f41a6c3f7a1c7919cd44aa1a2",
    "ministack.services.stepfunctions._add_event":
        "b1db143ccd21809d3aa32e79439b7971c7af7b50dcee5533ed2cce923742ac6a",
}
HANDLERS = {"Pass": "_execute_pass", "Task": "_execute_task", "Choice": "_execute_choice",
            "Wait": "_execute_wait", "Parallel": "_execute_parallel", "Map": "_execute_map"}
WITH_EXECUTION = ("Task", "Parallel", "Map")
_EVENTS_LOCK = threading.Lock()


def entered(execution: dict[str, Any], kind: str, name: str, data: Any) -> None:
    from ministack.services import stepfunctions

    stepfunctions._add_event(execution, f"{kind}StateEntered", {
        "stateEnteredEventDetails": {"name": name, "input": json.dumps(data)}})


def exited(execution: dict[str, Any], kind: str, name: str, data: Any) -> None:
    from ministack.services import stepfunctions

    stepfunctions._add_event(execution, f"{kind}StateExited", {
        "stateExitedEventDetails": {"name": name, "output": json.dumps(data)}})


def run_sub_machine(states: dict[str, Any], start_at: str, input_data: Any, execution: dict[str, Any],
                    ctx: dict[str, Any]) -> Any:
    """Run a branch or an iteration to its end, recording each state as `_run_execution` does."""
    from ministack.services import stepfunctions as sfn

    ctx = dict(ctx)  # this branch's own current State; `variables` stays the shared dict
    current_name: str | None = start_at
    current_input = copy.deepcopy(input_data)
    while current_name:
        state_def = states.get(current_name)
        if not state_def:
            raise sfn._ExecutionError("States.Runtime", f"State '{current_name}' not found")
        kind = state_def.get("Type")
        ctx["State"] = {"Name": current_name, "EnteredTime": sfn.now_iso(), "RetryCount": 0}
        entered(execution, str(kind), current_name, current_input)
        if kind == "Succeed":
            output = sfn._apply_output_path(state_def, sfn._apply_input_path(state_def, current_input, ctx), ctx)
            exited(execution, kind, current_name, output)
            return output
        if kind == "Fail":
            raise sfn._ExecutionError(*sfn._fail_state_error(state_def, current_input, ctx))
        if kind not in HANDLERS:
            raise sfn._ExecutionError("States.Runtime", f"Unknown state type: {kind}")
        handler = getattr(sfn, HANDLERS[kind])  # looked up now: the patches' wrappers apply
        args = (state_def, current_input, execution, ctx) if kind in WITH_EXECUTION else (state_def, current_input, ctx)
        current_input, next_name = handler(*args)
        exited(execution, kind, current_name, current_input)
        current_name = next_name
    return current_input


def retry_and_catch(state_def: dict[str, Any], raw_input: Any, ctx: dict[str, Any], attempt: Callable[[], Any],
                    failed: Callable[[Any], None]) -> Any:
    """Run a Map or Parallel attempt under its Retry and Catch; `failed(err)` once the error leaves the state."""
    from ministack.services import stepfunctions as sfn

    state = ctx["State"]
    retry_counts: dict[int, int] = {}
    while True:
        ctx["State"] = {**state, "RetryCount": sum(retry_counts.values())}
        try:
            return attempt()
        except sfn._ExecutionError as err:
            retrier, retrier_idx = sfn._find_matching_retrier(state_def.get("Retry", []), err.error, retry_counts)
            if retrier is not None:
                count = retry_counts.get(retrier_idx, 0)
                interval = retrier.get("IntervalSeconds", 1)
                sfn._scaled_sleep(min(interval * (retrier.get("BackoffRate", 2.0) ** count), 60))
                retry_counts[retrier_idx] = count + 1
                continue
            evaluation_failed.report(ctx, err)
            failed(err)
            catcher = sfn._find_matching_catcher(state_def.get("Catch", []), err.error)
            if catcher is None:
                raise
            error_output = {"Error": err.error, "Cause": err.cause}
            language = sfn._state_query_language(state_def, ctx)
            return sfn._apply_catcher(catcher, raw_input, ctx, language, error_output), catcher["Next"]


def apply() -> None:
    from ministack.services import stepfunctions

    upstream_add_event = stepfunctions._add_event

    def add_event(execution: dict[str, Any], event_type: str, details: dict[str, Any] | None = None) -> Any:
        with _EVENTS_LOCK:  # the id is the history's length: count and append as one step
            return upstream_add_event(execution, event_type, details)

    replace_function(stepfunctions, "_add_event", add_event, NAME)
    replace_function(stepfunctions, "_run_sub_machine", run_sub_machine, NAME)
