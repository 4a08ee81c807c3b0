"""The synthesized template: every resource, its names and settings, IAM, outputs (no AWS needed)."""

from __future__ import annotations

import json
from typing import Any

from api_stack import config
from testbed.config import Config
from testbed.deploy import synth
from tests.infra.conftest import INFRA_GROUP, asset_dir, resources_of

pytestmark = INFRA_GROUP

EXPECTED_TYPES = {
    "AWS::DynamoDB::Table": 1,
    "AWS::Logs::LogGroup": 1,
    "AWS::IAM::Role": 2,
    "AWS::IAM::Policy": 2,
    "AWS::Lambda::Function": 1,
    "AWS::StepFunctions::StateMachine": 1,
}


def _logical_id(template_json: dict[str, Any], kind: str) -> str:
    (logical_id,) = resources_of(template_json, kind)
    return logical_id


def test_the_stack_has_exactly_these_resources(template_json: dict[str, Any]) -> None:
    types = [r["Type"] for r in template_json["Resources"].values()]
    assert {t: types.count(t) for t in set(types)} == EXPECTED_TYPES


def test_table_keys_billing_and_retention_on_aws(template: Any) -> None:
    template.has_resource("AWS::DynamoDB::Table", {
        "Properties": {
            "TableName": "API_Template_Table",
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                     {"AttributeName": "SK", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    })


def test_the_emulator_context_destroys_the_table_with_the_stack() -> None:
    emulator = synth.synthesize(Config())  # .testbed/cdk.out: what `make up` deploys (reused when unchanged)
    (table,) = resources_of(json.loads(emulator.template_path.read_text()), "AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Delete"


def test_function_runtime_and_environment_come_from_config_and_parameters(template: Any) -> None:
    from aws_cdk.assertions import Match  # see INFRA_GROUP

    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "GenericApiCallLambda",
        "Runtime": config.LAMBDA_RUNTIME,
        "Handler": config.LAMBDA_HANDLER,
        "Timeout": config.LAMBDA_TIMEOUT_SECONDS,
        "MemorySize": config.LAMBDA_MEMORY_MB,
        "Environment": {"Variables": {
            "API_BASE_URL": {"Ref": config.PARAM_API_BASE_URL},
            "ALLOWED_HOSTS": {"Ref": config.PARAM_ALLOWED_HOSTS},
            "LOG_LEVEL": {"Ref": config.PARAM_LOG_LEVEL},
        }},
    })
    template.has_parameter(config.PARAM_LOG_LEVEL, {"Default": "INFO", "AllowedValues": list(config.LOG_LEVELS)})
    template.has_parameter(config.PARAM_API_BASE_URL, {"Type": "String", "Default": Match.absent()})
    template.has_parameter(config.PARAM_ALLOWED_HOSTS, {"Type": "String", "Default": Match.absent()})


def test_the_bundle_holds_the_handler_and_its_dependencies(assembly: synth.Assembly, template: Any,
                                                          template_json: dict[str, Any]) -> None:
    (function,) = resources_of(template_json, "AWS::Lambda::Function").values()
    bundle = asset_dir(assembly, function["Properties"]["Code"]["S3Key"])
    for path in ("generic_api_call/handler.py", "jinja2/__init__.py", "requests/__init__.py",
                 "markupsafe/__init__.py", "urllib3/__init__.py"):
        assert (bundle / path).is_file(), path
    # Built for AWS's platform (manylinux x86_64, CPython 3.11), not for the machine that synthesized it.
    assert list(bundle.glob("markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so"))
    assert not list(bundle.rglob("__pycache__"))
    # Nothing that depends on the machine that ran pip (a script's shebang in RECORD): the same
    # sources make the same zip on the host and in the emulator image, as one asset hash promises.
    assert not list(bundle.glob("bin")) and not list(bundle.glob("*.dist-info/RECORD"))


def test_state_machine_is_the_asl_file_unchanged_with_the_function_arn_substituted(
        assembly: synth.Assembly, template_json: dict[str, Any], template: Any) -> None:
    function_id = _logical_id(template_json, "AWS::Lambda::Function")
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineName": "ApiCallStateMachine",
        "StateMachineType": "STANDARD",
        "DefinitionSubstitutions": {config.LAMBDA_ARN_PLACEHOLDER: {"Fn::GetAtt": [function_id, "Arn"]}},
        "RoleArn": {"Fn::GetAtt": [_logical_id_of_role(template_json, "states.amazonaws.com"), "Arn"]},
    })
    (machine,) = resources_of(template_json, "AWS::StepFunctions::StateMachine").values()
    key = machine["Properties"]["DefinitionS3Location"]["Key"]
    assert (assembly.directory / f"asset.{key}").read_bytes() == config.ASL_PATH.read_bytes()


def _logical_id_of_role(template_json: dict[str, Any], service: str) -> str:
    for logical_id, role in resources_of(template_json, "AWS::IAM::Role").items():
        principals = [s["Principal"]["Service"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
        if principals == [service]:
            return logical_id
    raise AssertionError(f"no role for {service}")


def _statements(template_json: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in resources_of(template_json, "AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_state_machine_may_read_one_table_and_invoke_one_function(template_json: dict[str, Any]) -> None:
    role_id = _logical_id_of_role(template_json, "states.amazonaws.com")
    assert resources_of(template_json, "AWS::IAM::Role")[role_id]["Properties"]["RoleName"] == "ApiCallStateMachineRole"
    table_id = _logical_id(template_json, "AWS::DynamoDB::Table")
    function_id = _logical_id(template_json, "AWS::Lambda::Function")
    assert _statements(template_json, role_id) == [
        {"Sid": "ReadTemplates", "Action": "dynamodb:GetItem", "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [table_id, "Arn"]}},
        {"Sid": "InvokeApiCallLambda", "Action": "lambda:InvokeFunction", "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [function_id, "Arn"]}},
    ]


def test_lambda_may_write_its_logs_and_read_secrets_under_the_prefix_only(template_json: dict[str, Any]) -> None:
    role_id = _logical_id_of_role(template_json, "lambda.amazonaws.com")
    role = resources_of(template_json, "AWS::IAM::Role")[role_id]["Properties"]
    assert role["RoleName"] == "GenericApiCallLambdaRole" and "ManagedPolicyArns" not in role
    logs, secrets = _statements(template_json, role_id)
    log_group_id = _logical_id(template_json, "AWS::Logs::LogGroup")
    assert logs == {"Sid": "WriteOwnLogs", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Effect": "Allow", "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]}}
    assert secrets["Action"] == ["ssm:GetParameter", "secretsmanager:GetSecretValue"]
    resources = json.dumps(secrets["Resource"])
    assert ":parameter/testbed/*" in resources and ":secret:testbed/*" in resources
    assert len(secrets["Resource"]) == 2


def test_outputs_name_the_table_function_and_state_machine(template: Any) -> None:
    template.has_output(config.OUTPUT_TABLE_NAME, {})
    template.has_output(config.OUTPUT_FUNCTION_ARN, {})
    template.has_output(config.OUTPUT_STATE_MACHINE_ARN, {})


def test_the_asl_names_the_table_the_stack_creates() -> None:
    definition = json.loads(config.ASL_PATH.read_text())
    assert definition["States"]["FetchTemplateFromDynamoDB"]["Parameters"]["TableName"] == config.TABLE_NAME


def test_the_stack_name_context_names_the_stack_and_a_bad_one_is_refused() -> None:
    import pytest

    from api_stack.stack import ContextError, stack_name  # see INFRA_GROUP

    assert stack_name(None) == config.STACK_NAME
    assert stack_name("ApiTemplateTestbed-run-42") == "ApiTemplateTestbed-run-42"
    for bad in ("42-first-a-digit", "has_underscore", "x" * 129):
        with pytest.raises(ContextError, match=config.CONTEXT_STACK_NAME):
            stack_name(bad)
