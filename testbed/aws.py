"""The one factory for AWS clients, for a target: an emulator's endpoint (or AWS) and a region.

A `Target` comes from the configuration (`Config`) or from a stack (`Stack.target`). When an
emulator is the target and no credentials are set, dummy ones are used, so nothing ever needs
real AWS credentials locally or in CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from testbed.config import Config

DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@dataclass(frozen=True)
class Target:
    endpoint: str | None  # an emulator; None: AWS itself
    region: str
    has_credentials: bool = False  # credentials are configured: use them, also for an emulator

    @classmethod
    def of(cls, config: Config, endpoint: str | None = None) -> Target:
        """`endpoint`, else the configuration's AWS_ENDPOINT_URL."""
        return cls(endpoint or config.aws_endpoint, config.region, config.has_credentials)

    @property
    def label(self) -> str:
        return self.endpoint or f"AWS ({self.region})"


def client(service: str, target: Target) -> Any:
    """A boto3 client for `service` at `target`."""
    kwargs: dict[str, Any] = {"region_name": target.region}
    config = BotoConfig(retries={"mode": "standard", "max_attempts": 3})
    if target.endpoint:
        kwargs["endpoint_url"] = target.endpoint
        if not target.has_credentials:
            kwargs.update(DUMMY_CREDENTIALS)
        # StartSyncExecution prefixes the host with "sync-", which no local endpoint resolves.
        config = config.merge(BotoConfig(inject_host_prefix=False))
    return boto3.client(service, config=config, **kwargs)


def state_machine_arn(target: Target, name: str, account: str | None = None) -> str:
    """The state machine's ARN (the one home of its format)."""
    account = account or client("sts", target).get_caller_identity()["Account"]
    return f"arn:aws:states:{target.region}:{account}:stateMachine:{name}"
