"""Run one case's execution: create the state machine, start, wait, read the history."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from testbed.parity.cases import Case
from testbed.parity.names import Names
from testbed.parity.resources import Created

POLL_SECONDS = 0.1
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class Timeout(RuntimeError):
    """The execution did not end before the deadline."""


@dataclass
class Observed:
    """What the stack did, as raw as it answered (normalise.py makes it comparable)."""

    status: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def run(sfn: Any, case: Case, names: Names, created: Created, timeout: float) -> Observed:
    name = names.add(case.state_machine_name)
    definition = names.to_ours(json.dumps(case.definition))
    arn = sfn.create_state_machine(name=name, definition=definition, roleArn=names.role_arn,
                                   type=case.type)["stateMachineArn"]
    created.undo.append(lambda: sfn.delete_state_machine(stateMachineArn=arn))
    started = sfn.start_execution(stateMachineArn=arn, name=case.execution_name, input=names.to_ours(case.input))
    execution = started["executionArn"]
    answer = _wait(sfn, execution, timeout)
    return Observed(status=answer["status"], output=answer.get("output"), error=answer.get("error"),
                    cause=answer.get("cause"), events=history(sfn, execution))


def _wait(sfn: Any, execution: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if answer["status"] in TERMINAL:
            return answer
        if time.monotonic() > deadline:
            sfn.stop_execution(executionArn=execution)
            raise Timeout(f"still {answer['status']} after {timeout:g}s")
        time.sleep(POLL_SECONDS)


def history(sfn: Any, execution: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
        events.extend(page["events"])
    return events
