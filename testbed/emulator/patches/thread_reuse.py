"""Executions and their Task states run on reused threads, not on a new thread each.

Upstream (MiniStack 1.5.33) starts two threads per execution of this workflow and more per
Task state:
- `_start_execution` starts the execution's thread on the server's event loop, and
  `Thread.start` blocks until the new thread runs. With 16 executions in flight that wait
  is a GIL hand-off among dozens of threads, and every other request (the clients' polls
  included) waits behind it: py-spy showed 37 % of the event loop's time there.
- `_invoke_resource_with_timeout` creates a one-thread pool for every Task state
  (getItem, the Lambda invoke), only to wait on it with TimeoutSeconds.
AWS has nothing like it to mimic: this is the emulator's own cost.

Patched: both submit to one pool of daemon threads that grows only when every thread is
busy (so a long Wait or a hung task never blocks a new execution) and keeps its threads.
Threads stay daemons as upstream's were, so an execution still running never delays the
emulator's exit. The contextvars snapshot (account and region, MiniStack issue #639) and
the States.Timeout behaviour are upstream's: a task that outlives its timeout keeps
running, its result ignored.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from testbed.emulator.patches.source import PATCHED_MARK, patch_function_source

NAME = "thread-reuse"
UPSTREAM = {
    "ministack.services.stepfunctions._start_execution":
        "9923282fc76c57b9d2541cc83863bfb69f2472b29aec9a9fc3454f3d19d045b4",
    "ministack.services.stepfunctions._invoke_resource_with_timeout":
        "faeed0bf70d53efc6584e3807359286ba330ecfa4f3f76adda682f6c7f6e9333",
}
START_OLD = """    threading.Thread(
        target=ctx_snapshot.run,
        args=(_run_execution, exec_arn),
        daemon=True,
    ).start()
"""
START_NEW = "    _testbed_threads.submit(ctx_snapshot.run, _run_execution, exec_arn)\n"

_Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class DaemonThreads:
    """Runs calls on reused daemon threads; starts one more only when all are busy."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self.started = 0

    def submit(self, call: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            grow = self._idle == 0
            if grow:
                self.started += 1
            else:
                self._idle -= 1  # that thread's next get() takes this call, or another's
        self._calls.put((future, call, args))
        if grow:
            threading.Thread(target=self._serve, name=f"{self._name}-{self.started}", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            future, call, args = self._calls.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call(*args))
                except BaseException as exc:  # handed to the caller, as a Future does
                    future.set_exception(exc)
            del future, call, args  # drop references before idling
            with self._lock:
                self._idle += 1


THREADS = DaemonThreads("testbed-sfn")


def apply() -> None:
    """Must run before execution_input, which wraps `_start_execution`."""
    from ministack.services import stepfunctions

    stepfunctions._testbed_threads = THREADS
    patch_function_source(stepfunctions, "_start_execution", START_OLD, START_NEW, NAME)
    if getattr(stepfunctions._invoke_resource_with_timeout, PATCHED_MARK, None) != NAME:
        stepfunctions._invoke_resource_with_timeout = _on_reused_thread(stepfunctions)


def _on_reused_thread(stepfunctions: Any) -> Callable[[Any, Any, float], Any]:
    upstream = stepfunctions._invoke_resource_with_timeout

    def invoke_resource_with_timeout(resource: Any, input_data: Any, timeout: float) -> Any:
        future = THREADS.submit(contextvars.copy_context().run, stepfunctions._invoke_resource, resource, input_data)
        try:
            return future.result(timeout=timeout)
        except FutureTimeoutError:
            raise stepfunctions._ExecutionError("States.Timeout", f"Task timed out after {timeout} seconds") from None

    invoke_resource_with_timeout.__wrapped__ = upstream  # type: ignore[attr-defined]
    setattr(invoke_resource_with_timeout, PATCHED_MARK, NAME)
    return invoke_resource_with_timeout
