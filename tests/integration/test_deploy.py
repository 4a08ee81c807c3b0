"""The stack is the CDK app's template, deployed through the emulator's CloudFormation, with guards."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import aws, settings
from testbed.config import Config
from testbed.deploy import cloudformation, guards, packaging, synth
from testbed.deploy.report import SeedReport
from testbed.deploy.seed import SeedConfig, seed
from testbed.probes import free_port
from testbed.stacks.embedded import EmbeddedStack
from tests.support import Testbed as Bed
from tests.support import unique

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only(
    reason="the emulator's deployer (testbed.deploy), its guards and fresh emulators; on AWS the CDK CLI deploys")]


def _function_resource(assembly: synth.Assembly) -> dict:
    import json

    template = json.loads(assembly.template_path.read_text())
    return next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")


def test_describe_stacks_shows_the_stack_and_the_resources_the_tests_use(testbed: Bed) -> None:
    cfn = testbed.client("cloudformation")
    (stack,) = cfn.describe_stacks(StackName=settings.STACK_NAME)["Stacks"]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["StateMachineArn"] == testbed.state_machine_arn
    assert outputs["TableName"] == settings.TABLE_NAME
    assert outputs["FunctionArn"].endswith(f":function:{settings.FUNCTION_NAME}")
    resources = cfn.list_stack_resources(StackName=settings.STACK_NAME)["StackResourceSummaries"]
    physical = {r["ResourceType"]: r["PhysicalResourceId"] for r in resources}
    assert physical["AWS::DynamoDB::Table"] == settings.TABLE_NAME
    assert physical["AWS::Lambda::Function"] == settings.FUNCTION_NAME
    assert settings.STATE_MACHINE_NAME in physical["AWS::StepFunctions::StateMachine"]


def test_the_function_runs_the_published_asset_and_a_mismatch_is_refused(testbed: Bed) -> None:
    code = _function_resource(synth.synthesize(testbed.stack.config))["Properties"]["Code"]
    account = testbed.client("sts").get_caller_identity()["Account"]
    bucket = f"cdk-hnb659fds-assets-{account}-{testbed.stack.config.region}"
    published = testbed.client("s3").get_object(Bucket=bucket, Key=code["S3Key"])["Body"].read()
    sha = base64.b64encode(hashlib.sha256(published).digest()).decode()
    function = testbed.client("lambda").get_function(FunctionName=settings.FUNCTION_NAME)["Configuration"]
    assert function["CodeSha256"] == sha

    template = {"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": settings.FUNCTION_NAME, "Code": {"S3Key": code["S3Key"]}}}}}
    wrong = {"a": packaging.PublishedAsset(bucket, code["S3Key"], "not-the-deployed-code")}
    with pytest.raises(guards.CheckError, match="not the published asset"):
        guards.check_function(testbed.stack.target, template, wrong)


def test_another_stack_with_the_same_names_is_refused(testbed: Bed) -> None:
    assembly = synth.synthesize(testbed.stack.config).directory
    with pytest.raises(guards.CheckError) as refused:
        cloudformation.deploy(assembly, {"ApiBaseUrl": "http://x:1", "AllowedHosts": "x:1"},
                      testbed.stack.target, stack_name="SomeOtherStack")
    message = str(refused.value)
    assert f"table {settings.TABLE_NAME}" in message and f"function {settings.FUNCTION_NAME}" in message
    assert "make down && make up" in message
    stacks = testbed.client("cloudformation")
    assert [s["StackName"] for s in stacks.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"] == [settings.STACK_NAME]


# Changes the shared stack's parameters (and the Lambda's configuration): alone on its stack.
@pytest.mark.exclusive(only="embedded", reason=(
    "the docker backend deploys the assembly built in its image; its hook is tested by the seed"))
def test_a_parameter_change_updates_the_stack_and_the_function(testbed: Bed) -> None:
    endpoint = testbed.stack.endpoints.aws
    config = SeedConfig(api_base_url=testbed.stack.endpoints.mockapi_for_lambda, endpoint=endpoint,
                        config=testbed.stack.config, log_level="DEBUG")
    try:
        assert seed(config).changed[0] == f"stack {settings.STACK_NAME}: updated"
        function = testbed.client("lambda").get_function_configuration(FunctionName=settings.FUNCTION_NAME)
        assert function["Environment"]["Variables"]["LOG_LEVEL"] == "DEBUG"
        assert function["LastUpdateStatus"] == "Successful"
        assert testbed.get_item("get_user", "GET") is not None  # the update kept the table's items
        assert testbed.run("get_user", "GET", {"user_id": "upd"}).status == "SUCCEEDED"
    finally:
        testbed.stack.seed()
    assert testbed.stack.seed().changed == []


@pytest.fixture
def fresh_emulator(tmp_path: Path) -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(run_dir=tmp_path / "stack", emulator_port=free_port(), mockapi_port=free_port())
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_resources_left_by_something_else_are_refused_by_name(fresh_emulator: EmbeddedStack, tmp_path: Path) -> None:
    endpoint = fresh_emulator.endpoints.aws
    aws.client("dynamodb", fresh_emulator.target).create_table(
        TableName=settings.TABLE_NAME, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
    config = SeedConfig(api_base_url=fresh_emulator.endpoints.mockapi, endpoint=endpoint,
                        config=Config(state_dir=tmp_path))
    with pytest.raises(guards.CheckError, match=f"table {settings.TABLE_NAME}"):
        seed(config)
    stacks = aws.client("cloudformation", fresh_emulator.target).describe_stacks()["Stacks"]
    assert [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"] == []


def test_two_first_deploys_at_once_both_succeed(fresh_emulator: EmbeddedStack, tmp_path: Path) -> None:
    config = SeedConfig(api_base_url=fresh_emulator.endpoints.mockapi, endpoint=fresh_emulator.endpoints.aws,
                        config=Config(state_dir=tmp_path))
    reports: list[SeedReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(seed(config))
        except BaseException as exc:  # reported below, with the other thread's result
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    created = [r for r in reports if f"stack {settings.STACK_NAME}: created" in r.changed]
    assert len(created) == 1 and len(reports) == 2


def _definition_asset(assembly_dir: Path) -> Path:
    """The file asset the template's state machine names as its DefinitionS3Location."""
    import json

    template = json.loads((assembly_dir / f"{settings.STACK_NAME}.template.json").read_text())
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    key = machine["Properties"]["DefinitionS3Location"]["Key"]
    assets = json.loads((assembly_dir / f"{settings.STACK_NAME}.assets.json").read_text())["files"]
    source = next(a["source"]["path"] for a in assets.values()
                  if any(d["objectKey"] == key for d in a["destinations"].values()))
    return assembly_dir / source


def test_seed_assembly_lints_what_it_deploys(testbed: Bed, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`testbed seed --assembly DIR` (the Docker hook's path) refuses an assembly whose definition
    names a missing state: the checks run on what is deployed, not only in the synth."""
    import json
    import shutil

    from testbed import cli

    copy = tmp_path / "cdk.out"
    shutil.copytree(synth.synthesize(testbed.stack.config).directory, copy)
    asset = _definition_asset(copy)
    definition = json.loads(asset.read_text())
    definition["States"]["CheckTemplateExists"]["Default"] = "NoSuchState"
    asset.write_text(json.dumps(definition))
    sfn = testbed.client("stepfunctions")
    before = sfn.describe_state_machine(stateMachineArn=testbed.state_machine_arn)["definition"]
    try:
        code = cli.main(["seed", "--assembly", str(copy), "--endpoint", testbed.stack.endpoints.aws,
                         "--api-base-url", testbed.stack.endpoints.mockapi_for_lambda])
    finally:
        if sfn.describe_state_machine(stateMachineArn=testbed.state_machine_arn)["definition"] != before:
            testbed.stack.seed()  # without the check the broken definition was deployed: put the stack back
    err = capsys.readouterr().err
    assert code == 1, err
    assert 'No state found named "NoSuchState"' in err and "as deployed" in err, err
    assert "hint: fix statemachines/api_call.asl.json and synthesize again" in err
    assert sfn.describe_state_machine(stateMachineArn=testbed.state_machine_arn)["definition"] == before


def test_deleting_a_stack_says_what_its_retain_policy_kept(testbed: Bed, cleanups: list) -> None:
    """`BACKEND=aws make down` (cloudformation.delete): what DeletionPolicy Retain keeps outlives the
    stack, and is named so the user can delete it (on the shared stack's emulator: a stack of its own)."""
    import json

    name, kept, gone = unique("Retain"), f"/testbed/test/{unique('kept')}", f"/testbed/test/{unique('gone')}"
    ssm = testbed.client("ssm")
    cleanups.append(lambda: testbed.delete_secret(kept))

    def parameter(path: str) -> dict:
        return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": path, "Type": "String", "Value": "v"}}

    template = {"Resources": {"Kept": {**parameter(kept), "DeletionPolicy": "Retain"}, "Gone": parameter(gone)}}
    testbed.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    testbed.client("cloudformation").get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 0.2})

    assert cloudformation.delete(testbed.stack.target, name) == [f"AWS::SSM::Parameter {kept}"]
    assert not cloudformation.exists(testbed.stack.target, name)
    assert ssm.get_parameter(Name=kept)["Parameter"]["Value"] == "v"
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=gone)
    assert cloudformation.delete(testbed.stack.target, name) == []  # gone already: nothing to do
