"""The Lambda functions and DynamoDB tables a case needs: created before it, deleted after."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from testbed.parity import handlers
from testbed.parity.names import Names

LAMBDA_TIMEOUT_SECONDS = 30


class Unsupported(RuntimeError):
    """A case needs something the runner cannot create (another resource kind, a handler we lack)."""


def check(resources: list[dict[str, Any]]) -> None:
    """Raise Unsupported before anything is created."""
    for resource in resources:
        kind = resource.get("kind")
        if kind == "lambda":
            if handlers.source(resource.get("handler_file", "")) is None:
                raise Unsupported(f"no handler of ours for {resource.get('handler_file')!r}")
        elif kind != "dynamodb_table":
            raise Unsupported(f"resource kind {kind!r}")


@dataclass
class Created:
    """What one case created, deleted in reverse order whatever happened."""

    undo: list[Callable[[], Any]] = field(default_factory=list)

    def cleanup(self) -> None:
        for step in reversed(self.undo):
            with contextlib.suppress(ClientError):  # already gone: nothing left to clean
                step()


def create(clients: Any, resources: list[dict[str, Any]], names: Names, created: Created) -> None:
    for resource in resources:
        name = names.add(resource["name"])
        if resource["kind"] == "lambda":
            _create_function(clients.lambda_, name, resource, names, created)
        else:
            _create_table(clients.dynamodb, name, resource["partition_key"], created)
    for resource in resources:
        if resource["kind"] == "lambda":
            clients.lambda_.get_waiter("function_active_v2").wait(
                FunctionName=names.ours[resource["name"]], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
        else:
            clients.dynamodb.get_waiter("table_exists").wait(
                TableName=names.ours[resource["name"]], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})


def _create_function(lambda_: Any, name: str, resource: dict[str, Any], names: Names, created: Created) -> None:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", handlers.source(resource["handler_file"]) or "")
    lambda_.create_function(
        FunctionName=name, Runtime=resource.get("runtime", "python3.12"),
        Handler=resource.get("handler", "handler.handler"), Role=names.role_arn,
        Code={"ZipFile": code.getvalue()}, Timeout=LAMBDA_TIMEOUT_SECONDS,
    )
    created.undo.append(lambda: lambda_.delete_function(FunctionName=name))


def _create_table(dynamodb: Any, name: str, partition_key: str, created: Created) -> None:
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": partition_key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": partition_key, "KeyType": "HASH"}],
    )
    created.undo.append(lambda: dynamodb.delete_table(TableName=name))
