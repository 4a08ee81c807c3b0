"""A Wait state's timestamp must be an ISO-8601 extended offset date-time, as on AWS.

Upstream (`_execute_wait`, `_jsonata_wait_timestamp`, MiniStack 1.5.33) reads a timestamp
with Python's `fromisoformat`, which also takes `2016-12-05 21:29:29Z` (no `T`) and
`2016-12-05T21:29:29` (no offset); with `TimestampPath` an unreadable value does not wait
and the execution succeeds. AWS (the parity cases `test_wait_timestamp_path`,
`test_wait_timestamp_jsonata`) requires `T` and an offset (`Z` or `+hh:mm`), a real date and
time, and takes up to nanoseconds; otherwise:
- `TimestampPath`: `States.Runtime` "The TimestampPath parameter does not reference a valid
  ISO-8601 extended offset date-time format string: $.TimestampValue == <value>";
- JSONata `Timestamp`: `States.QueryEvaluationError` "The Timestamp field cannot be parsed
  as an ISO-8601 extended offset date-time format string: <value>".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from testbed.emulator.patches.evaluation_failed import ERROR
from testbed.emulator.patches.source import replace_function
from testbed.emulator.patches.terminal_errors import runtime_error

NAME = "wait-timestamps"
UPSTREAM = {
    "ministack.services.stepfunctions._execute_wait":
        "a1012679c72d1b0862b8b6d48b3f9f1d5d21ac08d7e8670fd12f6ef8bad4bfed",
    "ministack.services.stepfunctions._jsonata_wait_timestamp":
        "2e780917b75b7f25d1e0f707bc5d65d14d07853de27a77808d7e32cf8e01826c",
}
_SHAPE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def valid(text: Any) -> bool:
    """Whether `text` is an ISO-8601 extended offset date-time of a real moment."""
    match = _SHAPE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return False
    offset = "+00:00" if match[3] == "Z" else match[3]
    try:  # fromisoformat checks the calendar and the clock; it reads at most microseconds
        datetime.fromisoformat(f"{match[1]}.{(match[2] or '0')[:6].ljust(6, '0')}{offset}")
    except ValueError:
        return False
    return True


def jsonata_wait_timestamp(state_def: dict[str, Any], raw_input: Any, ctx: Any) -> Any:
    from ministack.services import stepfunctions as sfn

    timestamp = sfn._jsonata_state_field(state_def, "Timestamp", "string", raw_input, ctx)
    if not valid(timestamp):
        raise sfn._ExecutionError(ERROR, "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                                         f"date-time format string: {timestamp}")
    return timestamp


def apply() -> None:
    from ministack.services import stepfunctions as sfn

    def checked(execute_wait: Callable[..., Any]) -> Callable[..., Any]:
        def execute(state_def: dict[str, Any], raw_input: Any, ctx: Any = None) -> Any:
            path = state_def.get("TimestampPath")
            if path is not None and sfn._state_query_language(state_def, ctx) != "JSONata":
                value = sfn._resolve_path_or_ctx(path, sfn._apply_input_path(state_def, raw_input, ctx), ctx)
                if not valid(value):
                    raise runtime_error(ctx, "The TimestampPath parameter does not reference a valid ISO-8601 "
                                             f"extended offset date-time format string: {path} == {value}")
            return execute_wait(state_def, raw_input, ctx)
        return execute

    replace_function(sfn, "_jsonata_wait_timestamp", jsonata_wait_timestamp, NAME)
    replace_function(sfn, "_execute_wait", checked(sfn._execute_wait), NAME)
