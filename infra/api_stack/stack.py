"""ApiTemplateStack: table, Lambda, state machine and their IAM, from one definition.

What differs between AWS and the emulator is explicit and small:
- stack parameters (`ApiBaseUrl`, `AllowedHosts`, `LogLevel`) are set per deployment, so one
  synthesized template serves both;
- context `removalPolicy`: `retain` (default, AWS: data survives a stack deletion) or
  `destroy` (the emulator: `make down` leaves nothing behind).
The state machine is `statemachines/api_call.asl.json`, unchanged, with the function's ARN
substituted by CloudFormation (DefinitionSubstitutions).
"""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    AssetHashType,
    BundlingOptions,
    CfnOutput,
    CfnParameter,
    DockerImage,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from api_stack import bundling, config

_REMOVAL = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}


class ContextError(ValueError):
    """A context value the stack does not accept; the message names the key and the choices."""


def removal_policy(value: object) -> RemovalPolicy:
    text = str(value or "retain").lower()
    if text not in _REMOVAL:
        raise ContextError(f"context {config.CONTEXT_REMOVAL}={value!r}: use one of {sorted(_REMOVAL)}")
    return _REMOVAL[text]


def secret_prefix(value: object) -> str:
    text = str(value or config.DEFAULT_SECRET_PREFIX).strip("/")
    if not text or any(c in text for c in "*?"):
        raise ContextError(f"context {config.CONTEXT_SECRET_PREFIX}={value!r}: a path prefix without wildcards")
    return text


# CloudFormation's rule for stack names.
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


def stack_name(value: object) -> str:
    text = str(value or config.STACK_NAME)
    if not _STACK_NAME.fullmatch(text):
        raise ContextError(f"context {config.CONTEXT_STACK_NAME}={value!r}: a CloudFormation stack name "
                           "(a letter, then letters, digits and hyphens; at most 128 characters)")
    return text


class ApiTemplateStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, build_cache: Path, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        removal = removal_policy(self.node.try_get_context(config.CONTEXT_REMOVAL))
        prefix = secret_prefix(self.node.try_get_context(config.CONTEXT_SECRET_PREFIX))
        self._prefix = prefix

        api_base_url = CfnParameter(
            self, config.PARAM_API_BASE_URL, type="String", allowed_pattern=r"https?://.+",
            description="Where the Lambda reaches the external API; templates use it as {{ base_url }}.")
        allowed_hosts = CfnParameter(
            self, config.PARAM_ALLOWED_HOSTS, type="String", min_length=1,
            description="The Lambda's destination allow-list: comma-separated host[:port], e.g. api.example.com:443.")
        log_level = CfnParameter(
            self, config.PARAM_LOG_LEVEL, type="String", default="INFO", allowed_values=list(config.LOG_LEVELS),
            description="The Lambda's log level.")

        table = dynamodb.Table(
            self, "TemplateTable", table_name=config.TABLE_NAME,
            partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="SK", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=removal,
        )

        log_group = logs.LogGroup(
            self, "FunctionLogs", log_group_name=config.LOG_GROUP_NAME,
            retention=logs.RetentionDays.ONE_MONTH, removal_policy=removal)

        lambda_role = iam.Role(
            self, "FunctionRole", role_name=config.LAMBDA_ROLE_NAME,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="GenericApiCallLambda: write its logs, read the secrets templates may name.")
        lambda_role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{log_group.log_group_arn}"]))
        ssm_arn = self.format_arn(service="ssm", resource="parameter", resource_name=f"{prefix}/*")
        secret_arn = self.format_arn(service="secretsmanager", resource="secret", resource_name=f"{prefix}/*",
                                     arn_format=ArnFormat.COLON_RESOURCE_NAME)
        lambda_role.add_to_policy(iam.PolicyStatement(
            sid="ReadTemplateSecrets", actions=["ssm:GetParameter", "secretsmanager:GetSecretValue"],
            resources=[ssm_arn, secret_arn]))

        function = lambda_.Function(
            self, "Function", function_name=config.FUNCTION_NAME,
            runtime=lambda_.Runtime(config.LAMBDA_RUNTIME, lambda_.RuntimeFamily.PYTHON),
            handler=config.LAMBDA_HANDLER,
            code=lambda_.Code.from_asset(
                str(config.LAMBDA_DIR),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=bundling.source_hash(config.LAMBDA_DIR, build_cache),
                bundling=BundlingOptions(
                    # Never pulled: local bundling always succeeds or raises.
                    image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.11"),
                    local=bundling.LocalBundling(config.LAMBDA_DIR, build_cache),
                ),
            ),
            timeout=Duration.seconds(config.LAMBDA_TIMEOUT_SECONDS),
            memory_size=config.LAMBDA_MEMORY_MB,
            role=lambda_role,
            environment={
                "API_BASE_URL": api_base_url.value_as_string,
                "ALLOWED_HOSTS": allowed_hosts.value_as_string,
                "LOG_LEVEL": log_level.value_as_string,
            },
        )
        function.node.add_dependency(log_group)

        sfn_role = iam.Role(
            self, "StateMachineRole", role_name=config.STATE_MACHINE_ROLE_NAME,
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="ApiCallStateMachine: read one template item, invoke GenericApiCallLambda.")
        sfn_role.add_to_policy(iam.PolicyStatement(
            sid="ReadTemplates", actions=["dynamodb:GetItem"], resources=[table.table_arn]))
        sfn_role.add_to_policy(iam.PolicyStatement(
            sid="InvokeApiCallLambda", actions=["lambda:InvokeFunction"], resources=[function.function_arn]))

        state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=config.STATE_MACHINE_NAME,
            definition_body=sfn.DefinitionBody.from_file(str(config.ASL_PATH)),
            definition_substitutions={config.LAMBDA_ARN_PLACEHOLDER: function.function_arn},
            role=sfn_role,
            state_machine_type=sfn.StateMachineType.STANDARD,
        )

        CfnOutput(self, config.OUTPUT_TABLE_NAME, value=table.table_name)
        CfnOutput(self, config.OUTPUT_FUNCTION_ARN, value=function.function_arn)
        CfnOutput(self, config.OUTPUT_STATE_MACHINE_ARN, value=state_machine.state_machine_arn)
        self._acknowledge(lambda_role, function, state_machine)


    def _acknowledge(self, lambda_role: iam.Role, function: lambda_.Function, state_machine: sfn.StateMachine) -> None:
        """cdk-nag AwsSolutions findings we accept, each with its reason (everything else fails the synth)."""
        wildcard = "Templates name their secrets at run time (`secrets:` in the item), so the Lambda may read " \
                   "any secret under the documented prefix and nothing else; the Lambda also refuses names the " \
                   "template does not allow-list."
        Validations.of(lambda_role).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:"
                              "<AWS::AccountId>:parameter/" + self._prefix + "/*]", reason=wildcard),
            Acknowledgment(id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:"
                              "<AWS::Region>:<AWS::AccountId>:secret:" + self._prefix + "/*]", reason=wildcard),
        )
        Validations.of(function).acknowledge(Acknowledgment(
            id="AwsSolutions-L1",
            reason="python3.11 on purpose: the emulator runs the Lambda with its own CPython 3.11, so the tested "
                   "runtime is the deployed one. Change config.LAMBDA_RUNTIME and the emulator image together."))
        Validations.of(state_machine).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SF1",
                reason="Each execution's history (states, inputs, errors) is the audit trail and the Lambda logs "
                       "every call; logging ALL events would copy rendered requests, secrets included, to logs."),
            Acknowledgment(
                id="AwsSolutions-SF2",
                reason="The project does not use X-Ray; enable tracing per account policy if you do."),
        )
