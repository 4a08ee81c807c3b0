"""Resolve `{{ secret('name') }}` from SSM Parameter Store or Secrets Manager.

Names: `ssm:/path/to/param` or a bare `/path/to/param` (SSM, decrypted), and
`secretsmanager:name` (its SecretString). Templates hold names only, never values, and each
template allow-lists the names it may use (its `secrets` field, checked in secrets.py).
boto3 comes from the Lambda runtime; AWS_ENDPOINT_URL points it at the emulator locally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .errors import RenderError


def resolver(client_factory: Callable[[str], Any] = boto3.client) -> Callable[[str], str]:
    """A resolver that fetches each name once per invocation."""
    cache: dict[str, str] = {}
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = client_factory(service)
        return clients[service]

    def resolve(name: str) -> str:
        if name not in cache:
            cache[name] = _fetch(name, client)
        return cache[name]

    return resolve


def _fetch(name: str, client: Callable[[str], Any]) -> str:
    try:
        if name.startswith("secretsmanager:"):
            secret = client("secretsmanager").get_secret_value(SecretId=name.removeprefix("secretsmanager:"))
            value = secret.get("SecretString")
        else:
            parameter = client("ssm").get_parameter(Name=name.removeprefix("ssm:"), WithDecryption=True)
            value = parameter["Parameter"]["Value"]
    except (ClientError, BotoCoreError) as exc:
        # The error code only: never the response, which could echo a value.
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
        raise RenderError(f"secret '{name}' could not be read ({code})") from None
    if not isinstance(value, str):
        raise RenderError(f"secret '{name}' has no string value")
    return value
