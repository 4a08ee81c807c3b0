"""Our mappings and WireMock's are interchangeable: proven against real WireMock 3.13 (npm `wiremock`'s jar).

Skipped, saying why, where Java is missing (CI installs it: .ci/run).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testbed.probes import free_port
from tests import real_api
from tests.mockapi.support import MockApi, running_mockapi
from tests.mockapi.test_replay import MAPPINGS, uid, write_mappings
from tests.npm_packages import NpmPackageUnavailable, unpacked
from tests.servers import stop_process

STARTUP_DEADLINE_S = 90.0
pytestmark = pytest.mark.xdist_group("wiremock")  # one JVM at a time on a 2-core machine

# (method, path, JSON body or None): requests both servers must answer the same.
REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/users/42?fields=all", None),
    ("GET", "/api/search?q=ada&page=3", None),
    ("GET", "/api/search?q=ada&page=x", None),
    ("POST", "/api/orders/new", {"customer": "c1", "items": [2, 1], "note": "extra"}),
    ("POST", "/api/orders/new", {"customer": "c2", "items": [1, 2]}),
    ("GET", "/api/blob", None),
    ("GET", "/api/file", None),
    ("GET", "/api/flaky", None),
    ("GET", "/api/flaky", None),
    ("GET", "/api/flaky", None),
    ("GET", "/api/nothing-here", None),
]
# A recorded mapping with scrubbed values (what our recorder writes): the placeholders must work there too.
SCRUBBED = {"id": uid("scrubbed"), "name": "scrubbed", "request": {
    "method": "POST", "urlPattern": "/api/secure/.+\\?k=.+",
    "headers": {"X-Api-Key": {"matches": ".+"}},
    "bodyPatterns": [{"equalToJson": {"token": "${json-unit.any-string}", "n": 1}, "ignoreExtraElements": True}]},
    "response": {"status": 200, "jsonBody": {"ok": True}}}
SCRUBBED_REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/api/secure/abc?k=zzz", {"token": "anything", "n": 1, "more": 2}),
    ("POST", "/api/secure/abc?k=zzz", {"token": 5, "n": 1}),
]


def _skip(reason: str) -> None:
    if os.environ.get("TESTBED_REQUIRE_WIREMOCK") == "1":  # CI: a skip would hide the proof
        pytest.fail(f"TESTBED_REQUIRE_WIREMOCK=1 but {reason}")
    pytest.skip(f"{reason} (set TESTBED_REQUIRE_WIREMOCK=1 to fail instead)")


@pytest.fixture(scope="module")
def wiremock_jar() -> Path:
    if shutil.which("java") is None:
        _skip("Java is not installed: WireMock interop needs a JRE 17+ (apt-get install default-jre-headless)")
    try:
        jars = list(unpacked("wiremock").glob("build/wiremock-standalone-*.jar"))
    except NpmPackageUnavailable as exc:
        _skip(f"the WireMock jar could not be fetched: {exc}")
    assert len(jars) == 1, jars
    return jars[0]


@contextlib.contextmanager
def running_wiremock(jar: Path, root: Path) -> Iterator[MockApi]:
    port = free_port()
    log = (root.parent / f"{root.name}-wiremock.log").open("w")
    command = ["java", "-jar", str(jar), "--port", str(port), "--root-dir", str(root), "--disable-banner",
               "--bind-address", "127.0.0.1"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"WireMock exited: {(root.parent / f'{root.name}-wiremock.log').read_text()[-2000:]}")
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):  # a JVM still starting
                if requests.get(f"{base}/__admin/health", timeout=2).ok:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"WireMock not up in {STARTUP_DEADLINE_S}s")
            time.sleep(0.1)
        yield MockApi(base)
    finally:
        stop_process(process, timeout=15)
        log.close()


def answers(api: MockApi, calls: list[tuple[str, str, Any]]) -> list[tuple[int, bytes]]:
    found = []
    for method, path, body in calls:
        response = requests.request(method, api.url(path), json=body, timeout=10)
        # A miss: both answer 404 (each with its own near-miss text); the rest must be byte-equal.
        found.append((response.status_code, response.content if response.status_code != 404 else b""))
    return found


def test_our_mappings_answer_the_same_in_wiremock(wiremock_jar: Path, tmp_path: Path) -> None:
    ours_root = write_mappings(tmp_path / "ours", [*MAPPINGS, SCRUBBED])
    theirs_root = write_mappings(tmp_path / "theirs", [*MAPPINGS, SCRUBBED])
    calls = REQUESTS + SCRUBBED_REQUESTS
    with running_mockapi(tmp_path / "mock.log", "--mappings", str(ours_root), "--strict") as ours, \
            running_wiremock(wiremock_jar, theirs_root) as theirs:
        assert answers(ours, calls) == answers(theirs, calls)


def test_mappings_wiremock_recorded_replay_here(wiremock_jar: Path, tmp_path: Path) -> None:
    root = tmp_path / "wiremock"
    (root / "mappings").mkdir(parents=True)
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/api/users/7", None), ("POST", "/api/orders", {"items": [1]}),
        ("GET", "/api/counter", None), ("GET", "/api/counter", None), ("GET", "/api/search?q=ada", None)]
    with real_api.running() as target, running_wiremock(wiremock_jar, root) as wiremock:
        started = requests.post(wiremock.url("/__admin/recordings/start"), timeout=10,
                                json={"targetBaseUrl": target, "persist": True, "repeatsAsScenarios": True})
        assert started.ok, started.text
        recorded = answers(wiremock, calls)
        stopped = requests.post(wiremock.url("/__admin/recordings/stop"), timeout=10)
        assert stopped.ok and len(stopped.json()["mappings"]) == 5
    written = sorted(p.name for p in (root / "mappings").glob("*.json"))
    assert written, "WireMock wrote no mapping files"
    with running_mockapi(tmp_path / "mock.log", "--mappings", str(root), "--strict") as ours:
        replayed = answers(ours, calls)
    assert [(s, json.loads(b) if b else None) for s, b in replayed] == \
           [(s, json.loads(b) if b else None) for s, b in recorded]


def test_mappings_we_recorded_replay_in_wiremock(wiremock_jar: Path, tmp_path: Path) -> None:
    key = "key-0123456789"
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/api/users/7", None), ("POST", "/api/orders", {"items": [1], "password": "pw-secret-1"}),
        ("GET", "/api/counter", None), ("GET", "/api/counter", None), ("GET", "/api/counter", None),
        ("GET", "/api/search?q=ada&token=tok-1234", None)]
    root = tmp_path / "recorded"
    (root / "mappings").mkdir(parents=True)
    with real_api.running("--api-key", key) as target, \
            running_mockapi(tmp_path / "rec.log", "--record-target", target) as recorder:
        spec = {"targetBaseUrl": target, "captureHeaders": {"X-Api-Key": {}},
                "scrub": {"values": [key], "jsonPaths": ["$.password"], "queryParameters": ["token"]}}
        assert requests.post(recorder.url("/__admin/recordings/start"), json=spec, timeout=5).ok
        answers(recorder, calls)
        mappings = requests.post(recorder.url("/__admin/recordings/stop"), timeout=5).json()["mappings"]
        for item in mappings:
            (root / "mappings" / f"{item['name']}-{item['id']}.json").write_text(json.dumps(item, indent=2))
        ours = answers(recorder, calls)  # persisted: the target is still up, but the recording is stopped
    other = [(m, p.replace("tok-1234", "tok-other"), b) for m, p, b in calls]
    with running_wiremock(wiremock_jar, root) as wiremock:
        assert answers(wiremock, calls) == ours
        requests.post(wiremock.url("/__admin/scenarios/reset"), timeout=5)
        assert [s for s, _ in answers(wiremock, other)] == [s for s, _ in ours]
