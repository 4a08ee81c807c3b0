"""The embedded backend's process handling: taken ports, idempotent start, clean stop."""

from __future__ import annotations

import os
import socket

import pytest

from testbed.embedded import EmbeddedStack
from testbed.probes import free_port
from testbed.stack import StackError

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_taken_port_is_a_clear_error_and_starts_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        stack = EmbeddedStack(run_dir=tmp_path, emulator_port=port, mockapi_port=free_port())
        with pytest.raises(StackError, match=f"port {port} is already in use.*TESTBED_EMULATOR_PORT"):
            stack.start()
    assert not stack.is_running()
    assert not list(tmp_path.glob("*.pid"))


def test_start_twice_then_stop_leaves_no_process(tmp_path):
    stack = EmbeddedStack(run_dir=tmp_path, emulator_port=free_port(), mockapi_port=free_port())
    stack.start()
    try:
        pids = {stack.emulator.running_pid(), stack.mockapi.running_pid()}
        stack.start()  # finds the running processes, starts nothing new
        assert {stack.emulator.running_pid(), stack.mockapi.running_pid()} == pids
        again = EmbeddedStack(run_dir=tmp_path)  # as `make down` sees it: ports from the run dir
        assert again.endpoints == stack.endpoints and again.is_running()
    finally:
        stack.stop()
    assert not any(alive(pid) for pid in pids if pid)
    assert not stack.is_running()
