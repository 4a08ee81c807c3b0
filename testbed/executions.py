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


# Polling DescribeExecution: the first look comes soon (a short execution is over in a few
# milliseconds), later ones back off so long executions cost few requests. Works unchanged
# against AWS (which has no push for standard workflows besides EventBridge).
FIRST_POLL_SECONDS = 0.002
MAX_POLL_SECONDS = 0.05
POLL_BACKOFF = 1.5


def wait(stepfunctions: Any, execution_arn: str, *, timeout: float = 60.0) -> ExecutionResult:
    deadline = time.monotonic() + timeout
    delay = FIRST_POLL_SECONDS
    while True:
        described = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise ExecutionTimeout(f"execution {execution_arn} still {described['status']} after {timeout:g}s")
        time.sleep(delay)
        delay = min(delay * POLL_BACKOFF, MAX_POLL_SECONDS)
    output = described.get("output")
    result = ExecutionResult(
        arn=execution_arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause"),
        history=_history(stepfunctions, execution_arn),
    )
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


def _history(stepfunctions: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events
