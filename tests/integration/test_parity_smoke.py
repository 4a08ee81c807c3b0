"""The parity runner end to end on the embedded stack, with synthetic cases written here.

A Pass, a Lambda task through one of our handlers (created, run, deleted by the runner) and a
case whose recorded output is deliberately wrong: the first two match, the third names it.
"""

from __future__ import annotations

import pytest

from testbed import aws
from testbed.parity import runner
from testbed.parity.cases import from_dict

pytestmark = [pytest.mark.integration, pytest.mark.needs_faults]

FUNCTION = "smoke_fn_rec"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:111111111111:function:{FUNCTION}"


def case(test: str, definition: dict, expected: dict, resources: list | None = None) -> dict:
    return {
        "id": f"smoke/test_smoke.py::TestSmoke::{test}", "definition": definition, "input": '{"n": 1}',
        "state_machine_name": f"smoke_sm_{test}", "execution_name": "exec", "resources": resources or [],
        "replacements": [[FUNCTION, "<fn>"]], "wildcards": [], "expected": expected,
    }


PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"r": 2}, "ResultPath": "$.out", "End": True}}}
LAMBDA = {"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": FUNCTION_ARN, "End": True}}}
CASES = [
    case("pass", PASS, {
        "status": "SUCCEEDED", "output": {"n": 1, "out": {"r": 2}}, "states_entered": ["P"],
        "event_types": ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]}),
    case("lambda", LAMBDA, {"status": "SUCCEEDED", "output": {"n": 1}, "states_entered": ["L"]},
         [{"kind": "lambda", "name": FUNCTION, "handler_file": "id_function.py", "runtime": "python3.12",
           "handler": "handler.handler"}]),
    case("wrong", PASS, {"status": "SUCCEEDED", "output": {"n": 1, "out": {"r": 3}}}),
]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_cases_run_compare_and_clean_up(stack):
    where = runner.target(stack.target)
    results = runner.run_all([from_dict(raw) for raw in CASES], where, workers=3, timeout=60)
    outcome = [(r.id.rsplit(":", 1)[1], r.matched) for r in results]
    assert outcome == [("pass", True), ("lambda", True), ("wrong", False)]
    assert [d.category for d in results[2].differences] == ["output"]
    # Each case deleted what it created.
    machines = aws.client("stepfunctions", where.aws).list_state_machines()["stateMachines"]
    functions = aws.client("lambda", where.aws).list_functions()["Functions"]
    assert not [m for m in machines if where.run_token in m["name"]]
    assert not [f for f in functions if where.run_token in f["FunctionName"]]
