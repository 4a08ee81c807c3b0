"""`States.Runtime` and `States.DataLimitExceeded` end the execution, as on AWS.

Upstream (`_error_matches`, MiniStack 1.5.33) lets `States.ALL` (and `States.TaskFailed`)
match every error, and a Catch or Retry naming `States.Runtime` matches it. AWS documents
both as terminal: `States.ALL` "can't catch the States.DataLimitExceeded terminal error or
Runtime error types", and a `States.Runtime` error is neither retried nor caught even when
named (the recorded case `test_catch_states_runtime`: a Catch on `States.Runtime` does not
see an OutputPath that names nothing). `States.DataLimitExceeded` is still matched where a
retrier or catcher names it. Also the one home of the wording of a state's runtime error:
"An error occurred while executing the state 'S' (entered at the event id #N). ...", N the
id of the `<Type>StateEntered` event of the state's latest entry (upstream has no such cause).
"""

from __future__ import annotations

from typing import Any

from testbed.emulator.patches.source import replace_function

NAME = "terminal-errors"
UPSTREAM = {
    "ministack.services.stepfunctions._error_matches":
        "519b9dc729c56a3caca5c301fd662ff40e1925ea47d7b8ad19b98236a9811dfa",
}
RUNTIME = "States.Runtime"
DATA_LIMIT = "States.DataLimitExceeded"
WILDCARDS = ("States.ALL", "States.TaskFailed")


def error_matches(error_equals: list[str], error: str) -> bool:
    """Whether a retrier's or catcher's ErrorEquals matches `error`, as AWS decides."""
    if error == RUNTIME:
        return False
    if error in error_equals:
        return True
    if error == DATA_LIMIT:
        return False
    return "States.ALL" in error_equals or ("States.TaskFailed" in error_equals and error != "States.Timeout")


def state_name(ctx: Any) -> str:
    return str(((ctx or {}).get("State") or {}).get("Name", "?"))


def entered_event_id(ctx: Any) -> int | None:
    """The id of the history event that entered the current state (its latest entry), if recorded."""
    from ministack.services import stepfunctions

    execution = stepfunctions._executions.get(((ctx or {}).get("Execution") or {}).get("Id"))
    name = state_name(ctx)
    for event in reversed(list((execution or {}).get("events", ()))):
        if (event.get("stateEnteredEventDetails") or {}).get("name") == name:
            return int(event["id"])
    return None


def runtime_cause(ctx: Any, detail: str) -> str:
    """The cause of an error raised while running the current state, worded as AWS words it."""
    event_id = entered_event_id(ctx)
    entered = "" if event_id is None else f" (entered at the event id #{event_id})"
    return f"An error occurred while executing the state '{state_name(ctx)}'{entered}. {detail}"


def runtime_error(ctx: Any, detail: str) -> Exception:
    from ministack.services import stepfunctions

    return stepfunctions._ExecutionError(RUNTIME, runtime_cause(ctx, detail))


def apply() -> None:
    from ministack.services import stepfunctions

    def matches(error_equals: list[str], error: str) -> bool:
        return error_matches(error_equals, error)

    replace_function(stepfunctions, "_error_matches", matches, NAME)
