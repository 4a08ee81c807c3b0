"""The Task patches' rules (task_history, lambda_invoke, dynamodb_task) and composable source edits."""

from __future__ import annotations

import functools
import json
import sys
import types

import pytest

from testbed.emulator.patches import dynamodb_task, lambda_invoke, task_history
from testbed.emulator.patches.source import PatchError, patch_function_source

LAMBDA_ARN = "arn:aws:lambda:us-east-1:000000000000:function:Fn"


def test_a_lambda_arn_is_scheduled_and_started_as_a_lambda_function():
    events = task_history.scheduled(LAMBDA_ARN, {"a": 1}, {"TimeoutSeconds": 35}, "us-east-1")
    assert [kind for kind, _ in events] == ["LambdaFunctionScheduled", "LambdaFunctionStarted"]
    assert events[0][1]["lambdaFunctionScheduledEventDetails"] == {
        "resource": LAMBDA_ARN, "input": '{"a": 1}', "inputDetails": {"truncated": False}, "timeoutInSeconds": 35}
    assert task_history.failed(LAMBDA_ARN, "States.Timeout", "c")[0] == "LambdaFunctionTimedOut"
    assert task_history.succeeded(LAMBDA_ARN, {"x": 1}) == ("LambdaFunctionSucceeded", {
        "lambdaFunctionSucceededEventDetails": {"output": '{"x": 1}', "outputDetails": {"truncated": False}}})


@pytest.mark.parametrize(("resource", "names"), [
    ("arn:aws:states:::dynamodb:getItem", ("dynamodb", "getItem")),
    ("arn:aws:states:::lambda:invoke", ("lambda", "invoke")),
    ("arn:aws:states:::lambda:invoke.waitForTaskToken", ("lambda", "invoke.waitForTaskToken")),
    ("arn:aws:states:::aws-sdk:dynamodb:query", ("aws-sdk:dynamodb", "query")),
])
def test_an_integration_is_named_by_service_and_action_and_has_task_started(resource, names):
    events = task_history.scheduled(resource, {}, {}, "eu-west-1")
    assert [kind for kind, _ in events] == ["TaskScheduled", "TaskStarted"]
    assert events[0][1]["taskScheduledEventDetails"] == {
        "resourceType": names[0], "resource": names[1], "region": "eu-west-1", "parameters": "{}"}
    assert task_history.failed(resource, "States.Timeout", "c") == ("TaskTimedOut", {"taskTimedOutEventDetails": {
        "resourceType": names[0], "resource": names[1], "error": "States.Timeout", "cause": "c"}})


def test_an_activity_keeps_upstreams_task_scheduled():
    activity = "arn:aws:states:us-east-1:000000000000:activity:A"
    assert [kind for kind, _ in task_history.scheduled(activity, {}, {}, "us-east-1")] == ["TaskScheduled"]


def test_dynamodb_errors_the_sdk_does_not_model_are_amazon_dynamodb_exception():
    import botocore.session

    model = botocore.session.get_session().get_service_model("dynamodb")
    modeled = {n for n in model.shape_names if model.shape_for(n).metadata.get("exception")}
    assert modeled == dynamodb_task.MODELED
    assert dynamodb_task.error_name("ValidationException") == "DynamoDB.AmazonDynamoDBException"
    assert dynamodb_task.error_name("ResourceNotFoundException") == "DynamoDB.ResourceNotFoundException"
    assert dynamodb_task.error_name("InternalServerError") == "DynamoDB.InternalServerErrorException"


def test_null_required_members_are_refused_in_dynamodbs_words():
    assert dynamodb_task.missing_members("getItem", {"TableName": "t", "Key": {}}) is None
    assert dynamodb_task.missing_members("putItem", {"TableName": None}) == (
        "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: Member must not be "
        "null; Value null at 'item' failed to satisfy constraint: Member must not be null")


def test_dynamodb_results_carry_the_http_response_as_the_sdk_saw_it():
    result = dynamodb_task.with_metadata("getItem", {"Item": {"id": {"S": "id1"}}})
    headers = result["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(len('{"Item":{"id":{"S":"id1"}}}'))
    assert result["SdkResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]
    assert "x-amzn-RequestId" in dynamodb_task.with_metadata("putItem", {})["SdkHttpMetadata"]["HttpHeaders"]


def test_a_missing_function_is_named_by_its_full_arn_and_qualifier():
    cause = lambda_invoke.not_found_cause("Fn", "eu-west-1", "000000000000")
    assert cause.startswith("Function not found: arn:aws:lambda:eu-west-1:000000000000:function:Fn:$LATEST (Service: "
                            "AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ")
    qualified = lambda_invoke.not_found_cause(LAMBDA_ARN.replace("us-east-1", "us-west-2") + ":live", "x", "0")
    assert "arn:aws:lambda:us-west-2:0:function:Fn:live (" in qualified


def test_lambda_invoke_results_have_the_sdks_fields():
    invocation = lambda_invoke.Invocation(payload=[], version="$LATEST", request_id="r-1", log="hello")
    result = lambda_invoke.invoke_result(invocation, None)
    assert list(result) == ["ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"]
    assert result["SdkHttpMetadata"]["AllHttpHeaders"]["Content-Length"] == ["2"]
    assert "LogResult" in lambda_invoke.invoke_result(invocation, "Tail")


def _module_with(source: str) -> types.ModuleType:
    module = types.ModuleType("h17_probe")
    exec(compile(source, "<probe>", "exec"), module.__dict__)
    sys.modules["h17_probe"] = module
    return module


def test_source_edits_of_one_function_add_up(monkeypatch):
    module = _module_with("def f():\n    return 1 + 2\n")
    monkeypatch.setattr("inspect.getsource", lambda obj: "def f():\n    return 1 + 2\n")
    patch_function_source(module, "f", "1 +", "10 +", "first")
    patch_function_source(module, "f", "+ 2", "+ 20", "second")
    assert module.f() == 30


def test_a_source_edit_over_a_wrapper_is_refused(monkeypatch):
    module = _module_with("def f():\n    return 1\n")
    monkeypatch.setattr("inspect.getsource", lambda obj: "def f():\n    return 1\n")
    patch_function_source(module, "f", "1", "2", "edit")
    wrapped = functools.wraps(module.f)(lambda: json.dumps(module.f.__wrapped__()))
    wrapped.__testbed_patch__ = "wrapper"
    module.f = wrapped
    with pytest.raises(PatchError, match="wrapped by patch 'wrapper'"):
        patch_function_source(module, "f", "2", "3", "late-edit")
