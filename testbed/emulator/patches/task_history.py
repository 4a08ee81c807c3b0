"""A Task state's history events are AWS's: LambdaFunction* for a Lambda ARN, TaskStarted for integrations.

Upstream (`_execute_task`, MiniStack 1.5.33) records every attempt of every Task state as
`TaskScheduled` then `TaskSucceeded` or `TaskFailed`, with `resource` = the state's whole
Resource. AWS records (the parity cases, `make parity`):
- a Resource that is a Lambda function ARN (this project's `InvokeLambdaToCallAPI`):
  `LambdaFunctionScheduled` (input, resource, timeoutInSeconds), `LambdaFunctionStarted`,
  then `LambdaFunctionSucceeded` (output) | `LambdaFunctionFailed` | `LambdaFunctionTimedOut`
  (error, cause);
- a service integration (`arn:aws:states:::dynamodb:getItem`, `lambda:invoke`, `aws-sdk:...`):
  `TaskScheduled` (resourceType `dynamodb`, resource `getItem`, region, parameters),
  `TaskStarted`, then `TaskSucceeded` | `TaskFailed` | `TaskTimedOut`.
A failure before the attempt is scheduled (its JSONata Arguments) or after its result came
back (ResultSelector, ResultPath, OutputPath) records no failed-task event, as on AWS.
Activities keep upstream's events. The three `_add_event` calls of `_execute_task` become
calls of the functions below; what the state computes is unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from testbed.emulator.patches.source import patch_function_source

NAME = "task-history"
UPSTREAM = {
    "ministack.services.stepfunctions._execute_task":
        "53c818d247dba62c49b82c78ad185f18083422f2bc30168836d7b4f2dae28d9a",
    "ministack.services.stepfunctions._add_event":  # called as _add_event(execution, type, details)
        "b1db143ccd21809d3aa32e79439b7971c7af7b50dcee5533ed2cce923742ac6a",
}
_INDENT = " " * 12
# `task_result` tells the failure handler how far the attempt got: not scheduled (its input failed
# to evaluate), running, or done (its result failed to process: ResultSelector, ResultPath...).
EDITS = (
    ('''        try:
            if query_language == "JSONata":
                effective = _apply_jsonata_arguments(state_def, raw_input, ctx)
''', '''        task_result = _testbed_not_scheduled
        try:
            if query_language == "JSONata":
                effective = _apply_jsonata_arguments(state_def, raw_input, ctx)
'''),
    (f'''{_INDENT}_add_event(execution, "TaskScheduled", {{
{_INDENT}    "taskScheduledEventDetails": {{
{_INDENT}        "resourceType": "lambda" if "lambda" in resource else "states",
{_INDENT}        "resource": resource,
{_INDENT}    }},
{_INDENT}}})
''', f"{_INDENT}task_result = _testbed_task_scheduled(execution, resource, effective, state_def)\n"),
    (f'''{_INDENT}_add_event(execution, "TaskSucceeded", {{
{_INDENT}    "taskSucceededEventDetails": {{
{_INDENT}        "output": json.dumps(task_result),
{_INDENT}        "resource": resource,
{_INDENT}    }},
{_INDENT}}})
''', f"{_INDENT}_testbed_task_succeeded(execution, resource, task_result)\n"),
    (f'''{_INDENT}_add_event(execution, "TaskFailed", {{
{_INDENT}    "taskFailedEventDetails": {{
{_INDENT}        "error": err.error, "cause": err.cause,
{_INDENT}        "resource": resource,
{_INDENT}    }},
{_INDENT}}})
''', f"{_INDENT}_testbed_task_failed(execution, resource, err, task_result)\n"),
)
TIMEOUT = "States.Timeout"
NOT_SCHEDULED, RUNNING = object(), object()  # how far an attempt got, when it has no result
INTEGRATION = "arn:aws:states:::"


def is_lambda_function(resource: str) -> bool:
    """A Task Resource naming a Lambda function itself (not the lambda:invoke integration)."""
    return resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource


def integration(resource: str) -> tuple[str, str] | None:
    """(resourceType, resource) as AWS names them: `...:::dynamodb:getItem` -> (dynamodb, getItem)."""
    if not resource.startswith(INTEGRATION) or ":" not in resource[len(INTEGRATION):]:
        return None
    kind, action = resource[len(INTEGRATION):].rsplit(":", 1)
    return kind, action


def scheduled(resource: str, effective: Any, state_def: dict[str, Any], region: str) -> list[tuple[str, dict]]:
    """The events that open an attempt: (type, details) pairs."""
    text = json.dumps(effective)
    timeouts = {key: state_def[field] for key, field in (("timeoutInSeconds", "TimeoutSeconds"),
                                                         ("heartbeatInSeconds", "HeartbeatSeconds"))
                if isinstance(state_def.get(field), int)}
    if is_lambda_function(resource):
        details = {"resource": resource, "input": text, "inputDetails": {"truncated": False}}
        details.update({k: v for k, v in timeouts.items() if k == "timeoutInSeconds"})
        return [("LambdaFunctionScheduled", {"lambdaFunctionScheduledEventDetails": details}),
                ("LambdaFunctionStarted", {})]
    names = integration(resource)
    if names is None:  # an activity: upstream's event
        return [("TaskScheduled", {"taskScheduledEventDetails": {"resourceType": "states", "resource": resource}})]
    kind, action = names
    details = {"resourceType": kind, "resource": action, "region": region, "parameters": text, **timeouts}
    return [("TaskScheduled", {"taskScheduledEventDetails": details}),
            ("TaskStarted", {"taskStartedEventDetails": {"resourceType": kind, "resource": action}})]


def succeeded(resource: str, result: Any) -> tuple[str, dict]:
    output = {"output": json.dumps(result), "outputDetails": {"truncated": False}}
    if is_lambda_function(resource):
        return "LambdaFunctionSucceeded", {"lambdaFunctionSucceededEventDetails": output}
    names = integration(resource)
    named = {"resourceType": names[0], "resource": names[1]} if names else {"resource": resource}
    return "TaskSucceeded", {"taskSucceededEventDetails": {**named, **output}}


def failed(resource: str, error: str, cause: str) -> tuple[str, dict]:
    outcome = "TimedOut" if error == TIMEOUT else "Failed"
    details = {"error": error, "cause": cause}
    if is_lambda_function(resource):
        return f"LambdaFunction{outcome}", {f"lambdaFunction{outcome}EventDetails": details}
    names = integration(resource)
    named = {"resourceType": names[0], "resource": names[1]} if names else {"resource": resource}
    return f"Task{outcome}", {f"task{outcome}EventDetails": {**named, **details}}


def apply() -> None:
    from ministack.services import stepfunctions

    def task_scheduled(execution: Any, resource: str, effective: Any, state_def: dict[str, Any]) -> object:
        for kind, details in scheduled(resource, effective, state_def, stepfunctions.get_region()):
            stepfunctions._add_event(execution, kind, details)
        return RUNNING

    def task_succeeded(execution: Any, resource: str, result: Any) -> None:
        stepfunctions._add_event(execution, *succeeded(resource, result))

    def task_failed(execution: Any, resource: str, err: Any, progress: Any) -> None:
        # Only a running attempt fails as a task: on AWS an input that does not evaluate, or a
        # result that does not process, fails the state with no Task/LambdaFunction event.
        if progress is RUNNING:
            stepfunctions._add_event(execution, *failed(resource, err.error, err.cause))

    stepfunctions._testbed_task_scheduled = task_scheduled
    stepfunctions._testbed_task_succeeded = task_succeeded
    stepfunctions._testbed_task_failed = task_failed
    stepfunctions._testbed_not_scheduled = NOT_SCHEDULED
    for old, new in EDITS:
        patch_function_source(stepfunctions, "_execute_task", old, new, f"{NAME}:{old.split(chr(34))[1]}")
