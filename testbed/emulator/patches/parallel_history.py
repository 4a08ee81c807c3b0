"""A Parallel state's history is AWS's: `ParallelStateStarted`, the branches' states, then succeeded or failed.

Upstream (`_execute_parallel`, `_run_parallel_branches`, MiniStack 1.5.33) records only
`ParallelStateEntered` and `ParallelStateExited`. AWS records (the parity cases
`test_parallel_state*`) `ParallelStateStarted` when the branches start (on every attempt),
the branches' states (compound_states), then `ParallelStateSucceeded`, or
`ParallelStateFailed` when an error leaves the state (after its retries, before a Catch).
What the Parallel computes is upstream's.
"""

from __future__ import annotations

from typing import Any

from testbed.emulator.patches.compound_states import retry_and_catch
from testbed.emulator.patches.source import replace_function
from testbed.emulator.patches.terminal_errors import RUNTIME

NAME = "parallel-history"
UPSTREAM = {
    "ministack.services.stepfunctions._execute_parallel":
        "2166e1f53e5fd48dbcfd4940826e5f421b725798fe2488174ebd11244c077c93",
    "ministack.services.stepfunctions._run_parallel_branches":
        "b8c7f69152976e05aeea7823a4c9fd9a3c039fd117a94b38abb3f7bfd0b1bc4a",
}


def execute_parallel(state_def: dict[str, Any], raw_input: Any, execution: dict[str, Any], ctx: dict[str, Any]) -> Any:
    from ministack.services import stepfunctions as sfn

    def attempt() -> Any:
        sfn._add_event(execution, "ParallelStateStarted")
        outcome = sfn._run_parallel_branches(state_def, raw_input, execution, ctx)
        sfn._add_event(execution, "ParallelStateSucceeded")
        return outcome

    def failed(err: Any) -> None:
        if err.error != RUNTIME:
            sfn._add_event(execution, "ParallelStateFailed")

    return retry_and_catch(state_def, raw_input, ctx, attempt, failed)


def apply() -> None:
    from ministack.services import stepfunctions

    replace_function(stepfunctions, "_execute_parallel", execute_parallel, NAME)
