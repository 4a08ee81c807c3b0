"""pytest --mockapi-strict fails a run whose code sent a request the recording does not hold, naming it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.mockapi.support import REPO_ROOT, running_mockapi
from tests.mockapi.test_replay import uid, write_mappings

TEST_FILE = '''
import requests

def test_calls_the_api():
    assert requests.get("{url}/api/users/7", timeout=5).status_code == {status}
'''


def _pytest(folder: Path, url: str, status: int) -> subprocess.CompletedProcess[str]:
    (folder / "test_client.py").write_text(TEST_FILE.format(url=url, status=status))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "testbed.record.pytest_plugin",
                           "-p", "no:cacheprovider", f"--mockapi-strict={url}", str(folder)],
                          capture_output=True, text=True, timeout=120, cwd=folder, check=False,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})


def test_an_unmatched_request_fails_the_run_naming_it_and_its_near_miss(tmp_path: Path) -> None:
    mapping = {"id": uid("user-8"), "name": "users_8", "request": {"method": "GET", "url": "/api/users/8"},
               "response": {"status": 200}}
    root = write_mappings(tmp_path / "rec", [mapping])
    (tmp_path / "suite").mkdir()
    with running_mockapi(tmp_path / "mock.log", "--mappings", str(root), "--strict") as api:
        failed = _pytest(tmp_path / "suite", api.base_url, 404)
    assert failed.returncode == 1, failed.stdout
    assert "1 passed" in failed.stdout  # the test itself passed: the run fails on the unmatched request
    assert f"GET /api/users/7: closest mapping users_8 ({mapping['id']}) differs in url" in failed.stdout


def test_a_run_whose_requests_all_matched_passes(tmp_path: Path) -> None:
    mapping = {"id": uid("user-7"), "name": "users_7", "request": {"method": "GET", "url": "/api/users/7"},
               "response": {"status": 200}}
    root = write_mappings(tmp_path / "rec", [mapping])
    (tmp_path / "suite").mkdir()
    with running_mockapi(tmp_path / "mock.log", "--mappings", str(root), "--strict") as api:
        passed = _pytest(tmp_path / "suite", api.base_url, 200)
    assert passed.returncode == 0, passed.stdout + json.dumps(passed.stderr)
