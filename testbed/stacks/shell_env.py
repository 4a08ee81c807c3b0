"""`testbed env` / `make env`: shell exports that point the AWS CLI, awslocal, boto3 and the
testbed's own commands at a running stack: `eval "$(make -s env)"`.

AWS_ENDPOINT_URL is what the AWS CLI (v2, and v1 since 1.29) and boto3 honour, so plain
`.venv/bin/aws` works; `awslocal` (deprecated by LocalStack, kept for old scripts) ignores it
and builds its endpoint from LOCALSTACK_HOST, so that is set too. The CLI reads the region
from AWS_DEFAULT_REGION in some code paths (awslocal's), so both region variables are set.
"""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

from testbed.stacks.base import Stack


def variables(stack: Stack) -> dict[str, str]:
    endpoints = stack.endpoints
    region = stack.config.region
    return {
        "AWS_ENDPOINT_URL": endpoints.aws,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "LOCALSTACK_HOST": urlsplit(endpoints.aws).netloc,
        "TESTBED_MOCKAPI_URL": endpoints.mockapi,
    }


def exports(stack: Stack) -> str:
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables(stack).items())
