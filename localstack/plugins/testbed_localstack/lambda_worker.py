"""One warm Python Lambda execution environment, run by `lambda_executor` as a local process.

Started as `python -I -S lambda_worker.py <code dir> <runtime packages dir>`: no site-packages,
no PYTHON* variables, not even this script's folder on `sys.path`, which then holds the
function's code, the standard library and the folder of the AWS runtime's own packages (boto3,
botocore and their dependencies), as on AWS. Standard library only.

Protocol (one JSON object per line): stdin brings `{"request_id", "arn", "payload", "deadline"}`,
the real stdout answers `{"error": bool, "payload": str}`. Everything the function prints or logs
goes to stderr (its log stream); after each invocation a line `MARKER + request_id` closes that
invocation's logs, so the executor never waits on silence to know they are complete.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

MARKER = "\x1etestbed-lambda-end "
# The AWS Python runtime's log line (awslambdaric's LambdaLoggerHandler, text format).
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
_request_id = ""


class Context:
    """The handler's context object, with the attributes the AWS runtime gives it."""

    def __init__(self, request_id: str, arn: str, deadline: float) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """The AWS Python runtime's error document."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": _request_id,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:]),
    }


def install_logging() -> None:
    def record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = default_factory(*args, **kwargs)
        record.aws_request_id = _request_id
        return record

    default_factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(record_factory)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    logging.Formatter.converter = time.gmtime
    logging.getLogger().addHandler(handler)


def load_handler() -> tuple[Any, dict[str, Any] | None]:
    """The handler function, or the init error every invocation then reports (as AWS does)."""
    module_name, _, function_name = os.environ.get("_HANDLER", "").rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        print(f"[ERROR] Runtime.ImportModuleError: {message}", file=sys.stderr)
        return None, {"errorMessage": message, "errorType": "Runtime.ImportModuleError", "stackTrace": []}
    handler = getattr(module, function_name, None)
    if handler is None:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        return None, {"errorMessage": message, "errorType": "Runtime.HandlerNotFound", "stackTrace": []}
    return handler, None


def invoke(handler: Any, init_error: dict[str, Any] | None, message: dict[str, Any]) -> tuple[bool, str]:
    if init_error is not None:
        return True, json.dumps(init_error)
    try:
        result = handler(json.loads(message["payload"]), Context(_request_id, message["arn"], message["deadline"]))
    except Exception as exc:
        document = error_payload(exc)
        print(f"[ERROR] {document['errorType']}: {document['errorMessage']}", file=sys.stderr)
        print("".join(traceback.format_exception(exc)), file=sys.stderr, end="")
        return True, json.dumps(document)
    try:
        return False, json.dumps(result)
    except (TypeError, ValueError) as exc:
        return True, json.dumps(error_payload(exc, "Runtime.MarshalError"))


def main() -> None:
    global _request_id
    code_dir, runtime_packages = sys.argv[1], sys.argv[2]
    sys.path.insert(0, code_dir)
    sys.path.append(runtime_packages)
    protocol = sys.stdout
    sys.stdout = sys.stderr  # print() goes to the log stream, as on AWS
    install_logging()
    handler, init_error = load_handler()
    protocol.write('{"ready": true}\n')
    protocol.flush()
    for line in sys.stdin:
        message = json.loads(line)
        _request_id = message["request_id"]
        os.environ["_X_AMZN_TRACE_ID"] = message.get("trace_id", "")
        is_error, payload = invoke(handler, init_error, message)
        sys.stderr.write(f"{MARKER}{_request_id}\n")
        sys.stderr.flush()
        protocol.write(json.dumps({"error": is_error, "payload": payload}) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
