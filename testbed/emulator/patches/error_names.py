"""Lambda errors carry the runtime's fields: `errorType` (the exception's class), `requestId`, `stackTrace`.

On AWS, the Python runtime reports an exception raised by a handler as
`{"errorMessage", "errorType": type(exc).__name__, "requestId", "stackTrace": [frames]}`
(the stack from the handler's frame down, as `traceback.format_list` writes it), and Step
Functions matches `Retry`/`Catch` on `errorType` and puts that JSON into the Cause.
Upstream (MiniStack 1.5.33) the warm worker writes only `str(exc)` and the traceback, and
`_execute_function_warm` reports every handler exception as
`{"errorMessage", "errorType": "Runtime.HandlerError"}`.

Reading the name back from the traceback's last line is spoofable: a param can put a
newline and `UpstreamTimeout: ...` into an exception message. So the worker script is
patched to send `errorType` and `stackTrace` beside its message, in the JSON line it already
writes (fields the message cannot reach), `Worker.invoke` passes them on, and the warm
executor puts them, with the invocation's request id, into the error body. It also notes
each invocation's request id for the thread (`last_request_id`), which the lambda:invoke
result carries (lambda_invoke.py).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

NAME = "error-names"
GENERIC = "Runtime.HandlerError"
UPSTREAM = {
    "ministack.core.lambda_runtime._PYTHON_WORKER_SCRIPT":
        "368800addf4dc998ee6491e17deca9781150a67dd6cca91ac71973e9e3f54aa2",
    "ministack.core.lambda_runtime.Worker.invoke":
        "96751a75471021ecc05362bd28031305be50ff352345c5f7b1f9b7924a467b31",
    "ministack.services.lambda_svc._execute_function_warm":
        "62b9218bef5b948a23c3269d6fb7260f88dda21cb88a1962ab72e4dceac81153",
}
WORKER_OLD = 'json.dumps({"status": "error", "error": str(e), "trace": traceback.format_exc()})'
# The first frame is the worker's own call of the handler: AWS's stack starts at the handler.
WORKER_NEW = ('json.dumps({"status": "error", "error": str(e), "trace": traceback.format_exc(), '
              '"errorType": type(e).__name__, '
              '"stackTrace": traceback.format_list(traceback.extract_tb(e.__traceback__)[1:])})')

_last = threading.local()  # this thread's last worker invocation: error_type, stack_trace, request_id


def apply() -> None:
    from ministack.core import lambda_runtime
    from ministack.services import lambda_svc

    from testbed.emulator.patches.source import replace_once

    if WORKER_NEW not in lambda_runtime._PYTHON_WORKER_SCRIPT:
        lambda_runtime._PYTHON_WORKER_SCRIPT = replace_once(
            lambda_runtime._PYTHON_WORKER_SCRIPT, WORKER_OLD, WORKER_NEW, "lambda_runtime._PYTHON_WORKER_SCRIPT")
    worker_class = lambda_runtime.Worker
    if getattr(worker_class.invoke, "__testbed_patch__", None) != NAME:
        worker_class.invoke = _recording_error_type(worker_class.invoke)
    if getattr(lambda_svc._execute_function_warm, "__testbed_patch__", None) != NAME:
        lambda_svc._execute_function_warm = with_error_type(lambda_svc._execute_function_warm)


def last_request_id() -> str | None:
    """The request id of this thread's last warm invocation (None if it made none)."""
    return getattr(_last, "request_id", None)


def _recording_error_type(invoke: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(invoke)
    def recording(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        response = invoke(self, *args, **kwargs)
        error_type = response.get("errorType") if isinstance(response, dict) else None
        _last.error_type = error_type if isinstance(error_type, str) and error_type.isidentifier() else None
        trace = response.get("stackTrace") if isinstance(response, dict) else None
        _last.stack_trace = trace if isinstance(trace, list) and all(isinstance(t, str) for t in trace) else None
        return response

    recording.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return recording


def with_error_type(execute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap the warm executor: the worker's `errorType` for the generic name, then requestId and stackTrace."""

    @functools.wraps(execute)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _last.error_type = _last.stack_trace = None
        _last.request_id = request_id = args[2] if len(args) > 2 else kwargs.get("request_id")
        result = execute(*args, **kwargs)
        error_type, _last.error_type = getattr(_last, "error_type", None), None
        trace, _last.stack_trace = getattr(_last, "stack_trace", None), None
        body = result.get("body") if isinstance(result, dict) and result.get("error") else None
        if error_type and isinstance(body, dict) and body.get("errorType") == GENERIC:
            body["errorType"] = error_type
            if isinstance(request_id, str):
                body["requestId"] = request_id
            body["stackTrace"] = trace or []
        return result

    wrapper.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return wrapper
