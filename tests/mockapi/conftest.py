"""The mock API under test: one real server, a subprocess on a free port, for the session."""

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testbed.probes import free_port
from tests.mockapi.support import REPO_ROOT, STARTUP_DEADLINE_S, MockApi, clean_env


@pytest.fixture(scope="session")
def mock_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockApi]:
    with serve(tmp_path_factory.mktemp("mockapi")) as api:
        yield api


@contextlib.contextmanager
def serve(directory: Path, *args: str) -> Iterator[MockApi]:
    """A mock API subprocess on a free port, with extra command-line `args`, stopped afterwards."""
    port = free_port()
    log_path = directory / "server.log"
    base_url = f"http://127.0.0.1:{port}"
    # Output goes to a file: a pipe nobody reads would eventually block the server.
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockapi", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=REPO_ROOT,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
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
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def unique() -> str:
    """A path prefix no other test uses."""
    return f"/t-{uuid.uuid4().hex[:10]}"
