"""A JSONata error is recorded as AWS records it: an `EvaluationFailed` event, the state named in the cause.

Upstream (MiniStack 1.5.33) fails the execution with `States.QueryEvaluationError` and a bare
message, records no event for it, words a field of the wrong type "The JSONata expression
specified for the field 'Items' ..." (no expression, Python's JSON spacing), fails with
"Object of type Symbol is not JSON serializable" (`States.Runtime`) on a function result,
and iterates a JSONata Map's input that is not an array as one item. AWS (the parity cases
`test_map_state_items_*`, `test_wait_timestamp_jsonata`):
- records `EvaluationFailed` (error, cause, state) when the error leaves the state, before
  `MapStateFailed` / `ExecutionFailed`, and its cause reads "An error occurred while
  executing the state 'S' (entered at the event id #N). <message>" (terminal_errors);
- "The JSONata expression '<expression>' specified for the field 'Items' returned an
  unexpected result type. Expected 'array', but was 'number' for value: 1" (compact JSON),
  "... returned an unsupported result type." for a function;
- "Map state input must be an array but was: 1" (map_history raises it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from testbed.emulator.patches.source import replace_function
from testbed.emulator.patches.terminal_errors import runtime_cause, state_name

NAME = "evaluation-failed"
UPSTREAM = {
    "ministack.services.stepfunctions._jsonata_state_field":
        "9bf62b72170e2ea4901780eeaa527fc7a97695e6114d6dd33e2e2e6ca8063627",
}
ERROR = "States.QueryEvaluationError"
HANDLERS = ("_execute_pass", "_execute_task", "_execute_choice", "_execute_wait")
_REPORTED = "_testbed_evaluation_reported"
JSON_TYPES = (type(None), bool, int, float, str, list, dict)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def report(ctx: Any, err: Any) -> None:
    """Once per error: name the state in a JSONata error's cause and record `EvaluationFailed`."""
    from ministack.services import stepfunctions

    if getattr(err, "error", None) != ERROR or getattr(err, _REPORTED, False):
        return
    setattr(err, _REPORTED, True)
    err.cause = runtime_cause(ctx, err.cause)
    execution = stepfunctions._executions.get(((ctx or {}).get("Execution") or {}).get("Id"))
    if execution is not None:
        stepfunctions._add_event(execution, "EvaluationFailed", {"evaluationFailedEventDetails": {
            "error": ERROR, "cause": err.cause, "state": state_name(ctx)}})


def jsonata_state_field(state_def: dict[str, Any], field: str, expected: str, raw_input: Any, ctx: Any) -> Any:
    """A state field that may be a JSONata expression, evaluated and held to the JSON type AWS requires."""
    from ministack.services import stepfunctions as sfn

    template = state_def[field]
    value = sfn._apply_jsonata_template(template, raw_input, ctx)
    expression = template[2:-2].strip() if isinstance(template, str) and template.startswith("{%") else template
    said = f"The JSONata expression '{expression}' specified for the field '{field}' returned an"
    if not isinstance(value, JSON_TYPES):
        raise sfn._ExecutionError(ERROR, f"{said} unsupported result type.")
    if sfn._json_type(value) != expected:
        raise sfn._ExecutionError(ERROR, f"{said} unexpected result type. Expected '{expected}', but was "
                                         f"'{sfn._json_type(value)}' for value: {compact_json(value)}")
    return value


def apply() -> None:
    from ministack.services import stepfunctions

    def reporting(handler: Callable[..., Any]) -> Callable[..., Any]:
        def run_state(state_def: Any, raw_input: Any, *rest: Any) -> Any:
            try:
                return handler(state_def, raw_input, *rest)
            except stepfunctions._ExecutionError as err:
                report(rest[-1], err)
                raise
        return run_state

    replace_function(stepfunctions, "_jsonata_state_field", jsonata_state_field, NAME)
    for name in HANDLERS:  # Map and Parallel report in compound_states.retry_and_catch, before their Failed event
        replace_function(stepfunctions, name, reporting(getattr(stepfunctions, name)), NAME)
