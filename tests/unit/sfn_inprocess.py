"""Run a state machine on the patched MiniStack interpreter in this process (no server), for history tests."""

from __future__ import annotations

import json
import time
from typing import Any

from testbed.emulator import patches

ROLE = "arn:aws:iam::000000000000:role/probe"
DEADLINE_SECONDS = 10.0


def interpreter() -> Any:
    patches.apply_all()
    from ministack.services import stepfunctions

    return stepfunctions


def run(definition: dict[str, Any], execution_input: Any = None) -> dict[str, Any]:
    """The finished execution record (status, error, cause, events) of one run of `definition`."""
    sfn = interpreter()
    name = f"inprocess-{time.monotonic_ns()}"
    created = json.loads(sfn._create_state_machine(
        {"name": name, "definition": json.dumps(definition), "roleArn": ROLE})[2])
    arn = created["stateMachineArn"]
    started = json.loads(sfn._start_execution({"stateMachineArn": arn, "input": json.dumps(execution_input or {})})[2])
    execution = sfn._executions[started["executionArn"]]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while execution["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"execution still RUNNING after {DEADLINE_SECONDS}s"
        time.sleep(0.005)
    sfn._delete_state_machine({"stateMachineArn": arn})
    return dict(execution)


def types(execution: dict[str, Any]) -> list[str]:
    return [event["type"] for event in execution["events"]]


def entered(execution: dict[str, Any]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in execution["events"] if "stateEnteredEventDetails" in e]
