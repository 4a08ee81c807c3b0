"""Branch logic at state level, with the Step Functions TestState API (runs unchanged on AWS).

No Lambda runs and no HTTP call is made: each test sends one state of the real definition an
input (or a mocked task result or error) and checks where it goes next. This also covers
"fails once, then succeeds", which MiniStack's mock config cannot express: TestState is
called once per attempt, with `stateConfiguration.retrierRetryCount` saying which.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from testbed.deploy.statemachine import render_definition

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator_only(reason="TestState with the emulator's account (000000000000) and an unchecked role"),
    pytest.mark.not_on("localstack", reason=("LocalStack's TestState API takes no mocked result per retry attempt "
                                             "(stateConfiguration.retrierRetryCount); these tests need it")),
]

LAMBDA_ARN = "arn:aws:lambda:us-east-1:000000000000:function:GenericApiCallLambda"
ROLE_ARN = "arn:aws:iam::000000000000:role/ApiCallStateMachineRole"
REQUEST = {"templateName": "get_user", "method": "GET", "params": {"user_id": "42"}}
ITEM = {"PK": {"S": "get_user"}, "SK": {"S": "GET"}, "url": {"S": "{{ base_url }}/users"}}


@pytest.fixture(scope="module")
def definition() -> str:
    return render_definition({"GenericApiCallLambdaArn": LAMBDA_ARN})


@pytest.fixture
def test_state(testbed, definition):
    sfn = testbed.client("stepfunctions")

    def call(state: str, state_input: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return sfn.test_state(definition=definition, roleArn=ROLE_ARN, stateName=state,
                              input=json.dumps(state_input), inspectionLevel="DEBUG", **extra)

    return call


def error(name: str, cause: str = "mocked") -> dict[str, Any]:
    return {"errorOutput": {"error": name, "cause": cause}}


def test_found_template_goes_to_the_lambda(test_state):
    answer = test_state("CheckTemplateExists", {**REQUEST, "template": {"Item": ITEM}})
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "InvokeLambdaToCallAPI")


def test_absent_template_goes_to_template_not_found(test_state):
    answer = test_state("CheckTemplateExists", {**REQUEST, "template": {}})
    assert answer["nextState"] == "TemplateNotFound"


@pytest.mark.parametrize(("api_response", "next_state"), [
    ({"statusCode": 200}, "Success"),
    ({"statusCode": 201}, "Success"),
    ({"statusCode": 299}, "Success"),
    ({"statusCode": 103}, "DescribeHttpFailure"),
    ({"statusCode": 302}, "DescribeHttpFailure"),
    ({"statusCode": 404}, "DescribeHttpFailure"),
    ({"statusCode": 500}, "DescribeHttpFailure"),
    ({"statusCode": "200"}, "DescribeInvalidResult"),
    ({"body": "no status"}, "DescribeInvalidResult"),
])
def test_choice_branches_on_the_status(test_state, api_response, next_state):
    answer = test_state("ChoiceState", {**REQUEST, "apiResponse": api_response})
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", next_state)


def test_http_failure_is_described_for_the_fail_state(test_state):
    answer = test_state("DescribeHttpFailure", {**REQUEST, "apiResponse": {"statusCode": 404}})
    assert json.loads(answer["output"])["failure"] == {
        "Error": "UpstreamHttpError", "Cause": "Template get_user (GET) answered HTTP 404"}
    assert answer["nextState"] == "HandleFailure"


@pytest.mark.parametrize(("name", "retrier"), [
    ("UpstreamTimeout", 0), ("UpstreamConnectionError", 0), ("UpstreamUnavailable", 0),
    ("Lambda.ServiceException", 1), ("Lambda.TooManyRequestsException", 1),
])
def test_transient_errors_are_retried(test_state, name, retrier):
    answer = test_state("InvokeLambdaToCallAPI", {**REQUEST, "template": {"Item": ITEM}}, mock=error(name))
    assert answer["status"] == "RETRIABLE"
    assert answer["error"] == name
    assert answer["inspectionData"]["errorDetails"]["retryIndex"] == retrier


@pytest.mark.parametrize("name", ["RenderError", "InvalidTemplate", "DestinationRefused", "UpstreamThrottled"])
def test_permanent_errors_are_caught_without_retry(test_state, name):
    state_input = {**REQUEST, "template": {"Item": ITEM}}
    answer = test_state("InvokeLambdaToCallAPI", state_input, mock=error(name, "why"))
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "HandleFailure")
    assert json.loads(answer["output"]) == {**state_input, "failure": {"Error": name, "Cause": "why"}}


def test_retries_used_up_are_caught(test_state):
    answer = test_state("InvokeLambdaToCallAPI", {**REQUEST, "template": {"Item": ITEM}},
                        mock=error("UpstreamTimeout"), stateConfiguration={"retrierRetryCount": 2})
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "HandleFailure")


def test_fails_once_then_succeeds(test_state):
    state_input = {**REQUEST, "template": {"Item": ITEM}}
    first = test_state("InvokeLambdaToCallAPI", state_input, mock=error("UpstreamUnavailable", "HTTP 503"))
    assert first["status"] == "RETRIABLE"

    result = {"statusCode": 200, "headers": {}, "body": {"ok": True}, "elapsedMs": 3}
    second = test_state("InvokeLambdaToCallAPI", state_input, mock={"result": json.dumps(result)},
                        stateConfiguration={"retrierRetryCount": 1})
    assert (second["status"], second["nextState"]) == ("SUCCEEDED", "ChoiceState")
    assert json.loads(second["output"])["apiResponse"] == result
