"""A path that names nothing fails the execution with `States.Runtime`, as on AWS.

Upstream (MiniStack 1.5.33) resolves such a path to null and carries on: in Parameters and
ResultSelector (`"key.$": "$.missing"`, also `$$.Execution.Input.missing`), in InputPath and
OutputPath, in a Fail state's ErrorPath/CausePath ("must be a string, but the value was:
null"), and ignores a Task's TimeoutSecondsPath/HeartbeatSecondsPath (a callback task then
waits forever: the execution stays RUNNING). AWS fails the execution with `States.Runtime`,
worded per field as the recorded cases show:
- Parameters, ResultSelector, ErrorPath, CausePath: "The JSONPath '$.x' specified for the
  field 'key.$' could not be found in the input '{...}'";
- InputPath, OutputPath, TimeoutSecondsPath, HeartbeatSecondsPath: "Invalid path '$.x' :
  No results for path: $['x']" (Jayway's wording, see jsonpath_eval).
No Catch sees it (terminal_errors). A path with a wildcard, slice or filter selects a list
(empty over absent data), never an error.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from testbed.emulator.patches import context_object, jsonpath_eval
from testbed.emulator.patches.source import patch_function_source, replace_function
from testbed.emulator.patches.terminal_errors import runtime_error

NAME = "jsonpath-required"
UPSTREAM = {
    "ministack.services.stepfunctions._resolve_params_obj":
        "d41c2e27dd1b00a5e4058e1d96edc10c6ca3eea75fb3aa82fc99d6957fc5da1e",
    "ministack.services.stepfunctions._apply_input_path":
        "65be3f02951797de738a67058da5dcb22cc0e7854d04cc3863146df760729aa6",
    "ministack.services.stepfunctions._apply_output_path":
        "e9cfd006724489615c6d0eea55a6d003437530db11d875858c617eb60cf704d4",
    "ministack.services.stepfunctions._fail_state_field":
        "0bfc6a7a3f4b0b188e371da4de87b6671e76c72717be3f42c76c35d81d2bf8a5",
    "ministack.services.stepfunctions._execute_task":
        "53c818d247dba62c49b82c78ad185f18083422f2bc30168836d7b4f2dae28d9a",
}
OLD = """                elif value.startswith("$$."):
                    result[real_key] = _resolve_ctx_path(value, ctx or {})
                else:
                    result[real_key] = _resolve_path(value, data)
"""
NEW = """                else:
                    result[real_key] = _testbed_required_path(key, value, data, ctx)
"""
SHOWN_INPUT_CHARS = 500
SECONDS_PATHS = {"TimeoutSecondsPath": "TimeoutSeconds", "HeartbeatSecondsPath": "HeartbeatSeconds"}


def find_in_state(path: str, data: Any, ctx: Any) -> Any:
    """What a path selects in a state's input (`$...`) or its context object (`$$...`)."""
    if path.startswith("$$"):
        return jsonpath_eval.find(path[1:], context_object.view(ctx))
    return jsonpath_eval.find(path, data)


def required_field(field: str, path: str, data: Any, ctx: Any) -> Any:
    """A `.$` field's path (Parameters, ResultSelector) or an ErrorPath/CausePath."""
    if path.startswith("$$") and ctx is None:  # ResultSelector: upstream keeps no context there
        return None
    try:
        return find_in_state(path, data, ctx)
    except jsonpath_eval.PathNotFound:
        shown = json.dumps(data, separators=(",", ":"))[:SHOWN_INPUT_CHARS]
        raise runtime_error(ctx, f"The JSONPath '{path}' specified for the field '{field}' "
                                 f"could not be found in the input '{shown}'") from None


def required_path(path: str | None, data: Any, ctx: Any) -> Any:
    """An InputPath, OutputPath or *SecondsPath: null gives `{}`, as upstream and AWS."""
    if path is None:
        return {}
    if path == "$":
        return data
    try:
        return find_in_state(path, data, ctx)
    except jsonpath_eval.PathNotFound as problem:
        raise runtime_error(ctx, f"Invalid path '{path}' : {problem}") from None


def with_seconds_paths(state_def: dict[str, Any], raw_input: Any, ctx: Any) -> dict[str, Any]:
    """The Task with its TimeoutSecondsPath/HeartbeatSecondsPath read from its input."""
    found = {field: required_path(state_def[key], raw_input, ctx)
             for key, field in SECONDS_PATHS.items() if isinstance(state_def.get(key), str)}
    for field, seconds in found.items():
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
            raise runtime_error(ctx, f"The {field}Path field refers to value {json.dumps(seconds)} "
                                     "which is not a valid positive integer")
    return {**copy.copy(state_def), **found} if found else state_def


def apply() -> None:
    from ministack.services import stepfunctions

    def apply_input_path(state_def: dict[str, Any], data: Any, ctx: Any = None) -> Any:
        return required_path(state_def.get("InputPath", "$"), data, ctx)

    def apply_output_path(state_def: dict[str, Any], data: Any, ctx: Any = None) -> Any:
        return required_path(state_def.get("OutputPath", "$"), data, ctx)

    upstream_fail_field = stepfunctions._fail_state_field
    upstream_task = stepfunctions._execute_task

    def fail_state_field(state_def: dict[str, Any], field: str, default: Any, raw_input: Any, ctx: Any) -> Any:
        path = state_def.get(f"{field}Path")
        if (isinstance(path, str) and path.startswith("$")
                and stepfunctions._state_query_language(state_def, ctx) != "JSONata"):
            required_field(f"{field}Path", path, raw_input, ctx)
        return upstream_fail_field(state_def, field, default, raw_input, ctx)

    def execute_task(state_def: dict[str, Any], raw_input: Any, execution: Any, ctx: Any) -> Any:
        if stepfunctions._state_query_language(state_def, ctx) != "JSONata":
            state_def = with_seconds_paths(state_def, raw_input, ctx)
        return upstream_task(state_def, raw_input, execution, ctx)

    stepfunctions._testbed_required_path = required_field
    patch_function_source(stepfunctions, "_resolve_params_obj", OLD, NEW, NAME)
    replace_function(stepfunctions, "_apply_input_path", apply_input_path, NAME)
    replace_function(stepfunctions, "_apply_output_path", apply_output_path, NAME)
    replace_function(stepfunctions, "_fail_state_field", fail_state_field, NAME)
    replace_function(stepfunctions, "_execute_task", execute_task, NAME)
