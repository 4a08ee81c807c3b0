"""The ASL file: the tutorial's states, every transition resolvable, placeholders filled."""

import json

import pytest

from testbed import settings
from testbed.deploy.statemachine import DefinitionError, render_definition, same_definition

ARN = "arn:aws:lambda:us-east-1:000000000000:function:GenericApiCallLambda"


@pytest.fixture(scope="module")
def asl():
    return json.loads(render_definition({"GenericApiCallLambdaArn": ARN}))


def test_keeps_the_tutorial_state_names(asl):
    assert asl["StartAt"] == "FetchTemplateFromDynamoDB"
    assert {"FetchTemplateFromDynamoDB", "InvokeLambdaToCallAPI", "ChoiceState", "Success", "HandleFailure"} <= set(
        asl["States"])
    fetch = asl["States"]["FetchTemplateFromDynamoDB"]
    assert fetch["Resource"] == "arn:aws:states:::dynamodb:getItem"
    assert fetch["Parameters"]["TableName"] == settings.TABLE_NAME
    assert fetch["ResultPath"] == "$.template"


def test_every_transition_exists(asl):
    states = asl["States"]
    targets = []
    for state in states.values():
        targets += [state.get("Next"), state.get("Default")]
        targets += [c.get("Next") for c in state.get("Choices", []) + state.get("Catch", [])]
    assert {t for t in targets if t} <= set(states)


def test_lambda_task_retries_and_catches(asl):
    task = asl["States"]["InvokeLambdaToCallAPI"]
    assert task["Resource"] == ARN
    retried = {name for retrier in task["Retry"] for name in retrier["ErrorEquals"]}
    assert {"UpstreamTimeout", "UpstreamConnectionError", "Lambda.ServiceException"} <= retried
    assert "RenderError" not in retried
    assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert task["Catch"][0]["ResultPath"].startswith("$.")  # keeps the input, adds the error


def test_missing_placeholder_is_named():
    with pytest.raises(DefinitionError, match="GenericApiCallLambdaArn"):
        render_definition({})


def test_same_definition_ignores_formatting():
    assert same_definition('{"a": 1}', '{\n  "a": 1\n}')
    assert not same_definition('{"a": 1}', '{"a": 2}')


def test_lambda_gets_the_execution_id_for_trace_correlation(asl):
    parameters = asl["States"]["InvokeLambdaToCallAPI"]["Parameters"]
    assert parameters["executionId.$"] == "$$.Execution.Id"
    assert parameters["params.$"] == "$.params"  # a missing params is States.Runtime, as on AWS
