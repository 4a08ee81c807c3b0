"""The thread_reuse patch: executions and Task states on reused daemon threads."""

from __future__ import annotations

import contextvars
import threading
from types import SimpleNamespace

import pytest

from testbed.emulator import patches
from testbed.emulator.patches import thread_reuse
from testbed.emulator.patches.source import upstream_object

DEADLINE = 10.0  # seconds; every wait below ends long before unless the pool is broken


def test_a_finished_thread_takes_the_next_call():
    # GIVEN a pool that ran one call to its end
    pool = thread_reuse.DaemonThreads("t")
    assert pool.submit(lambda: 1).result(DEADLINE) == 1
    # WHEN more calls come one after another
    results = [pool.submit(lambda n=n: n * 2).result(DEADLINE) for n in range(20)]
    # THEN the same thread ran them all: no thread was started per call
    assert results == [n * 2 for n in range(20)]
    assert pool.started == 1


def test_a_busy_pool_grows_so_a_long_call_blocks_nobody():
    # GIVEN a call that holds its thread until released (a long Wait state, a hung task)
    pool = thread_reuse.DaemonThreads("t")
    release = threading.Event()
    held = pool.submit(release.wait, DEADLINE)
    # WHEN another call comes meanwhile
    # THEN it runs at once on a new thread, and both threads are daemons
    assert pool.submit(threading.current_thread).result(DEADLINE).daemon
    assert pool.started == 2
    release.set()
    assert held.result(DEADLINE) is True


def test_the_caller_gets_the_calls_exception():
    pool = thread_reuse.DaemonThreads("t")
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(DEADLINE)
    assert pool.submit(lambda: "still serving").result(DEADLINE) == "still serving"


class _ExecutionError(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(error, cause)
        self.error, self.cause = error, cause


def _fake_stepfunctions(invoke):
    return SimpleNamespace(_invoke_resource=invoke, _ExecutionError=_ExecutionError,
                           _invoke_resource_with_timeout=lambda *a: None)


def test_a_task_over_its_timeout_is_states_timeout_and_sees_the_callers_context():
    # GIVEN a task that records the caller's contextvars and then outlives its timeout
    var: contextvars.ContextVar[str] = contextvars.ContextVar("account")
    var.set("123456789012")
    seen: list[str] = []
    release = threading.Event()

    def slow_task(resource, input_data):
        seen.append(var.get())
        release.wait(DEADLINE)
        return {"done": True}

    invoke = thread_reuse._on_reused_thread(_fake_stepfunctions(slow_task))
    # WHEN it is invoked with a short TimeoutSeconds
    with pytest.raises(_ExecutionError) as raised:
        invoke("arn:aws:lambda:…", {}, 0.05)
    release.set()
    # THEN the state fails with States.Timeout, as upstream's, and the task ran in the caller's scope
    assert (raised.value.error, raised.value.cause) == ("States.Timeout", "Task timed out after 0.05 seconds")
    assert seen == ["123456789012"]


def test_a_task_in_time_returns_its_result():
    invoke = thread_reuse._on_reused_thread(_fake_stepfunctions(lambda resource, data: {"echo": data}))
    assert invoke("r", {"a": 1}, DEADLINE) == {"echo": {"a": 1}}


def test_start_execution_submits_instead_of_starting_a_thread():
    patches.apply_all()
    from ministack.services import stepfunctions

    patched = stepfunctions._start_execution.__wrapped__  # inside execution_input's check
    assert getattr(patched, "__testbed_patch__", None) == thread_reuse.NAME
    assert "Thread" in upstream_object("ministack.services.stepfunctions._start_execution").__code__.co_names
    assert "Thread" not in patched.__code__.co_names and "_testbed_threads" in patched.__code__.co_names
