"""DynamoDB tasks (`arn:aws:states:::dynamodb:getItem` ...) answer and fail as on AWS.

Upstream (`_invoke_dynamodb`, MiniStack 1.5.33):
- the result is DynamoDB's JSON body alone (`{}` for putItem);
- an error is `DynamoDB.<wire code>` with DynamoDB's bare message;
- a null `Item`/`Key` reaches the table lookup (`ResourceNotFoundException`).
AWS (the parity cases) runs the integration on the AWS SDK for Java:
- the result also has `SdkHttpMetadata` (the response's headers and status; getItem's request
  id header is spelled `x-amzn-requestid`, the others' `x-amzn-RequestId`) and
  `SdkResponseMetadata` (its request id);
- an error the SDK models (`ResourceNotFoundException`, `ConditionalCheckFailedException`,
  ...: the exception shapes of DynamoDB's API model) keeps its name, any other
  (`ValidationException`) is `DynamoDB.AmazonDynamoDBException`; the Cause is the message
  plus `(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: <code>; Request ID: <id>;
  Proxy: null)`;
- a null required member is refused first: `1 validation error detected: Value null at
  'item' failed to satisfy constraint: Member must not be null`.
`_invoke_dynamodb` is replaced by `invoke` (same four operations, same DynamoDB handlers).
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from testbed.emulator.patches.source import replace_function

NAME = "dynamodb-task"
UPSTREAM = {
    "ministack.services.stepfunctions._invoke_dynamodb":
        "3d538d8656c8644143fc231985c69239e8c46bcfa67501252e32e502ce1712d2",
}
# The exception shapes of botocore's DynamoDB model (tests/unit check the list against it);
# the Java SDK names a shape's class with an `Exception` suffix.
MODELED = frozenset({
    "BackupInUseException", "BackupNotFoundException", "ConditionalCheckFailedException",
    "ContinuousBackupsUnavailableException", "DuplicateItemException", "ExportConflictException",
    "ExportNotFoundException", "GlobalTableAlreadyExistsException", "GlobalTableNotFoundException",
    "IdempotentParameterMismatchException", "ImportConflictException", "ImportNotFoundException",
    "IndexNotFoundException", "InternalServerError", "InvalidExportTimeException", "InvalidRestoreTimeException",
    "ItemCollectionSizeLimitExceededException", "LimitExceededException", "PointInTimeRecoveryUnavailableException",
    "PolicyNotFoundException", "ProvisionedThroughputExceededException", "ReplicaAlreadyExistsException",
    "ReplicaNotFoundException", "ReplicatedWriteConflictException", "RequestLimitExceeded",
    "ResourceInUseException", "ResourceNotFoundException", "TableAlreadyExistsException", "TableInUseException",
    "TableNotFoundException", "ThrottlingException", "TransactionCanceledException",
    "TransactionConflictException", "TransactionInProgressException",
})
GENERIC = "AmazonDynamoDBException"
# Operation -> its required members (wire name, name in the message).
REQUIRED = {
    "putItem": (("TableName", "tableName"), ("Item", "item")),
    "getItem": (("TableName", "tableName"), ("Key", "key")),
    "deleteItem": (("TableName", "tableName"), ("Key", "key")),
    "updateItem": (("TableName", "tableName"), ("Key", "key")),
}
REQUEST_ID_HEADER = {"getItem": "x-amzn-requestid"}  # as AWS recorded them; the others x-amzn-RequestId


class DynamoDBTaskError(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error, self.cause = error, cause


def request_id() -> str:
    """A DynamoDB-style request id: 52 characters of base32."""
    return base64.b32encode(os.urandom(35)).decode()[:52]


def error_name(code: str) -> str:
    """The Step Functions error for DynamoDB's wire error code."""
    if code not in MODELED:
        return f"DynamoDB.{GENERIC}"
    return f"DynamoDB.{code if code.endswith('Exception') else code + 'Exception'}"


def error_cause(message: str, status: int, code: str) -> str:
    return (f"{message} (Service: AmazonDynamoDBv2; Status Code: {status}; Error Code: {code}; "
            f"Request ID: {request_id()}; Proxy: null)")


def missing_members(op_name: str, parameters: Any) -> str | None:
    """DynamoDB's validation message for null required members, or None."""
    given = parameters if isinstance(parameters, dict) else {}
    missing = [shown for member, shown in REQUIRED.get(op_name, ()) if given.get(member) is None]
    if not missing:
        return None
    noun = "error" if len(missing) == 1 else "errors"
    return f"{len(missing)} validation {noun} detected: " + "; ".join(
        f"Value null at '{shown}' failed to satisfy constraint: Member must not be null" for shown in missing)


def with_metadata(op_name: str, result: dict[str, Any]) -> dict[str, Any]:
    """The task result: DynamoDB's answer plus the SDK's view of the HTTP response."""
    body = json.dumps(result, separators=(",", ":")).encode()
    rid = request_id()
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-amz-json-1.0",
        "Date": formatdate(usegmt=True),
        "Server": "Server",
        "x-amz-crc32": str(zlib.crc32(body)),
        REQUEST_ID_HEADER.get(op_name, "x-amzn-RequestId"): rid,
    }
    return {**result, "SdkHttpMetadata": {"AllHttpHeaders": {k: [v] for k, v in headers.items()},
                                          "HttpHeaders": headers, "HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": rid}}


def invoke(handlers: dict[str, Callable[[Any], tuple[int, Any, Any]]], op_name: str, parameters: Any) -> Any:
    """One DynamoDB task: DynamoDBTaskError(error, cause) on failure, else the result."""
    handler = handlers.get(op_name)
    if handler is None:
        raise DynamoDBTaskError("States.Runtime", f"Unsupported DynamoDB operation: {op_name}")
    invalid = missing_members(op_name, parameters)
    if invalid is not None:
        raise DynamoDBTaskError(error_name("ValidationException"), error_cause(invalid, 400, "ValidationException"))
    status, _, body = handler(parameters)
    result = json.loads(body) if body else {}
    if status >= 400:
        code = str(result.get("__type", GENERIC)).rsplit("#", 1)[-1].rsplit(".", 1)[-1]
        message = result.get("message") or result.get("Message") or ""
        raise DynamoDBTaskError(error_name(code), error_cause(message, status, code))
    return with_metadata(op_name, result)


def apply() -> None:
    from ministack.services import dynamodb, stepfunctions

    handlers = {"putItem": dynamodb._put_item, "getItem": dynamodb._get_item,
                "deleteItem": dynamodb._delete_item, "updateItem": dynamodb._update_item}

    def invoke_dynamodb(op_name: str, input_data: Any) -> Any:
        try:
            return invoke(handlers, op_name, input_data)
        except DynamoDBTaskError as exc:
            raise stepfunctions._ExecutionError(exc.error, exc.cause) from None

    replace_function(stepfunctions, "_invoke_dynamodb", invoke_dynamodb, NAME)
