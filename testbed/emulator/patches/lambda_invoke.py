"""Lambda tasks answer as on AWS: the lambda:invoke result's fields, its Cause, and "function not found".

Upstream (MiniStack 1.5.33):
- `arn:aws:states:::lambda:invoke` results are `{"StatusCode": 200, "Payload": ...}`; a null
  or absent `Payload` parameter sends null (or the whole parameters) as the event.
- a failed invocation's Cause is the error JSON as Python writes it (`", "` separators).
- a missing function fails with `Function not found: <name>`.
AWS (the parity cases):
- the result also has `ExecutedVersion`, `SdkHttpMetadata` (the Invoke response's headers
  and status), `SdkResponseMetadata` (its request id) and, when the parameters ask for
  `LogType: Tail`, `LogResult` (base64 of the log's last 4 KB, START to END); without a `Payload` (or with
  null) the function gets `{}`.
- lambda:invoke's Cause is that JSON re-serialised compactly (`{"errorMessage":"..."}`); a
  Task on a Lambda ARN keeps the runtime's text.
- `Function not found: arn:aws:lambda:<region>:<account>:function:<name>:$LATEST (Service:
  AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: <id>;
  Proxy: null)`, for both kinds of Task.
`_call_lambda` is replaced by `call` (same lookup and execution, AWS's wording), and
`_invoke_resource`'s lambda:invoke branch builds its result with `invoke_result`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from testbed.emulator.patches.source import patch_function_source, replace_function

NAME = "lambda-invoke"
UPSTREAM = {
    "ministack.services.stepfunctions._call_lambda":
        "25830369b12636da09a4e4650489842a507f43aa952b5186a47458ff6f3c47d5",
    "ministack.services.stepfunctions._invoke_resource":
        "a85d2be9a8584ce0f8660e27ccc9e1687a5f5d167a727613b8ee0c90bdd53d69",
}
OLD = '''        payload = input_data.get("Payload", input_data)
        func_ref = _resolve_lambda_function_ref(func_ref, optimized=True)
        result = _call_lambda(func_ref, payload)
        return {"StatusCode": 200, "Payload": result}
'''
NEW = '''        func_ref = _resolve_lambda_function_ref(func_ref, optimized=True)
        return _testbed_lambda_invoke(func_ref, input_data)
'''
NOT_FOUND = "Lambda.ResourceNotFoundException"
LOG_TAIL_BYTES = 4096  # what Invoke's X-Amz-Log-Result carries


@dataclass(frozen=True)
class Invocation:
    payload: Any
    version: str
    request_id: str
    log: str


def not_found_cause(function_ref: str, region: str, account: str) -> str:
    """AWS's Cause for a missing function: its full ARN with the qualifier (default $LATEST)."""
    ref = function_ref.split(":function:", 1)[-1] if function_ref.startswith("arn:") else function_ref
    name, _, qualifier = ref.partition(":")
    if function_ref.startswith("arn:") and function_ref.split(":")[3]:
        region = function_ref.split(":")[3]
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}:{qualifier or '$LATEST'}"
    return (f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; "
            f"Request ID: {uuid.uuid4()}; Proxy: null)")


def framed_log(invocation: Invocation) -> str:
    """The invocation's log as Lambda frames it: between START and END lines."""
    body = invocation.log if not invocation.log or invocation.log.endswith("\n") else invocation.log + "\n"
    return (f"START RequestId: {invocation.request_id} Version: {invocation.version}\n{body}"
            f"END RequestId: {invocation.request_id}\n")


def invoke_result(invocation: Invocation, log_type: Any) -> dict[str, Any]:
    """The lambda:invoke task result: the Invoke response as the AWS SDK for Java shows it."""
    body = json.dumps(invocation.payload).encode()  # the runtime's serialisation: its Content-Length
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body)),
        "Content-Type": "application/json",
        "Date": formatdate(usegmt=True),
        "X-Amz-Executed-Version": invocation.version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": invocation.request_id,
        "X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
    }
    result: dict[str, Any] = {"ExecutedVersion": invocation.version}
    if isinstance(log_type, str) and log_type.lower() == "tail":
        result["LogResult"] = headers["X-Amz-Log-Result"] = base64.b64encode(
            framed_log(invocation).encode()[-LOG_TAIL_BYTES:]).decode()
    result.update({
        "Payload": invocation.payload,
        "SdkHttpMetadata": {"AllHttpHeaders": {k: [v] for k, v in headers.items()}, "HttpHeaders": headers,
                            "HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": invocation.request_id},
        "StatusCode": 200,
    })
    return result


def apply() -> None:
    from ministack.services import lambda_svc, stepfunctions

    from testbed.emulator.patches import error_names

    def call(func_ref: Any, event: Any, compact: bool = False) -> Invocation:
        """Upstream's `_call_lambda`, keeping what the result needs and with AWS's error texts."""
        func, config, _ = lambda_svc._get_func_record_for_ref(func_ref)
        if not func or not config:
            raise stepfunctions._ExecutionError(NOT_FOUND, not_found_cause(
                str(func_ref), stepfunctions.get_region(), stepfunctions.get_account_id()))
        record = lambda_svc._execution_record_for_config(func, config)
        result = lambda_svc._execute_function_with_config_scope(record, event)
        request_id = error_names.last_request_id() or str(uuid.uuid4())
        if result.get("error"):
            body = result.get("body", {})
            if isinstance(body, dict):
                cause = json.dumps(body, separators=(",", ":")) if compact else json.dumps(body)
                raise stepfunctions._ExecutionError(body.get("errorType", "Lambda.Unknown"), cause)
            raise stepfunctions._ExecutionError("Lambda.Unknown", str(body))
        body = result.get("body")
        if isinstance(body, (str, bytes)):
            with contextlib.suppress(ValueError):  # upstream's: a text that is not JSON stays text
                body = json.loads(body)
        return Invocation(body, config.get("Version", "$LATEST"), request_id, result.get("log", ""))

    def call_lambda(func_ref: Any, event: Any) -> Any:
        return call(func_ref, event).payload

    def lambda_invoke(func_ref: Any, parameters: dict[str, Any]) -> dict[str, Any]:
        payload = parameters.get("Payload")
        invocation = call(func_ref, {} if payload is None else payload, compact=True)
        return invoke_result(invocation, parameters.get("LogType"))

    replace_function(stepfunctions, "_call_lambda", call_lambda, NAME)
    stepfunctions._testbed_lambda_invoke = lambda_invoke
    patch_function_source(stepfunctions, "_invoke_resource", OLD, NEW, NAME)
