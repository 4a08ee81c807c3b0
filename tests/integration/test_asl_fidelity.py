"""Whole executions on the emulator end as they end on AWS where its interpreter differed
(testbed/emulator/patches: payload_limit, jsonpath_required, terminal_errors, choice_rules).

Each test fails on unpatched MiniStack 1.5.33: a 300 KB Lambda answer passed, a
HeartbeatSecondsPath naming nothing left the execution RUNNING forever, a Catch took a
States.Runtime, and a Choice on a missing field went to Default.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pytest

from testbed.runs import executions
from tests.support import PROBE_ROLE_ARN, unique

pytestmark = pytest.mark.integration

CAUGHT = {"ErrorEquals": ["States.ALL"], "Next": "Caught"}


@pytest.fixture
def run_definition(testbed, cleanups) -> Callable[..., executions.ExecutionResult]:
    sfn = testbed.client("stepfunctions")

    def run(states: dict[str, Any], execution_input: dict[str, Any]) -> executions.ExecutionResult:
        definition = {"StartAt": next(iter(states)), "States": {**states, "Caught": {"Type": "Succeed"}}}
        arn = sfn.create_state_machine(name=unique("asl"), definition=json.dumps(definition),
                                       roleArn=PROBE_ROLE_ARN)["stateMachineArn"]
        cleanups.append(functools.partial(sfn.delete_state_machine, stateMachineArn=arn))
        return executions.run(sfn, arn, execution_input, timeout=30)

    return run


@pytest.mark.not_on("localstack", reason=(
    "LocalStack fails the task with States.DataLimitExceeded, then lets States.ALL catch it (AWS: terminal)"))
def test_a_lambda_answer_over_256_kib_fails_with_data_limit_exceeded_as_on_aws(run_definition, make_function):
    name = make_function('''
        def handler(event, context):
            return {"statusCode": 200, "body": "a" * 300000}
    ''')
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    result = run_definition({"Call": {"Type": "Task", "Resource": arn, "Catch": [CAUGHT], "End": True}}, {})

    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")  # States.ALL does not catch it
    assert result.cause == (f"The state/task '{arn}' returned a result with a size exceeding "
                            "the maximum number of bytes service limit.")


@pytest.mark.not_on("localstack", reason=(
    "LocalStack records ExecutionFailed (States.Runtime), then lets States.ALL catch it and succeeds "
    "(AWS: terminal, recorded case test_catch_states_runtime)"))
def test_a_heartbeat_seconds_path_naming_nothing_fails_instead_of_running_forever(run_definition):
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken",
            "HeartbeatSecondsPath": "$.NoSuch", "Parameters": {}, "Catch": [CAUGHT], "End": True}
    result = run_definition({"task": task}, {"int-literal": 0})

    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause.endswith("Invalid path '$.NoSuch' : No results for path: $['NoSuch']")
    assert result.states == ["task"]


@pytest.mark.not_on("localstack", reason=(
    "LocalStack's cause says \"No results for path: $['no.such.result.path']\"; AWS (recorded case "
    "test_catch_states_runtime) \"Missing property in path $['no']\""))
def test_an_output_path_naming_nothing_is_not_caught_even_by_name_as_on_aws(run_definition, make_function):
    name = make_function('''
        def handler(event, context):
            return {"statusCode": 200}
    ''')
    task = {"Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
            "OutputPath": "$.no.such.result.path", "End": True,
            "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}]}
    result = run_definition({"RaiseRuntime": task}, {})

    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause.endswith("Invalid path '$.no.such.result.path' : Missing property in path $['no']")
    assert result.states == ["RaiseRuntime"]


@pytest.mark.not_on("localstack", reason=(
    "LocalStack takes the Default of a Choice whose Variable names nothing (AWS: States.Runtime)"))
def test_a_choice_on_a_missing_field_fails_instead_of_taking_default_as_on_aws(run_definition):
    choice = {"Type": "Choice", "Default": "Caught",
              "Choices": [{"Variable": "$.statusCode", "NumericLessThan": 300, "Next": "Caught"}]}
    result = run_definition({"CheckStatus": choice}, {"body": "no status"})

    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "Invalid path '$.statusCode': The choice state's condition path references an invalid value." in result.cause
