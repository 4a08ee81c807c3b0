"""Task states record, answer and fail as on AWS (the patches task_history, lambda_invoke,
dynamodb_task and error_names; the AWS shapes are those of the parity cases, `make parity`).

Each test fails on MiniStack 1.5.33 without its patch: it recorded TaskScheduled/TaskSucceeded
for a Lambda ARN and no TaskStarted, answered lambda:invoke with StatusCode and Payload only,
left requestId and stackTrace out of Lambda causes, and named and worded DynamoDB errors its own way.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest

from testbed.runs import executions
from tests.support import PROBE_ROLE_ARN, unique

pytestmark = pytest.mark.integration

ECHO = "def handler(event, context):\n    print('echo')\n    return event\n"
RAISES = ("def handler(event, context):\n"
          "    print('about to fail')\n"
          "    raise ValueError('no luck')\n")
INVOKE = "arn:aws:states:::lambda:invoke"
GET_ITEM = "arn:aws:states:::dynamodb:getItem"
PUT_ITEM = "arn:aws:states:::dynamodb:putItem"


@pytest.fixture
def run_task(testbed, cleanups) -> Callable[..., executions.ExecutionResult]:
    """run_task(task_state, execution_input) -> the result of a one-Task state machine, deleted afterwards."""
    sfn = testbed.client("stepfunctions")

    def run(task: dict[str, Any], execution_input: Any) -> executions.ExecutionResult:
        definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True, **task}}}
        arn = sfn.create_state_machine(name=unique("task"), definition=json.dumps(definition),
                                       roleArn=PROBE_ROLE_ARN)["stateMachineArn"]
        cleanups.append(functools.partial(sfn.delete_state_machine, stateMachineArn=arn))
        return executions.run(sfn, arn, execution_input)

    return run


def types(result: executions.ExecutionResult) -> list[str]:
    return [event["type"] for event in result.history]


def details(result: executions.ExecutionResult, event_type: str) -> dict[str, Any]:
    event = result.events(event_type)[-1]
    return next(value for key, value in event.items() if key.endswith("EventDetails"))


def function_arn(testbed, name: str) -> str:
    return testbed.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def test_a_lambda_arn_task_records_lambda_function_events(testbed, make_function, run_task):
    arn = function_arn(testbed, make_function(ECHO))
    result = run_task({"Resource": arn, "TimeoutSeconds": 20}, {"n": 1})

    assert result.status == "SUCCEEDED"
    assert types(result) == ["ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled",
                             "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
                             "ExecutionSucceeded"]
    scheduled = details(result, "LambdaFunctionScheduled")
    assert scheduled["resource"] == arn and json.loads(scheduled["input"]) == {"n": 1}
    assert scheduled["timeoutInSeconds"] == 20
    assert json.loads(details(result, "LambdaFunctionSucceeded")["output"]) == {"n": 1}


def test_a_result_that_does_not_process_fails_the_state_not_the_lambda(testbed, make_function, run_task):
    # The Lambda succeeded; its OutputPath names nothing: States.Runtime, and no LambdaFunctionFailed.
    result = run_task({"Resource": function_arn(testbed, make_function(ECHO)), "OutputPath": "$.nothing"}, {})

    assert result.error == "States.Runtime"
    assert types(result)[2:] == ["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded",
                                 "ExecutionFailed"]


@pytest.mark.not_on("localstack", reason=(
    "LocalStack writes the Lambda's error document again, compact (AWS keeps the runtime's own text, "
    "recorded case test_task_lambda::test_raise_exception)"))
def test_a_failed_lambda_arn_task_has_the_runtimes_cause(testbed, make_function, run_task):
    result = run_task({"Resource": function_arn(testbed, make_function(RAISES))}, {})

    assert types(result)[2:] == ["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
                                 "ExecutionFailed"]
    assert result.error == "ValueError" == details(result, "LambdaFunctionFailed")["error"]
    cause = json.loads(result.cause)
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorMessage"] == "no luck" and len(cause["requestId"]) == 36
    # The stack starts at the handler's frame, as the AWS runtime writes it.
    assert len(cause["stackTrace"]) == 1 and "line 3, in handler\n    raise ValueError('no luck')\n" in \
        cause["stackTrace"][0]
    assert result.cause.startswith('{"errorMessage": "no luck", ')  # the runtime's own text


@pytest.mark.not_on("localstack", reason=(
    "LocalStack's lambda:invoke answer has no SdkHttpMetadata/SdkResponseMetadata (AWS: recorded case "
    "test_lambda_task_service::test_invoke)"))
def test_a_lambda_invoke_task_records_task_started_and_answers_as_the_sdk(testbed, make_function, run_task):
    name = make_function(ECHO)
    result = run_task({"Resource": INVOKE, "Parameters": {"FunctionName": name, "Payload": None, "LogType": "Tail"}},
                      {})

    assert types(result)[2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    scheduled = details(result, "TaskScheduled")
    assert (scheduled["resourceType"], scheduled["resource"]) == ("lambda", "invoke")
    assert json.loads(scheduled["parameters"])["FunctionName"] == name
    assert details(result, "TaskStarted") == {"resourceType": "lambda", "resource": "invoke"}
    output = result.output
    assert output["Payload"] == {}  # a null Payload sends {} to the function
    assert output["StatusCode"] == 200 and output["ExecutedVersion"] == "$LATEST"
    headers = output["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == "2" and headers["X-Amz-Executed-Version"] == "$LATEST"
    assert output["SdkResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]
    log = base64.b64decode(output["LogResult"]).decode()
    assert log.startswith("START RequestId: ") and "echo\n" in log and "END RequestId: " in log


def test_a_failed_lambda_invoke_task_has_a_compact_cause(make_function, run_task):
    result = run_task({"Resource": INVOKE, "Parameters": {"FunctionName": make_function(RAISES)}}, {})

    assert result.error == "ValueError" and types(result)[-2] == "TaskFailed"
    assert result.cause.startswith('{"errorMessage":"no luck","errorType":"ValueError","requestId":"')


def test_a_missing_function_is_named_by_its_arn_and_latest(testbed, run_task):
    missing = unique("missing")
    result = run_task({"Resource": INVOKE, "Parameters": {"FunctionName": missing}}, {})

    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause.startswith(f"Function not found: arn:aws:lambda:{testbed.stack.target.region}:")
    assert f":function:{missing}:$LATEST (Service: AWSLambda; Status Code: 404; " in result.cause
    assert result.cause.endswith("; Proxy: null)")


@pytest.mark.not_on("localstack", reason=(
    "LocalStack's dynamodb:getItem answer has no SdkHttpMetadata/SdkResponseMetadata (AWS: recorded case "
    "test_dynamodb_task_service::test_base_integrations[DYNAMODB_PUT_GET_ITEM])"))
def test_a_dynamodb_get_item_task_carries_the_sdk_metadata(run_task):
    result = run_task({"Resource": GET_ITEM, "Parameters": {
        "TableName": "API_Template_Table", "Key": {"PK": {"S": "get_user"}, "SK": {"S": "GET"}}}}, {})

    assert types(result)[2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    assert details(result, "TaskStarted") == {"resourceType": "dynamodb", "resource": "getItem"}
    output = result.output
    assert output["Item"]["PK"] == {"S": "get_user"}
    metadata = output["SdkHttpMetadata"]
    assert metadata["HttpStatusCode"] == 200
    assert metadata["HttpHeaders"]["Content-Type"] == "application/x-amz-json-1.0"
    assert output["SdkResponseMetadata"]["RequestId"] == metadata["HttpHeaders"]["x-amzn-requestid"]


@pytest.mark.parametrize(("parameters", "error", "message"), [
    pytest.param({"TableName": "API_Template_Table", "Item": None}, "DynamoDB.AmazonDynamoDBException",
                 "1 validation error detected: Value null at 'item' failed to satisfy constraint: "
                 "Member must not be null",
                 marks=pytest.mark.not_on("localstack", reason=(
                     "moto (LocalStack's DynamoDB here) fails on a null Item with a Python error "
                     "('NoneType' object has no attribute 'items'); AWS answers a ValidationException"))),
    ({"TableName": "no_such_table_h17", "Item": {"PK": {"S": "x"}}}, "DynamoDB.ResourceNotFoundException",
     "Requested resource not found"),
])
def test_dynamodb_task_errors_are_named_and_worded_as_the_sdks(run_task, parameters, error, message):
    result = run_task({"Resource": PUT_ITEM, "Parameters": parameters}, {})

    assert types(result)[2:5] == ["TaskScheduled", "TaskStarted", "TaskFailed"]
    assert result.error == error
    code = "ValidationException" if "validation" in message else "ResourceNotFoundException"
    assert result.cause.startswith(f"{message} (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: {code}; "
                                   "Request ID: ")


@pytest.mark.needs_mockapi  # get_user calls the mock API's /users route
def test_the_workflows_history_is_awss(testbed):
    # getItem is a service integration (TaskStarted), InvokeLambdaToCallAPI a Lambda ARN.
    result = testbed.run("get_user", "GET", {"user_id": unique("user")})

    assert result.status == "SUCCEEDED", result.cause
    assert types(result)[:12] == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
        "ChoiceStateEntered", "ChoiceStateExited", "TaskStateEntered", "LambdaFunctionScheduled",
        "LambdaFunctionStarted", "LambdaFunctionSucceeded"]
    assert "TaskScheduled" not in types(result)[8:]


def test_a_fail_state_without_error_fails_with_no_error_name(testbed, cleanups):
    sfn = testbed.client("stepfunctions")
    definition = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Cause": "no name"}}}
    arn = sfn.create_state_machine(name=unique("fail"), definition=json.dumps(definition),
                                   roleArn=PROBE_ROLE_ARN)["stateMachineArn"]
    cleanups.append(functools.partial(sfn.delete_state_machine, stateMachineArn=arn))
    result = executions.run(sfn, arn, {})

    assert result.status == "FAILED" and result.cause == "no name"
    assert result.error is None  # not States.Fail
