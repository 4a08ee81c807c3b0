"""Attacks on the mock API's admin surface (issue 20): each is refused with a clear error, or
served without holding the event loop. Real server over a real port (the session's `mock_api`)."""

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockapi.limits import (
    MAX_DELAY_MS,
    MAX_FAULT_SIZE_BYTES,
    MAX_JSON_DEPTH,
    MAX_PATH_PATTERN_CHARS,
    MAX_RESPONSES_PER_STUB,
    MAX_RUNTIME_STUB_BYTES,
    MAX_RUNTIME_STUBS,
    MAX_STUB_BYTES,
    STUB_ITEM_BYTES,
)
from testbed.probes import free_port
from tests.mockapi.support import MockApi, run_cli

pytestmark = pytest.mark.xdist_group("mockapi")

# Python's re takes ~6 s for this path against ^.../(a+)+$ (4x per two more a's); RE2 microseconds.
HOSTILE_SUFFIX = "a" * 28 + "!"
ANSWER_DEADLINE_S = 2.0
RESPONSIVE_DEADLINE_S = 0.5
COSTLY_PATTERNS = 200


def post_stub(mock_api: MockApi, stub: object, session: Any = requests) -> requests.Response:
    response: requests.Response = session.post(mock_api.url("/__admin/stubs"), json=stub, timeout=10)
    return response


@pytest.fixture
def own_stubs(mock_api: MockApi) -> Iterator[list[str]]:
    """Ids this test added (append them), deleted afterwards."""
    ids: list[str] = []
    yield ids
    with requests.Session() as session:
        for stub_id in ids:
            session.delete(mock_api.url(f"/__admin/stubs/{stub_id}"), timeout=10)


# --- ReDoS --------------------------------------------------------------------------------------


def test_catastrophic_pattern_answers_fast_and_the_loop_stays_responsive(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"pathPattern": f"^{unique}/(a+)+$"}, "response": {"status": 200}})
    outcome: list[tuple[int, float]] = []

    def hostile() -> None:
        started = time.monotonic()
        response = requests.get(mock_api.url(f"{unique}/{HOSTILE_SUFFIX}"), timeout=30)
        outcome.append((response.status_code, time.monotonic() - started))

    worker = threading.Thread(target=hostile)
    worker.start()
    try:
        # While the hostile request is in flight, another path must keep answering promptly.
        while worker.is_alive():
            started = time.monotonic()
            assert requests.get(mock_api.url("/__admin/health"), timeout=5).ok
            assert time.monotonic() - started < RESPONSIVE_DEADLINE_S, "the event loop was held"
            worker.join(timeout=0.02)
    finally:
        worker.join(timeout=30)
    [(status, elapsed)] = outcome
    assert status == 404  # no match: the trailing "!" is not an "a"
    assert elapsed < ANSWER_DEADLINE_S
    assert requests.get(mock_api.url(f"{unique}/aaaa"), timeout=5).status_code == 200


def test_many_costly_patterns_do_not_hold_the_loop(mock_api: MockApi, unique: str, own_stubs: list[str]) -> None:
    # Each is linear for RE2, but a pattern like .{30} defeats its DFA cache: together they take
    # seconds against a long path. That time must be spent off the event loop.
    prefix = unique.strip("/")
    with requests.Session() as session:
        for index in range(COSTLY_PATTERNS):
            pattern = f"^{unique}/.*a.{{30}}(?:x{{{index + 1}}})?$"
            stub = {"id": f"{prefix}-{index}", "request": {"pathPattern": pattern}, "response": {}}
            assert post_stub(mock_api, stub, session).status_code == 201
            own_stubs.append(stub["id"])
    # Random text gives the DFA a new state at nearly every character (a repeating one would not).
    generator = random.Random(20)
    path = f"{unique}/" + "".join(generator.choice("ab") for _ in range(6000))
    outcome: list[int] = []
    worker = threading.Thread(target=lambda: outcome.append(requests.get(mock_api.url(path), timeout=60).status_code))
    worker.start()
    slowest = 0.0
    try:
        while worker.is_alive():
            started = time.monotonic()
            assert requests.get(mock_api.url("/__admin/health"), timeout=5).ok
            slowest = max(slowest, time.monotonic() - started)
            worker.join(timeout=0.02)
    finally:
        worker.join(timeout=60)
    assert outcome == [404]
    assert slowest < RESPONSIVE_DEADLINE_S, f"the event loop was held for {slowest:.2f} s"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"^/x/(a)\1$", "RE2"),  # backreference
        (r"^/x/(?=a)a$", "RE2"),  # lookahead
        ("^/x/(unclosed$", "RE2"),
        ("^/" + "a" * MAX_PATH_PATTERN_CHARS + "$", str(MAX_PATH_PATTERN_CHARS)),
    ],
)
def test_pattern_re2_cannot_take_is_400_naming_the_field(mock_api: MockApi, pattern: str, reason: str) -> None:
    response = post_stub(mock_api, {"request": {"pathPattern": pattern}, "response": {}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("request.pathPattern:") and reason in error


def test_stubs_file_patterns_are_re2_too(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs.yaml"
    stubs.write_text('stubs:\n  - request: {pathPattern: "^/x/(a)\\\\1$"}\n    response: {}\n')
    result = run_cli("--port", str(free_port()), "--stubs", str(stubs))
    assert result.returncode == 2
    assert "stubs[0].request.pathPattern" in result.stderr and "RE2" in result.stderr


# --- limits -------------------------------------------------------------------------------------


def runtime_stub_count(mock_api: MockApi) -> int:
    stubs = requests.get(mock_api.url("/__admin/stubs"), timeout=10).json()["stubs"]
    return sum(stub["source"] == "runtime" for stub in stubs)


def test_runtime_stub_count_is_capped(mock_api: MockApi, unique: str, own_stubs: list[str]) -> None:
    room = MAX_RUNTIME_STUBS - runtime_stub_count(mock_api)
    prefix = unique.strip("/")
    with requests.Session() as session:
        for index in range(room):
            stub = {"id": f"{prefix}-{index}", "request": {"path": f"{unique}/{index}"}, "response": {}}
            response = post_stub(mock_api, stub, session)
            assert response.status_code == 201, response.text
            own_stubs.append(stub["id"])
        refused = post_stub(mock_api, {"request": {"path": f"{unique}/over"}, "response": {}}, session)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert f"MAX_RUNTIME_STUBS = {MAX_RUNTIME_STUBS}" in error
        assert "DELETE /__admin/stubs/{id}" in error and "POST /__admin/reset" in error
        # Replacing a stub that exists adds none, so it still works at the limit.
        replaced = {"id": own_stubs[0], "request": {"path": f"{unique}/0"}, "response": {"status": 202}}
        assert post_stub(mock_api, replaced, session).status_code == 201
    assert requests.get(mock_api.url(f"{unique}/0"), timeout=5).status_code == 202


def test_runtime_stub_bytes_are_capped(mock_api: MockApi, unique: str, own_stubs: list[str]) -> None:
    body = "x" * (MAX_STUB_BYTES - 1024)
    prefix = unique.strip("/")
    with requests.Session() as session:
        for index in range(MAX_RUNTIME_STUB_BYTES // len(body) + 1):
            stub = {"id": f"{prefix}-{index}", "request": {"path": f"{unique}/{index}"}, "response": {"body": body}}
            response = post_stub(mock_api, stub, session)
            if response.status_code != 201:
                break
            own_stubs.append(stub["id"])
    assert response.status_code == 400, "the byte limit was never reached"
    error = response.json()["error"]
    assert "MAX_RUNTIME_STUB_BYTES" in error and "POST /__admin/reset" in error


def test_responses_count_as_the_memory_they_take(mock_api: MockApi, unique: str, own_stubs: list[str]) -> None:
    # 3 bytes of JSON ({}) became a ~250-byte object: 1 MiB of them took ~75 MiB, and 74 such
    # stubs 5.4 GiB, all "within" a limit that counted JSON text. Now each counts what it takes.
    too_many = {"request": {"path": unique}, "responses": [{}] * (MAX_RESPONSES_PER_STUB + 1)}
    response = post_stub(mock_api, too_many)
    assert response.status_code == 400 and "MAX_RESPONSES_PER_STUB" in response.json()["error"]
    prefix = unique.strip("/")
    with requests.Session() as session:
        for index in range(MAX_RUNTIME_STUBS):
            stub = {"id": f"{prefix}-{index}", "request": {"path": f"{unique}/{index}"},
                    "responses": [{}] * MAX_RESPONSES_PER_STUB}
            response = post_stub(mock_api, stub, session)
            if response.status_code != 201:
                break
            own_stubs.append(stub["id"])
    assert "MAX_RUNTIME_STUB_BYTES" in response.json()["error"]
    assert len(own_stubs) < MAX_RUNTIME_STUB_BYTES // (STUB_ITEM_BYTES * MAX_RESPONSES_PER_STUB)


@pytest.mark.parametrize("chunked", [False, True])
def test_stub_over_the_size_limit_is_413(mock_api: MockApi, unique: str, chunked: bool) -> None:
    data = json.dumps({"request": {"path": unique}, "response": {"body": "x" * MAX_STUB_BYTES}}).encode()
    # A generator makes requests send it chunked, with no Content-Length to refuse it by.
    payload: Any = (data[i : i + 65536] for i in range(0, len(data), 65536)) if chunked else data
    response = requests.post(mock_api.url("/__admin/stubs"), data=payload, timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "MAX_STUB_BYTES" in response.json()["error"]
    assert requests.get(mock_api.url(unique), timeout=5).status_code == 404


# --- hostile input ------------------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_deep_json_is_400_not_500(mock_api: MockApi, unique: str) -> None:
    too_deep = {"request": {"path": unique}, "response": {"body": nested(MAX_JSON_DEPTH)}}
    response = post_stub(mock_api, too_deep)
    assert response.status_code == 400 and f"more than {MAX_JSON_DEPTH} levels" in response.json()["error"]
    # Deeper than Python's recursion limit: the JSON parser itself gives up.
    text = '{"request": {"path": "/x"}, "response": {"body": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = requests.post(mock_api.url("/__admin/stubs"), data=text, timeout=10)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]
    assert requests.get(mock_api.url("/__admin/health"), timeout=5).ok


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 979, 1000, 20_000])
def test_a_deep_request_body_is_served_and_journaled_as_text(mock_api: MockApi, unique: str, depth: int,
                                                             own_stubs: list[str]) -> None:
    """~980 levels parsed, then failed the echo (500) and every later journal listing (500 for
    everyone); ~1000 failed the parser (RecursionError, 500)."""
    echo = {"request": {"path": f"{unique}/echo"}, "response": {"status": 200, "echo": True}}
    own_stubs.append(mock_api.add_stub(echo))
    body = "[" * depth + "]" * depth
    answered = requests.post(mock_api.url(f"{unique}/echo"), data=body, timeout=10)
    assert answered.status_code == 200, answered.text
    assert answered.json()["body"] == body and answered.json()["json"] is None
    [entry] = mock_api.journal(unique)
    assert entry["body"] == body and entry["json"] is None
    assert requests.get(mock_api.url("/__admin/requests"), timeout=10).status_code == 200
    shallow = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert requests.post(mock_api.url(f"{unique}/echo"), data=shallow, timeout=10).json()["json"] == json.loads(shallow)


def test_deep_yaml_stubs_file_is_a_clear_error(tmp_path: Path) -> None:
    stubs = tmp_path / "deep.yaml"
    stubs.write_text("stubs: " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_cli("--port", str(free_port()), "--stubs", str(stubs))
    assert result.returncode == 2
    assert str(stubs) in result.stderr and "nested too deeply" in result.stderr


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"X-A": "a\r\nSet-Cookie: evil=1"}, "response.headers.X-A"),
        ({"Set-Cookie: evil=1; X": "v"}, "response.headers.Set-Cookie: evil=1; X"),
        ({"X A": "v"}, "response.headers.X A"),
        ({"Content-Length": "100"}, "response.headers.Content-Length"),
        ({"transfer-encoding": "chunked"}, "response.headers.transfer-encoding"),
        ({"X-Name": "Zoë"}, "response.headers.X-Name"),
        ({"X-Nul": "a\x00b"}, "response.headers.X-Nul"),
    ],
)
def test_response_header_injection_is_400(mock_api: MockApi, unique: str, headers: dict[str, str],
                                          field: str) -> None:
    response = post_stub(mock_api, {"request": {"path": unique}, "response": {"headers": headers}})
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}:")
    assert requests.get(mock_api.url(unique), timeout=5).status_code == 404  # nothing was added


def test_request_header_with_newline_is_400(mock_api: MockApi, unique: str) -> None:
    stub = {"request": {"path": unique, "headers": {"X-A": "a\r\nb"}}, "response": {}}
    response = post_stub(mock_api, stub)
    assert response.status_code == 400 and response.json()["error"].startswith("request.headers.X-A:")


@pytest.mark.parametrize("suffix", ["/café", "/a b", "/x?q=1", "/tab\there"])
def test_path_that_can_never_arrive_is_400_with_the_fix(mock_api: MockApi, unique: str, suffix: str) -> None:
    response = post_stub(mock_api, {"request": {"path": f"{unique}{suffix}"}, "response": {}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("request.path:") and "percent-encoded" in error


def test_unicode_body_and_percent_encoded_path_are_served(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"path": f"{unique}/caf%C3%A9"}, "response": {"body": {"名前": "Zoë ✓"}}})
    response = requests.get(mock_api.url(f"{unique}/café"), timeout=5)  # requests percent-encodes it
    assert (response.status_code, response.json()) == (200, {"名前": "Zoë ✓"})


@pytest.mark.parametrize(
    ("response_spec", "field"),
    [
        ({"delayMs": MAX_DELAY_MS + 1}, "response.delayMs"),
        ({"fault": "slow_drip", "dripIntervalMs": MAX_DELAY_MS + 1}, "response.dripIntervalMs"),
        ({"fault": "gzip_bomb", "sizeBytes": MAX_FAULT_SIZE_BYTES + 1}, "response.sizeBytes"),
        ({"delayMs": 10**400}, "response.delayMs"),
    ],
)
def test_unbounded_numbers_are_400(mock_api: MockApi, unique: str, response_spec: dict[str, Any],
                                   field: str) -> None:
    response = post_stub(mock_api, {"request": {"path": unique}, "response": response_spec})
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}: must be at most")


# --- gzip bombs ---------------------------------------------------------------------------------


def test_gzip_bombs_being_compressed_do_not_hold_other_requests(mock_api: MockApi, unique: str,
                                                                own_stubs: list[str]) -> None:
    """As many concurrent bombs as the default executor has threads (~0.7 s of CPU each) held every
    request's stub matching behind them (six 512 MiB bombs: 11 s)."""
    bombs = min(32, (os.cpu_count() or 1) + 4)  # the default executor's size
    for index in range(bombs):  # a size each: compressed fills are cached by size
        own_stubs.append(mock_api.add_stub({"request": {"path": f"{unique}/bomb/{index}"},
                                            "response": {"fault": "gzip_bomb", "sizeBytes": 96 * 2**20 - index}}))
    own_stubs.append(mock_api.add_stub({"request": {"path": f"{unique}/plain"}, "response": {"status": 200}}))

    def fetch(index: int) -> None:
        with requests.get(mock_api.url(f"{unique}/bomb/{index}"), timeout=120, stream=True) as response:
            assert response.status_code == 200

    workers = [threading.Thread(target=fetch, args=(index,)) for index in range(bombs)]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(mock_api.journal(f"{unique}/bomb/")) < bombs:  # every bomb has arrived
            assert time.monotonic() < deadline, "the bombs did not all arrive"
            time.sleep(0.02)
        started = time.monotonic()
        assert requests.get(mock_api.url(f"{unique}/plain"), timeout=60).status_code == 200
        assert time.monotonic() - started < RESPONSIVE_DEADLINE_S
    finally:
        for worker in workers:
            worker.join(timeout=120)
