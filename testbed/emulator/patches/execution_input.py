"""StartExecution checks its input as AWS does: at most 256 KiB, and valid JSON.

Upstream (`_start_execution` / `_start_sync_execution`, MiniStack 1.5.33) accepts any
input: 300 KiB and 2 MiB inputs run, and an input that is not JSON silently becomes `{}`.
AWS limits execution input to 256 KiB of UTF-8 (the API model's `max: 262144`; the
quota page: "Maximum input or output size for a task, state, or execution") and answers
`ValidationException` over it, and `InvalidExecutionInput` for input that is not JSON.
An input nested deeper than Python's parser can read (about 1,000 levels) is refused with
`InvalidExecutionInput` too: upstream it crashed the execution thread and left the
execution RUNNING forever (see README, fidelity notes, for how AWS differs there).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

NAME = "execution-input"
MAX_INPUT_BYTES = 262144
UPSTREAM = {
    "ministack.services.stepfunctions._start_execution":
        "9923282fc76c57b9d2541cc83863bfb69f2472b29aec9a9fc3454f3d19d045b4",
    "ministack.services.stepfunctions._start_sync_execution":
        "8600470a0208036c033f7af10253c51fa62781d9ae04057bc98a964ff7f8650b",
}

Handler = Callable[[dict[str, Any]], Any]


def input_problem(text: Any) -> tuple[str, str] | None:
    """(error code, message) if AWS would refuse this execution input, else None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return "ValidationException", "input must be a string holding JSON"
    size = len(text.encode("utf-8"))
    if size > MAX_INPUT_BYTES:
        return ("ValidationException",
                f"1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_INPUT_BYTES} (got {size} bytes)")
    try:
        json.loads(text)
    except RecursionError:
        return "InvalidExecutionInput", "Invalid State Machine Execution Input: nested too deeply to parse"
    except ValueError as exc:
        return "InvalidExecutionInput", f"Invalid State Machine Execution Input: {exc}"
    return None


def apply() -> None:
    from ministack.core.responses import error_response_json
    from ministack.services import stepfunctions

    for name in ("_start_execution", "_start_sync_execution"):
        handler = getattr(stepfunctions, name)
        if getattr(handler, "__testbed_patch__", None) != NAME:
            setattr(stepfunctions, name, _checked(handler, error_response_json))


def _checked(handler: Handler, error_response: Callable[..., Any]) -> Handler:
    @functools.wraps(handler)
    def checked(data: dict[str, Any]) -> Any:
        problem = input_problem(data.get("input")) if isinstance(data, dict) else None
        if problem:
            return error_response(problem[0], problem[1], 400)
        return handler(data)

    checked.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return checked
