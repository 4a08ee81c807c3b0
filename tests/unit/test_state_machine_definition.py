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


def _machine(**properties: object) -> dict:
    return {"Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": properties}}}


def test_the_deployed_definition_is_read_as_cloudformation_substitutes_it(tmp_path):
    from testbed.deploy.statemachine import SAMPLE_ARN, deployed_definitions

    text = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn}", "Comment": "${Kept}", "End": true}}}'
    (tmp_path / "asset.abc.json").write_text(text)
    (tmp_path / f"{settings.STACK_NAME}.assets.json").write_text(json.dumps({"files": {"abc": {
        "source": {"path": "asset.abc.json", "packaging": "file"},
        "destinations": {"d": {"bucketName": "b", "objectKey": "abc.json"}}}}}))
    from_asset = deployed_definitions(tmp_path, _machine(
        DefinitionS3Location={"Bucket": "b", "Key": "abc.json"},
        DefinitionSubstitutions={"Fn": {"Fn::GetAtt": ["F", "Arn"]}}))
    state = json.loads(from_asset["Machine"])["States"]["A"]
    assert state["Resource"] == SAMPLE_ARN and state["Comment"] == "${Kept}"

    joined = deployed_definitions(tmp_path, _machine(DefinitionString={"Fn::Join": ["", [
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "', {"Fn::GetAtt": ["F", "Arn"]},
        '", "End": true}}}']]}))
    assert json.loads(joined["Machine"])["States"]["A"]["Resource"] == SAMPLE_ARN
    inline = deployed_definitions(tmp_path, _machine(Definition={"StartAt": "A"}))
    assert json.loads(inline["Machine"]) == {"StartAt": "A"}

    with pytest.raises(DefinitionError, match=r"'gone\.json' is no file asset"):
        deployed_definitions(tmp_path, _machine(DefinitionS3Location={"Bucket": "b", "Key": "gone.json"}))


def test_an_unchanged_definition_is_linted_once_per_process(monkeypatch):
    from testbed.deploy import lint

    calls: list[str] = []
    real = lint._statelint
    monkeypatch.setattr(lint, "_statelint", lambda text: calls.append(text) or real(text))
    text = json.dumps({"StartAt": "Gone", "States": {"A": {"Type": "Succeed"}}, "Comment": str(id(calls))})
    first = lint.definition_problems(text)
    assert any("Gone" in problem for problem in first)
    assert lint.definition_problems(text) == first
    assert len(calls) == 1


def test_a_clean_marker_handed_in_with_an_assembly_does_not_skip_the_lint(tmp_path):
    """Clean markers live in the state folder's lint cache, never in the assembly: an assembly that
    brings its own marker for a broken definition is linted all the same."""
    import hashlib
    import importlib.metadata

    from testbed.deploy import lint

    bad = json.dumps({"StartAt": "Gone", "States": {"A": {"Type": "Succeed"}}, "Comment": "forged"})
    key = f"statelint-{importlib.metadata.version('statelint')}-{hashlib.sha256(bad.encode()).hexdigest()}"
    assembly = tmp_path / "cdk.out"
    (assembly / ".testbed-linted").mkdir(parents=True)
    (assembly / ".testbed-linted" / key).touch()  # what the cache used to trust
    (assembly / f"{settings.STACK_NAME}.template.json").write_text(json.dumps(
        {"Resources": {"M": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": bad}}}}))
    lint._FINDINGS.clear()
    with pytest.raises(lint.CheckError, match="Gone"):
        lint.check_deployed(assembly, tmp_path / "state" / "lint-cache")
