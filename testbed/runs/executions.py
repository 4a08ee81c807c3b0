"""Start a state machine execution, wait for its end, and read what happened."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


class ExecutionTimeout(TimeoutError):
    """The execution did not end before the deadline."""


@dataclass(frozen=True)
class ExecutionResult:
    arn: str
    status: str
    output: Any  # parsed JSON output (SUCCEEDED), else None
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]

    @property
    def states(self) -> list[str]:
        """Names of the states entered, in order: the path the execution took."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [event for event in self.history if event["type"] == event_type]


def run(
    stepfunctions: Any,
    state_machine_arn: str,
    execution_input: dict[str, Any],
    *,
    timeout: float = 60.0,
    name: str | None = None,
) -> ExecutionResult:
    arn = stepfunctions.start_execution(
        stateMachineArn=state_machine_arn,
        name=name or f"run-{uuid.uuid4()}",
        input=json.dumps(execution_input),
    )["executionArn"]
    return wait(stepfunctions, arn, timeout=timeout)


# Waiting polls, as it must on AWS too (a standard workflow has nothing to block on). The
# first look comes at once and the next after 2 ms (a short execution is over in a few
# milliseconds); then the delay grows by 1.5x up to 50 ms, or 5% of the time waited so far,
# so a long execution costs few requests (AWS throttles DescribeExecution at ~15/s).
# For the first second the history itself is polled: its last event tells the end, so a
# short execution costs one request less than describe-then-history.
FIRST_POLL_SECONDS = 0.002
MAX_POLL_SECONDS = 0.05
POLL_BACKOFF = 1.5
HISTORY_POLL_SECONDS = 1.0
_ENDS = {  # terminal history event -> (status, its details field)
    "ExecutionSucceeded": ("SUCCEEDED", "executionSucceededEventDetails"),
    "ExecutionFailed": ("FAILED", "executionFailedEventDetails"),
    "ExecutionTimedOut": ("TIMED_OUT", "executionTimedOutEventDetails"),
    "ExecutionAborted": ("ABORTED", "executionAbortedEventDetails"),
}


def wait(stepfunctions: Any, execution_arn: str, *, timeout: float = 60.0) -> ExecutionResult:
    result = _wait(stepfunctions, execution_arn, timeout=timeout)
    _notify(result, stepfunctions.meta.endpoint_url)
    return result


# Listeners see every finished execution that `wait` (and so `run`) returns, e.g. the
# state-machine coverage plugin (testbed/coverage/plugin.py). Called as
# listener(result, endpoint_url) with the Step Functions endpoint the execution ran on.
Listener = Callable[[ExecutionResult, str], None]
_listeners: list[Listener] = []


def add_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _notify(result: ExecutionResult, endpoint_url: str) -> None:
    for listener in list(_listeners):
        listener(result, endpoint_url)


def _wait(stepfunctions: Any, execution_arn: str, *, timeout: float = 60.0) -> ExecutionResult:
    started = time.monotonic()
    delay = FIRST_POLL_SECONDS
    while True:
        waited = time.monotonic() - started
        if waited < HISTORY_POLL_SECONDS:
            history = _history(stepfunctions, execution_arn)
            if history and history[-1]["type"] in _ENDS:
                return _from_history(execution_arn, history)
            status = "RUNNING"
        else:
            status = stepfunctions.describe_execution(executionArn=execution_arn)["status"]
            if status in TERMINAL:
                history = _history(stepfunctions, execution_arn)
                if history and history[-1]["type"] in _ENDS:  # else its last event is on its way
                    return _from_history(execution_arn, history)
        if waited > timeout:
            raise ExecutionTimeout(f"execution {execution_arn} still {status} after {timeout:g}s")
        time.sleep(delay)
        delay = min(delay * POLL_BACKOFF, max(MAX_POLL_SECONDS, 0.05 * waited))


def _from_history(execution_arn: str, history: list[dict[str, Any]]) -> ExecutionResult:
    status, field = _ENDS[history[-1]["type"]]
    details = history[-1].get(field) or {}
    output = details.get("output") if status == "SUCCEEDED" else None
    return ExecutionResult(
        arn=execution_arn,
        status=status,
        output=json.loads(output) if output else None,
        error=details.get("error"),
        cause=details.get("cause"),
        history=history,
    )


def _history(stepfunctions: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events
