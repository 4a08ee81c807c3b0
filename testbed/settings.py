"""Names and paths shared by the seed, the stacks, the CLI and the tests."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TABLE_NAME = "API_Template_Table"
FUNCTION_NAME = "GenericApiCallLambda"
STATE_MACHINE_NAME = "ApiCallStateMachine"
LAMBDA_ROLE_NAME = "GenericApiCallLambdaRole"
STATE_MACHINE_ROLE_NAME = "ApiCallStateMachineRole"

TEMPLATES_DIR = ROOT / "seed" / "templates"
ASL_PATH = ROOT / "statemachines" / "api_call.asl.json"
LAMBDA_DIR = ROOT / "lambdas" / "generic_api_call"
LAMBDA_PACKAGE = "generic_api_call"
LAMBDA_HANDLER = "generic_api_call.handler.lambda_handler"
LAMBDA_RUNTIME = "python3.11"
LAMBDA_TIMEOUT_SECONDS = 30
LAMBDA_MEMORY_MB = 256
MOCKAPI_STUBS = ROOT / "mockapi" / "stubs.yaml"
SFN_MOCK_CONFIG = ROOT / "localstack" / "sfn_mock_config.json"

# Generated state (pid files, logs, build cache): gitignored. Containers that mount the
# repository read-only point it elsewhere.
STATE_DIR = Path(os.environ.get("TESTBED_STATE_DIR") or ROOT / ".testbed")
