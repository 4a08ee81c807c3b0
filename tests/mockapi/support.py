"""Helpers of the mock API tests: run the CLI, and a handle on a running server."""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testbed.probes import free_port
from tests.servers import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 15.0


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without the caller's MOCKAPI_* settings, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MOCKAPI_")}
    return {**env, **overrides}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m mockapi` to completion (for start-up failures)."""
    return subprocess.run(
        [sys.executable, "-m", "mockapi", *args],
        check=False,  # the exit code is what the tests assert on
        cwd=REPO_ROOT,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )


class MockApi:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def add_stub(self, stub: dict[str, Any]) -> str:
        response = requests.post(self.url("/__admin/stubs"), json=stub, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def journal(self, path_prefix: str) -> list[dict[str, Any]]:
        response = requests.get(self.url("/__admin/requests"), params={"pathPrefix": path_prefix}, timeout=5)
        response.raise_for_status()
        return response.json()["requests"]


@contextlib.contextmanager
def running_mockapi(log_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[MockApi]:
    """`python -m mockapi ARGS` on a free port until the block ends (its output in `log_path`)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Output goes to a file: a pipe nobody reads would eventually block the server.
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockapi", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=REPO_ROOT, env=env if env is not None else clean_env(), stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"mockapi exited early:\n{log_path.read_text()}")
            try:
                if requests.get(f"{base_url}/__admin/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mockapi not healthy in {STARTUP_DEADLINE_S}s:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield MockApi(base_url)
    finally:
        stop_process(process)
