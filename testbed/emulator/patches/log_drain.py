"""A Python Lambda's log lines are collected up to an end marker, not by waiting for silence.

Upstream (`Worker._drain_stderr_bounded`, MiniStack 1.5.33), after each invocation the
emulator reads the worker's stderr until it has been quiet for 5 ms after a line, or for
50 ms when no line came: every invocation pays 5-50 ms of waiting, about a sixth of an
execution of this workflow. AWS pays nothing of the kind: the runtime ends an invocation's
logs when the handler returns.

Patched: the Python worker script writes one marker line to stderr after each response,
and the drain reads lines until that marker (the marker itself is dropped), with
upstream's 250 ms cap as the bound. Other runtimes keep upstream's drain.
"""

from __future__ import annotations

import functools
import queue
import time
from collections.abc import Callable
from typing import Any

NAME = "log-drain"
UPSTREAM = {
    "ministack.core.lambda_runtime.Worker._drain_stderr_bounded":
        "3fd7cc742872e604e4937310429a4021719467dd7d2993734c4331c01e4427ab",
}
END_MARK = "\x1etestbed-invocation-end\x1e"
# The end of the worker script's invocation loop: after the response is flushed.
WORKER_OLD = '        _real_stdout.flush()\n\nrun()\n'
WORKER_NEW = (f'        _real_stdout.flush()\n        sys.__stderr__.write({END_MARK!r} + "\\n")\n'
              '        sys.__stderr__.flush()\n\nrun()\n')
HARD_CAP_SECONDS = 0.250  # upstream's own bound


def apply() -> None:
    from ministack.core import lambda_runtime

    from testbed.emulator.patches.source import PATCHED_MARK, replace_once

    if WORKER_NEW not in lambda_runtime._PYTHON_WORKER_SCRIPT:
        lambda_runtime._PYTHON_WORKER_SCRIPT = replace_once(
            lambda_runtime._PYTHON_WORKER_SCRIPT, WORKER_OLD, WORKER_NEW, "lambda_runtime._PYTHON_WORKER_SCRIPT")
    worker_class = lambda_runtime.Worker
    if getattr(worker_class._drain_stderr_bounded, PATCHED_MARK, None) != NAME:
        worker_class._drain_stderr_bounded = until_end_mark(worker_class._drain_stderr_bounded)


def until_end_mark(drain: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(drain)
    def drain_until_end_mark(self: Any, *args: Any, **kwargs: Any) -> str:
        if not str(self.config.get("Runtime", "")).startswith("python") or type(self).__name__ != "Worker":
            return drain(self, *args, **kwargs)
        return read_until_mark(self._stderr_queue, HARD_CAP_SECONDS)

    drain_until_end_mark.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return drain_until_end_mark


def read_until_mark(lines: queue.Queue[str], cap_seconds: float) -> str:
    """The lines before END_MARK (or all that came within `cap_seconds`), joined."""
    collected: list[str] = []
    deadline = time.monotonic() + cap_seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line == END_MARK:
            break
        collected.append(line)
    return "\n".join(collected)
