"""The embedded backend's process handling: taken ports, idempotent start, clean stop, honest status."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from testbed.probes import free_port
from testbed.stacks.base import StackError
from testbed.stacks.embedded import EmbeddedStack
from tests.stacks import alive  # a zombie (exited, not yet reaped) is not alive

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only(
    reason="the embedded backend's own processes, ports and run folder")]


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


def _cli(state_dir, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TESTBED_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "testbed", *args, "--backend", "embedded"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_status_tells_a_half_stopped_stack_and_down_removes_everything(tmp_path):
    stack = EmbeddedStack(run_dir=tmp_path / "embedded", emulator_port=free_port(), mockapi_port=free_port())
    stack.start()
    try:
        stack.mockapi.stop()  # one process up, one down
        status = _cli(tmp_path, "status")
        assert status.returncode == 4, status.stdout
        assert "partly running" in status.stdout
        assert re.search(r"emulator\s+running", status.stdout) and re.search(r"mockapi\s+stopped", status.stdout)
        assert stack.tmp_dir.is_dir()
        down = _cli(tmp_path, "down")
        assert down.returncode == 0, down.stderr
    finally:
        stack.stop()
    assert _cli(tmp_path, "status").returncode == 3
    assert not stack.tmp_dir.exists()


@pytest.mark.not_on("localstack", reason="MiniStack's Lambda worker folders (ministack-lambda-*)")
def test_lambda_workers_keep_their_files_under_the_run_dir(testbed):
    if not isinstance(testbed.stack, EmbeddedStack):
        pytest.skip("the docker backend's temp files live and go with its container")
    result = testbed.run("get_status", "GET", {"code": 200})
    assert result.status == "SUCCEEDED", result.cause
    assert list(testbed.stack.tmp_dir.glob("ministack-lambda-*")), "workers unpack their code elsewhere"
