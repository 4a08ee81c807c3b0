"""The deployment's fixed facts, in one place: physical names, Lambda runtime and sizing.

Pure Python (no aws_cdk import): the CDK stack builds from it, and the harness
(`testbed.settings`) re-exports it, so the tests, the CLI and the deployed stack can never
disagree on a name. The table name also appears in statemachines/api_call.asl.json, which
is deployed unchanged; `tests/infra` checks the two agree.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

STACK_NAME = "ApiTemplateTestbed"
TABLE_NAME = "API_Template_Table"
FUNCTION_NAME = "GenericApiCallLambda"
STATE_MACHINE_NAME = "ApiCallStateMachine"
LAMBDA_ROLE_NAME = "GenericApiCallLambdaRole"
STATE_MACHINE_ROLE_NAME = "ApiCallStateMachineRole"
LOG_GROUP_NAME = f"/aws/lambda/{FUNCTION_NAME}"

LAMBDA_DIR = REPO_ROOT / "lambdas" / "generic_api_call"
LAMBDA_PACKAGE = "generic_api_call"
LAMBDA_HANDLER = "generic_api_call.handler.lambda_handler"
LAMBDA_RUNTIME = "python3.11"
LAMBDA_TIMEOUT_SECONDS = 30
LAMBDA_MEMORY_MB = 256
# Wheels for the platform AWS Lambda runs (x86_64). The same bundle runs on MiniStack,
# whose Lambdas are subprocesses of a CPython 3.11 on x86_64 Linux (host or container).
LAMBDA_PLATFORM = "manylinux2014_x86_64"

ASL_PATH = REPO_ROOT / "statemachines" / "api_call.asl.json"
# The ASL placeholder DefinitionSubstitutions fills with the function's ARN.
LAMBDA_ARN_PLACEHOLDER = "GenericApiCallLambdaArn"

# Secrets and parameters the Lambda may read (a template's `secrets:` names must live here):
# SSM parameters under /<prefix>/..., Secrets Manager secrets named <prefix>/....
DEFAULT_SECRET_PREFIX = "testbed"

# Stack parameters (CloudFormation), set per deployment without re-synthesizing.
PARAM_API_BASE_URL = "ApiBaseUrl"
PARAM_ALLOWED_HOSTS = "AllowedHosts"
PARAM_LOG_LEVEL = "LogLevel"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# Context keys (cdk.json, `cdk -c key=value`, or testbed.deploy.synth): they change the template.
CONTEXT_REMOVAL = "removalPolicy"  # "retain" (default, AWS) | "destroy" (the emulator)
CONTEXT_SECRET_PREFIX = "secretPrefix"
# The CloudFormation stack's name (default STACK_NAME). The construct id, hence the assembly's
# file names and `cdk deploy`'s stack selector, stays STACK_NAME: the aws backend deploys one
# stack per run (ApiTemplateTestbed-<run id>) from the same assembly layout.
CONTEXT_STACK_NAME = "stackName"

# Stack outputs, read by the harness after a deploy.
OUTPUT_TABLE_NAME = "TableName"
OUTPUT_FUNCTION_ARN = "FunctionArn"
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
