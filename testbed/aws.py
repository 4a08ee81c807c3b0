"""The one factory for AWS clients: endpoint, region and credentials from the environment.

AWS_ENDPOINT_URL points the clients at an emulator; without it they talk to AWS. When an
emulator is the target and no credentials are set, dummy ones are used, so nothing ever
needs real AWS credentials locally or in CI.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def endpoint_url() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL") or None


def client(service: str, *, endpoint: str | None = None, region_name: str | None = None) -> Any:
    """A boto3 client for `service`; `endpoint` overrides AWS_ENDPOINT_URL."""
    endpoint = endpoint or endpoint_url()
    kwargs: dict[str, Any] = {"region_name": region_name or region()}
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    if endpoint:
        kwargs["endpoint_url"] = endpoint
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs.update(DUMMY_CREDENTIALS)
        # StartSyncExecution prefixes the host with "sync-", which no local endpoint resolves.
        config = config.merge(Config(inject_host_prefix=False))
    return boto3.client(service, config=config, **kwargs)
