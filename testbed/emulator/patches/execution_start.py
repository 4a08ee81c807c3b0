"""Executions start at once, and an execution thread that crashes fails its execution.

Upstream (`ministack.services.stepfunctions._run_execution`, MiniStack 1.5.33):
- the background thread of every StartExecution first sleeps 150 ms (`time.sleep(0.15)`),
  so a caller describing the execution right after starting it sees RUNNING. AWS promises
  no such window (a short execution may be over before DescribeExecution), and the sleep
  was most of the testbed's per-execution time (215 ms p50 for a Pass-only machine).
- an exception raised before its own `try` (e.g. RecursionError parsing an input nested
  thousands deep) ends the thread and leaves the execution RUNNING forever. AWS ends every
  execution; here any such crash fails it with `States.Runtime`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from testbed.emulator.patches.source import patch_function_source

NAME = "execution-start"
# SHA-256 of the upstream source each patch was written against (MiniStack 1.5.33).
UPSTREAM = {
    "ministack.services.stepfunctions._run_execution":
        "996dff84e0e0605ae3ffb450d0dfa0adc150caa811d0715fc2d4eb7cf28a1648",
    "ministack.services.stepfunctions._fail_execution":
        "e6da895fa0b74cddd3335ba9ff53624510d2f5c8c98a44cfaa119b7ec65cd71f",
}
SLEEP = "    time.sleep(0.15)\n"

logger = logging.getLogger("testbed.emulator.patches")


def apply() -> None:
    from ministack.services import stepfunctions

    patch_function_source(stepfunctions, "_run_execution", SLEEP, "", NAME)
    if not getattr(stepfunctions._run_execution, "__testbed_guarded__", False):
        stepfunctions._run_execution = _fail_on_crash(stepfunctions, stepfunctions._run_execution)


def _fail_on_crash(stepfunctions: Any, run_execution: Callable[[str], None]) -> Callable[[str], None]:
    @functools.wraps(run_execution)
    def guarded(exec_arn: str) -> None:
        try:
            run_execution(exec_arn)
        except Exception as exc:
            logger.exception("execution thread crashed: %s", exec_arn)
            execution = stepfunctions._executions.get(exec_arn)
            if execution is not None and execution.get("status") == "RUNNING":
                stepfunctions._fail_execution(
                    execution, "States.Runtime", f"{type(exc).__name__}: {str(exc)[:1000]}")

    guarded.__testbed_guarded__ = True  # type: ignore[attr-defined]
    return guarded
