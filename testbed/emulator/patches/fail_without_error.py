"""A Fail state without `Error` (or `ErrorPath`) fails the execution with no error name, as on AWS.

Upstream (`_fail_state_error`, MiniStack 1.5.33) fills in `States.Fail`, so DescribeExecution
shows `error: States.Fail` and a Retry/Catch on `States.Fail` would match. AWS records no
error at all (the parity cases `test_fail_cause_jsonata`, `test_map_state_catch_empty_fail`);
only `States.ALL` matches such a failure. The default becomes None; DescribeExecution
already leaves an empty error out.
"""

from __future__ import annotations

from testbed.emulator.patches.source import patch_function_source

NAME = "fail-without-error"
UPSTREAM = {
    "ministack.services.stepfunctions._fail_state_error":
        "98f66cfa4b717fe8deec1b92d152186805bddea034ad5dc1eccc2d631ab82cc0",
}
OLD = '_fail_state_field(state_def, "Error", "States.Fail", raw_input, ctx)'
NEW = '_fail_state_field(state_def, "Error", None, raw_input, ctx)'


def apply() -> None:
    from ministack.services import stepfunctions

    patch_function_source(stepfunctions, "_fail_state_error", OLD, NEW, NAME)
