"""Record through the mock API's proxy against a real server in its own process, then replay with it stopped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import real_api
from tests.har_schema import har_errors
from tests.mockapi.support import MockApi, running_mockapi

API_KEY = "k-7Hq2/x+Zp9&w=3"  # characters that percent- and JSON-encode differently
PASSWORD = "hunter2-pass"
QUERY_TOKEN = "tok-31337"


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[MockApi]:
    with running_mockapi(tmp_path / "server.log", "--record-target", "http://127.0.0.1:*", "--strict") as api:
        yield api


def start(api: MockApi, target: str, **spec: Any) -> requests.Response:
    return requests.post(api.url("/__admin/recordings/start"), json={"targetBaseUrl": target, **spec}, timeout=5)


def traffic(api: MockApi, key: str, token: str) -> list[tuple[int, Any]]:
    """The requests a run makes, and what each got (status, JSON or text)."""
    answers = []
    for method, path, kwargs in [
        ("GET", "/api/users/7", {}),
        ("POST", "/api/orders", {"json": {"items": [1, 2], "password": PASSWORD}}),
        ("GET", "/api/counter", {}), ("GET", "/api/counter", {}), ("GET", "/api/counter", {}),
        ("GET", "/api/secure", {"headers": {"X-Api-Key": key}}),
        ("GET", f"/api/search?q=ada&token={token}", {}),
    ]:
        response = requests.request(method, api.url(path), timeout=5, **kwargs)
        answers.append((response.status_code, response.json() if response.content else None))
    return answers


def test_a_target_not_allowed_is_refused(tmp_path: Path) -> None:
    with running_mockapi(tmp_path / "server.log") as api:
        refused = start(api, "http://127.0.0.1:9")
        assert refused.status_code == 403
        assert "--record-target http://127.0.0.1:9" in refused.json()["error"]


def test_record_then_replay_with_the_target_stopped(recorder: MockApi) -> None:
    scrub = {"values": [API_KEY], "jsonPaths": ["$.password"], "queryParameters": ["token"]}
    with real_api.running("--api-key", API_KEY) as target:
        started = start(recorder, target, filters={"urlPathPattern": "/api/.*"}, captureHeaders={"X-Api-Key": {}},
                        scrub=scrub)
        assert started.ok, started.text
        recorded = traffic(recorder, API_KEY, QUERY_TOKEN)
        assert recorded[2:5] == [(200, {"count": 1}), (200, {"count": 2}), (200, {"count": 3})]
        assert recorded[5] == (200, {"ok": True, "echo": API_KEY})  # the client sees the real answer
        status = requests.get(recorder.url("/__admin/recordings/status"), timeout=5).json()
        assert status["status"] == "Recording" and status["recorded"] == 7
        stopped = requests.post(recorder.url("/__admin/recordings/stop"), timeout=5)
        har = requests.get(recorder.url("/__admin/recordings/har"), timeout=5).json()
    journal = requests.get(recorder.url("/__admin/requests"), timeout=5).text
    for written in (stopped.text, json.dumps(har), journal):
        for secret in (API_KEY, PASSWORD, QUERY_TOKEN, json.dumps(API_KEY)[1:-1], requests.utils.quote(API_KEY)):
            assert secret not in written
    assert har_errors(har) == []
    mappings = stopped.json()["mappings"]
    counters = [m for m in mappings if m["request"].get("url") == "/api/counter"]
    assert next(m.get("requiredScenarioState") for m in counters) == "Started" and len(counters) == 3
    # The target is stopped: the persisted mappings answer, scrubbed values matching any value.
    replayed = traffic(recorder, "another-key-value", "another-token")
    assert replayed[0] == recorded[0] and replayed[2:5] == recorded[2:5]
    assert replayed[1] == (201, {"orderId": "o-1", "received": {"items": [1, 2], "password": "__SCRUBBED__"}})
    assert replayed[5] == (200, {"ok": True, "echo": "__SCRUBBED__"})
    assert replayed[6][0] == 200
    unmatched = requests.get(recorder.url("/__admin/requests/unmatched"), timeout=5).json()["requests"]
    assert unmatched == []


def test_snapshot_without_scenarios_keeps_the_first_answer(recorder: MockApi) -> None:
    with real_api.running() as target:
        assert start(recorder, target).ok
        for _ in range(2):
            requests.get(recorder.url("/api/counter"), timeout=5)
        snapshot = requests.post(recorder.url("/__admin/recordings/snapshot"), timeout=5,
                                 json={"repeatsAsScenarios": False, "persist": False}).json()["mappings"]
        requests.post(recorder.url("/__admin/recordings/stop"), json={}, timeout=5)
    assert [m["response"]["jsonBody"] for m in snapshot] == [{"count": 1}]


def test_redirects_are_returned_not_followed(recorder: MockApi) -> None:
    with real_api.running() as target, real_api.running() as elsewhere:
        assert start(recorder, target).ok
        answer = requests.get(recorder.url("/api/redirect"), params={"to": f"{elsewhere}/api/users/1"},
                              allow_redirects=False, timeout=5)
        requests.post(recorder.url("/__admin/recordings/stop"), timeout=5)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(elsewhere)
    proxied = requests.get(recorder.url("/__admin/requests"), timeout=5).json()["requests"]
    assert [entry["rawPath"] for entry in proxied] == ["/api/redirect"]


def test_an_unreachable_target_answers_502_naming_it(recorder: MockApi) -> None:
    with real_api.running() as target:
        pass  # stopped: nothing listens there any more
    assert start(recorder, target).ok
    answer = requests.get(recorder.url("/api/users/1"), timeout=10)
    requests.post(recorder.url("/__admin/recordings/stop"), timeout=5)
    assert answer.status_code == 502 and target in answer.json()["error"]
