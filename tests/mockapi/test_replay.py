"""Replay: WireMock mapping folders and HAR files served by the mock API, strict mode's near misses."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.mockapi.support import MockApi, run_cli, running_mockapi


def uid(name: str) -> str:
    """A mapping id (WireMock reads UUIDs only) that a test can name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


MAPPINGS: list[dict[str, Any]] = [
    {"id": uid("user"), "name": "user", "request": {"method": "GET", "url": "/api/users/42?fields=all"},
     "response": {"status": 200, "jsonBody": {"id": 42}, "headers": {"X-Trace": ["a", "b"]}}},
    {"id": uid("search"), "name": "search", "request": {"method": "GET", "urlPath": "/api/search",
                                 "queryParameters": {"q": {"equalTo": "ada"}, "page": {"matches": "[0-9]+"},
                                                     "debug": {"absent": True}}},
     "response": {"status": 200, "body": "found", "headers": {"Content-Type": "text/plain"}}},
    {"id": uid("orders"), "name": "orders", "request": {"method": "POST", "urlPathPattern": "/api/orders/[a-z]+",
                                 "headers": {"Content-Type": {"contains": "json"}},
                                 "bodyPatterns": [{"equalToJson": {"items": [1, 2], "customer": "c1"},
                                                   "ignoreArrayOrder": True, "ignoreExtraElements": True}]},
     "response": {"status": 201, "jsonBody": {"created": True}}},
    {"id": uid("text"), "name": "text", "request": {"method": "PUT", "urlPattern": "/api/notes\\?v=[0-9]+",
                               "bodyPatterns": [{"contains": "hello"}, {"matches": "h.*!"}]},
     "response": {"status": 204}},
    {"id": uid("bytes"), "name": "bytes", "request": {"url": "/api/blob"},
     "response": {"status": 200, "base64Body": base64.b64encode(b"\x00\x01\xff").decode()}},
    {"id": uid("file"), "name": "file", "request": {"url": "/api/file"},
     "response": {"status": 200, "bodyFileName": "body.txt"}},
    {"id": uid("slow"), "name": "slow", "request": {"url": "/api/slow"},
     "response": {"status": 200, "fixedDelayMilliseconds": 150}},
    {"id": uid("s1"), "name": "s1", "scenarioName": "retry", "requiredScenarioState": "Started",
     "newScenarioState": "second",
     "request": {"url": "/api/flaky"}, "response": {"status": 503}},
    {"id": uid("s2"), "name": "s2", "scenarioName": "retry", "requiredScenarioState": "second",
     "request": {"url": "/api/flaky"}, "response": {"status": 200, "body": "ok"}},
]


def write_mappings(root: Path, mappings: list[dict[str, Any]]) -> Path:
    (root / "mappings").mkdir(parents=True)
    (root / "__files").mkdir()
    (root / "__files" / "body.txt").write_text("from a file")
    for item in mappings:
        (root / "mappings" / f"{item['name']}.json").write_text(json.dumps(item))
    return root


@pytest.fixture(scope="module")
def replay_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockApi]:
    root = write_mappings(tmp_path_factory.mktemp("recording"), MAPPINGS)
    with running_mockapi(root / "server.log", "--mappings", str(root), "--strict") as api:
        yield api


def test_mappings_answer_as_written(replay_api: MockApi) -> None:
    user = requests.get(replay_api.url("/api/users/42?fields=all"), timeout=5)
    assert user.status_code == 200 and user.json() == {"id": 42}
    assert user.raw.headers.getlist("X-Trace") == ["a", "b"]
    assert requests.get(replay_api.url("/api/search?q=ada&page=3"), timeout=5).text == "found"
    order = requests.post(replay_api.url("/api/orders/new"), json={"customer": "c1", "items": [2, 1], "note": "x"},
                          timeout=5)
    assert order.status_code == 201 and order.json() == {"created": True}
    assert requests.put(replay_api.url("/api/notes?v=2"), data="hello world!", timeout=5).status_code == 204
    assert requests.get(replay_api.url("/api/blob"), timeout=5).content == b"\x00\x01\xff"
    assert requests.get(replay_api.url("/api/file"), timeout=5).text == "from a file"
    assert requests.get(replay_api.url("/api/slow"), timeout=5).elapsed.total_seconds() >= 0.15


def test_scenarios_step_through_states_and_reset(replay_api: MockApi) -> None:
    requests.post(replay_api.url("/__admin/scenarios/reset"), timeout=5)
    statuses = [requests.get(replay_api.url("/api/flaky"), timeout=5).status_code for _ in range(3)]
    assert statuses == [503, 200, 200]
    assert {"name": "retry", "state": "second"} in requests.get(replay_api.url("/__admin/scenarios"),
                                                                 timeout=5).json()["scenarios"]
    requests.post(replay_api.url("/__admin/scenarios/reset"), timeout=5)
    assert requests.get(replay_api.url("/api/flaky"), timeout=5).status_code == 503


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("GET", "/api/search?q=bob&page=1", None, "query q"),
    ("GET", "/api/search?q=ada&page=1&debug=1", None, "query debug"),
    ("POST", "/api/orders/new", {"customer": "c2", "items": [1, 2]}, "body"),
    ("DELETE", "/api/users/42?fields=all", None, "method"),
])
def test_strict_near_miss_names_the_closest_mapping_and_the_difference(
        replay_api: MockApi, method: str, path: str, body: object, field: str) -> None:
    response = requests.request(method, replay_api.url(path), json=body, timeout=5)
    assert response.status_code == 404
    report = response.json()
    assert report["error"] == "Request was not matched"
    closest = report["nearMisses"][0]
    assert field in [difference["field"] for difference in closest["differences"]], report
    unmatched = requests.get(replay_api.url("/__admin/requests/unmatched"), timeout=5).json()["requests"]
    assert any(entry["rawPath"] == path.split("?")[0] and entry["nearMisses"] for entry in unmatched)


def test_admin_mappings_add_import_delete(replay_api: MockApi) -> None:
    added = requests.post(replay_api.url("/__admin/mappings"), timeout=5,
                          json={"request": {"url": "/api/added"}, "response": {"body": "added"}})
    assert added.status_code == 201
    assert requests.get(replay_api.url("/api/added"), timeout=5).text == "added"
    imported = requests.post(replay_api.url("/__admin/mappings/import"), timeout=5, json={"mappings": [
        {"id": uid("imp-1"), "request": {"url": "/api/imported"}, "response": {"status": 202}}]})
    assert imported.ok, imported.text
    assert requests.get(replay_api.url("/api/imported"), timeout=5).status_code == 202
    assert requests.delete(replay_api.url(f"/__admin/mappings/{uid('imp-1')}"), timeout=5).ok
    assert requests.get(replay_api.url("/api/imported"), timeout=5).status_code == 404
    assert requests.delete(replay_api.url(f"/__admin/mappings/{uid('user')}"), timeout=5).status_code == 409
    bad = requests.post(replay_api.url("/__admin/mappings"), timeout=5,
                        json={"request": {"url": "/x", "cookies": {}}, "response": {}})
    assert bad.status_code == 400 and "request.cookies" in bad.json()["error"]


def test_har_file_replays(tmp_path: Path) -> None:
    har = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
        {"startedDateTime": "2024-01-01T00:00:00Z", "time": 1,
         "request": {"method": "GET", "url": "https://api.example.com/v1/items?page=2", "headers": [],
                     "queryString": [], "cookies": [], "httpVersion": "HTTP/1.1", "headersSize": -1, "bodySize": 0},
         "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "redirectURL": "",
                      "headers": [{"name": "Content-Type", "value": "application/json"}],
                      "content": {"size": 9, "mimeType": "application/json", "text": "{\"n\": 2}"},
                      "headersSize": -1, "bodySize": 9},
         "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}
    path = tmp_path / "api.har"
    path.write_text(json.dumps(har))
    with running_mockapi(tmp_path / "server.log", "--har", str(path)) as api:
        assert requests.get(api.url("/v1/items?page=2"), timeout=5).json() == {"n": 2}


def test_bad_mapping_file_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    root = write_mappings(tmp_path, [{"id": uid("bad"), "name": "bad",
                                      "request": {"url": "/x", "bodyPatterns": [{"equalToXml": "<a/>"}]},
                                      "response": {}}])
    result = run_cli("--mappings", str(root), "--port", "0")
    assert result.returncode == 2
    assert "bad.json" in result.stderr and "request.bodyPatterns[0]" in result.stderr
