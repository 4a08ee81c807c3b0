"""A state output or task result over 256 KiB fails with `States.DataLimitExceeded`, as on AWS.

Upstream (MiniStack 1.5.33) checks no size after StartExecution, so a large API answer
passes here and fails there. AWS limits a state's output, and a task's result, to the
256 KiB execution payload quota (UTF-8 of the JSON; the limit execution_input checks) and
fails the execution with `States.DataLimitExceeded`, "The state/task 'State_1' returned a
result with a size exceeding the maximum number of bytes service limit." (recorded case
`test_start_large_input`; a task's result names its resource, as AWS quotes a Lambda ARN).
`States.ALL` does not catch it (terminal_errors).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from testbed.emulator.patches.execution_input import MAX_INPUT_BYTES
from testbed.emulator.patches.source import replace_function

NAME = "payload-limit"
UPSTREAM = {
    "ministack.services.stepfunctions._execute_pass":
        "b1dff47048bcf8e1033cb21b8a67d924994d21b9004d17634e017aca4eb9d32c",
    "ministack.services.stepfunctions._execute_task":
        "53c818d247dba62c49b82c78ad185f18083422f2bc30168836d7b4f2dae28d9a",
    "ministack.services.stepfunctions._execute_choice":
        "468955fcd4a438d261fe7d65fe1e6b15e57adf0cc45e67ebc774e4d6d1365b66",
    "ministack.services.stepfunctions._execute_wait":
        "a1012679c72d1b0862b8b6d48b3f9f1d5d21ac08d7e8670fd12f6ef8bad4bfed",
    "ministack.services.stepfunctions._execute_parallel":
        "2166e1f53e5fd48dbcfd4940826e5f421b725798fe2488174ebd11244c077c93",
    "ministack.services.stepfunctions._execute_map":
        "18ad3965291213ada6d870a080c18a942f9e21c9c73a534d6bc962b472ca471e",
    "ministack.services.stepfunctions._invoke_resource":
        "a85d2be9a8584ce0f8660e27ccc9e1687a5f5d167a727613b8ee0c90bdd53d69",
    "ministack.services.stepfunctions._invoke_with_callback":
        "bbb38423156a0d3d46c6fe19292640055cfa72e929d2356153f3a8a6c2c023d9",
}
ERROR = "States.DataLimitExceeded"
STATE_HANDLERS = (
    "_execute_pass", "_execute_task", "_execute_choice", "_execute_wait", "_execute_parallel", "_execute_map",
)
TASK_CALLS = ("_invoke_resource", "_invoke_with_callback")


def too_large(value: Any) -> bool:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8")) > MAX_INPUT_BYTES


def cause(name: str) -> str:
    return f"The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."


def apply() -> None:
    from ministack.services import stepfunctions

    def limited_state(handler: Callable[..., Any]) -> Callable[..., Any]:
        def run_state(state_def: Any, raw_input: Any, *rest: Any) -> Any:
            output, next_name = handler(state_def, raw_input, *rest)
            if too_large(output):
                ctx = rest[-1] or {}
                raise stepfunctions._ExecutionError(ERROR, cause(ctx.get("State", {}).get("Name", "?")))
            return output, next_name
        return run_state

    def limited_task(call: Callable[..., Any]) -> Callable[..., Any]:
        def run_task(resource: Any, *rest: Any) -> Any:
            result = call(resource, *rest)
            if too_large(result):
                raise stepfunctions._ExecutionError(ERROR, cause(str(resource)))
            return result
        return run_task

    for name in STATE_HANDLERS:
        replace_function(stepfunctions, name, limited_state(getattr(stepfunctions, name)), NAME)
    for name in TASK_CALLS:
        replace_function(stepfunctions, name, limited_task(getattr(stepfunctions, name)), NAME)
