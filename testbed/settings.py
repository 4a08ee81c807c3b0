"""Names and paths (of the source tree) shared by the deploy, the stacks, the CLI and the tests.

The deployment's names and the Lambda's runtime settings are defined once, in the CDK app
(`infra/api_stack/config.py`), and re-exported here; the harness never restates them.
"""

from __future__ import annotations

from pathlib import Path

from api_stack.config import (  # noqa: F401  (re-exported for the harness and the tests)
    ASL_PATH,
    FUNCTION_NAME,
    LAMBDA_ARN_PLACEHOLDER,
    LAMBDA_DIR,
    LAMBDA_HANDLER,
    LAMBDA_MEMORY_MB,
    LAMBDA_PACKAGE,
    LAMBDA_ROLE_NAME,
    LAMBDA_RUNTIME,
    LAMBDA_TIMEOUT_SECONDS,
    LOG_GROUP_NAME,
    OUTPUT_STATE_MACHINE_ARN,
    PARAM_ALLOWED_HOSTS,
    PARAM_API_BASE_URL,
    PARAM_LOG_LEVEL,
    STACK_NAME,
    STATE_MACHINE_NAME,
    STATE_MACHINE_ROLE_NAME,
    TABLE_NAME,
)

ROOT = Path(__file__).resolve().parent.parent

TEMPLATES_DIR = ROOT / "seed" / "templates"
CONTRACTS_DIR = ROOT / "seed" / "contracts"  # OpenAPI documents the mock API checks requests against
MOCKAPI_STUBS = ROOT / "mockapi" / "stubs.yaml"
# `testbed record --stop --name NAME` writes mockapi/recordings/NAME/ (mappings/*.json, NAME.har).
RECORDINGS_DIR = ROOT / "mockapi" / "recordings"
SFN_MOCK_CONFIG = ROOT / "localstack" / "sfn_mock_config.json"
