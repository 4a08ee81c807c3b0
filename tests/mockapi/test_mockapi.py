"""End-to-end tests of the mock API: the real server runs as a subprocess on a free port.

Every test uses its own unique paths (see `unique`), so tests can run in any order against one
shared server and read only their own journal entries with ?pathPrefix=.
"""

import gzip
import json
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from testbed.probes import free_port
from tests.mockapi.support import MockApi, clean_env, run_cli

# One xdist worker runs them all (`--dist loadgroup`), so one server serves the session: each
# worker would start its own (`mock_api` is per process), ~0.7 s of CPU each.
pytestmark = pytest.mark.xdist_group("mockapi")


# --- file stubs -------------------------------------------------------------------------------


def test_get_user_echoes_path_and_query(mock_api: MockApi) -> None:
    user = uuid.uuid4().hex[:8]
    response = requests.get(mock_api.url(f"/users/{user}"), params={"expand": "orders"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    echo = response.json()
    assert echo["method"] == "GET"
    assert echo["path"] == f"/users/{user}"
    assert echo["query"] == {"expand": ["orders"]}
    assert mock_api.journal(f"/users/{user}")[0]["stubId"] == "get-user"


def test_encoded_slash_stays_in_one_segment(mock_api: MockApi) -> None:
    user = f"{uuid.uuid4().hex[:8]}%2F..%2Fadmin"
    response = requests.get(mock_api.url(f"/users/{user}"), timeout=5)
    assert response.status_code == 200  # matched ^/users/[^/]+$ on the path as sent
    echo = response.json()
    assert echo["rawPath"] == f"/users/{user}"
    assert echo["path"] == f"/users/{user.replace('%2F', '/')}"


def test_create_order_returns_201_echo(mock_api: MockApi) -> None:
    ref = uuid.uuid4().hex
    response = requests.post(mock_api.url("/orders"), params={"ref": ref}, json={"sku": "A1"}, timeout=5)
    assert response.status_code == 201
    assert response.json()["json"] == {"sku": "A1"}
    assert response.json()["query"] == {"ref": [ref]}


def test_echo_reports_query_unicode_and_json_body(mock_api: MockApi, unique: str) -> None:
    path = f"/echo{unique}/ünï"
    payload = {"greeting": "héllo ✓", "n": [1, 2]}
    response = requests.post(
        mock_api.url(path),
        params=[("q", "a&b=c"), ("name", "Zoë"), ("tag", "x"), ("tag", "y")],
        # Raw UTF-8 (requests' json= would \u-escape it) so the echoed text can be checked.
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"X-Trace": "abc", "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 200
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == path
    assert echo["query"] == {"q": ["a&b=c"], "name": ["Zoë"], "tag": ["x", "y"]}
    assert echo["rawQuery"] == "q=a%26b%3Dc&name=Zo%C3%AB&tag=x&tag=y"
    assert echo["headers"]["X-Trace"] == "abc"
    assert echo["json"] == payload
    assert "héllo ✓" in echo["body"]


def test_echo_of_non_json_body_has_null_json(mock_api: MockApi, unique: str) -> None:
    response = requests.put(mock_api.url(f"/echo{unique}"), data="plain text", timeout=5)
    assert response.json()["body"] == "plain text"
    assert response.json()["json"] is None


def test_header_matching_picks_authorized_stub(mock_api: MockApi) -> None:
    url = mock_api.url("/secure/profile")
    ok = requests.get(url, headers={"Authorization": "Bearer testbed-token"}, timeout=5)
    assert (ok.status_code, ok.json()) == (200, {"user": "alice"})
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        denied = requests.get(url, headers=headers, timeout=5)
        assert (denied.status_code, denied.json()) == (401, {"error": "unauthorized"})


def test_header_names_match_case_insensitively(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub(
        {
            "request": {"method": "GET", "path": unique, "headers": {"x-api-key": "k1"}},
            "response": {"status": 204},
        }
    )
    assert requests.get(mock_api.url(unique), headers={"X-API-KEY": "k1"}, timeout=5).status_code == 204
    assert requests.get(mock_api.url(unique), headers={"X-API-KEY": "k2"}, timeout=5).status_code == 404


@pytest.mark.parametrize("code", [201, 204, 404, 500, 503])
def test_status_from_path(mock_api: MockApi, code: int) -> None:
    response = requests.post(mock_api.url(f"/status/{code}"), params={"n": uuid.uuid4().hex}, timeout=5)
    assert response.status_code == code
    if code != 204:
        assert response.json()["path"] == f"/status/{code}"


def test_unmatched_request_is_404_and_journaled(mock_api: MockApi, unique: str) -> None:
    response = requests.delete(mock_api.url(f"{unique}/missing"), timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": "no stub matched", "method": "DELETE", "path": f"{unique}/missing"}
    [entry] = mock_api.journal(unique)
    assert entry["stubId"] is None
    assert entry["method"] == "DELETE"


# --- run-time stubs ---------------------------------------------------------------------------


def test_sequence_fails_twice_then_succeeds(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub(
        {
            "request": {"method": "GET", "path": unique},
            "responses": [
                {"status": 500},
                {"status": 503, "headers": {"Retry-After": 1}},
                {"status": 200, "body": {"ok": True}},
            ],
        }
    )
    statuses = [requests.get(mock_api.url(unique), timeout=5).status_code for _ in range(4)]
    assert statuses == [500, 503, 200, 200]  # the last response repeats


def test_admin_add_list_delete_stub(mock_api: MockApi, unique: str) -> None:
    stub_id = f"lifecycle{unique.replace('/', '-')}"
    stub = {"id": stub_id, "request": {"method": "GET", "path": unique}, "response": {"body": "hi"}}
    assert mock_api.add_stub(stub) == stub_id

    listed = requests.get(mock_api.url("/__admin/stubs"), timeout=5).json()["stubs"]
    [mine] = [s for s in listed if s["id"] == stub_id]
    assert mine["source"] == "runtime"
    assert mine["request"] == stub["request"]
    assert listed.index(mine) < [s["id"] for s in listed].index("get-user")  # run-time first

    served = requests.get(mock_api.url(unique), timeout=5)
    assert (served.status_code, served.text) == (200, "hi")
    assert served.headers["Content-Type"].startswith("text/plain")

    deleted = requests.delete(mock_api.url(f"/__admin/stubs/{stub_id}"), timeout=5)
    assert deleted.status_code == 200
    assert requests.get(mock_api.url(unique), timeout=5).status_code == 404
    assert requests.delete(mock_api.url(f"/__admin/stubs/{stub_id}"), timeout=5).status_code == 404
    assert requests.delete(mock_api.url("/__admin/stubs/get-user"), timeout=5).status_code == 409


def test_runtime_stub_overrides_file_stub_newest_first(mock_api: MockApi) -> None:
    path = f"/users/override-{uuid.uuid4().hex[:8]}"
    mock_api.add_stub({"request": {"method": "GET", "path": path}, "response": {"status": 418}})
    assert requests.get(mock_api.url(path), timeout=5).status_code == 418
    mock_api.add_stub({"request": {"method": "ANY", "path": path}, "response": {"status": 202}})
    assert requests.get(mock_api.url(path), timeout=5).status_code == 202


def test_redirect_and_retry_after_need_no_fault(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub(
        {
            "request": {"method": "GET", "path": f"{unique}/old"},
            "response": {"status": 302, "headers": {"Location": f"{unique}/new"}},
        }
    )
    mock_api.add_stub(
        {
            "request": {"method": "GET", "path": f"{unique}/busy"},
            "response": {"status": 429, "headers": {"Retry-After": 7}},
        }
    )
    redirect = requests.get(mock_api.url(f"{unique}/old"), allow_redirects=False, timeout=5)
    assert (redirect.status_code, redirect.headers["Location"]) == (302, f"{unique}/new")
    busy = requests.get(mock_api.url(f"{unique}/busy"), timeout=5)
    assert (busy.status_code, busy.headers["Retry-After"]) == (429, "7")


def test_delay(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"path": unique}, "response": {"delayMs": 300}})
    started = time.monotonic()
    assert requests.get(mock_api.url(unique), timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("stub", "field"),
    [
        ({"response": {}}, "request"),
        ({"request": {"method": "GET"}, "response": {}}, "request"),
        ({"request": {"path": "/x", "pathPattern": "^/x$"}, "response": {}}, "request"),
        ({"request": {"pathPattern": "(unclosed"}, "response": {}}, "request.pathPattern"),
        ({"request": {"path": "/x"}, "response": {"status": "ok"}}, "response.status"),
        ({"request": {"path": "/x"}, "response": {"status": 700}}, "response.status"),
        ({"request": {"path": "/x"}, "response": {"fault": "explode"}}, "response.fault"),
        ({"request": {"path": "/x"}, "response": {"fault": "oversized"}}, "response.sizeBytes"),
        ({"request": {"path": "/x"}, "response": {"stauts": 200}}, "response.stauts"),
        ({"request": {"path": "/x"}, "responses": []}, "responses"),
        ({"request": {"path": "/x"}, "responses": [{}, {"delayMs": -1}]}, "responses[1].delayMs"),
        ({"id": "has space", "request": {"path": "/x"}, "response": {}}, "id"),
        ({"request": {"path": "/x"}}, "response"),
    ],
)
def test_bad_stub_is_rejected_naming_the_field(mock_api: MockApi, stub: dict[str, Any], field: str) -> None:
    response = requests.post(mock_api.url("/__admin/stubs"), json=stub, timeout=5)
    assert response.status_code == 400
    assert field in response.json()["error"]


def test_non_json_stub_body_is_400(mock_api: MockApi) -> None:
    response = requests.post(mock_api.url("/__admin/stubs"), data="{not json", timeout=5)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


# --- journal ----------------------------------------------------------------------------------


def test_journal_filter_and_delete(mock_api: MockApi, unique: str) -> None:
    other = f"/t-{uuid.uuid4().hex[:10]}"
    requests.get(mock_api.url(f"/echo{unique}/first"), params={"a": "1"}, timeout=5)
    requests.post(mock_api.url(f"/echo{unique}/second"), json={"n": 2}, timeout=5)
    requests.get(mock_api.url(f"/echo{other}"), timeout=5)
    requests.get(mock_api.url("/__admin/health"), timeout=5)

    entries = mock_api.journal(f"/echo{unique}")
    assert [e["path"] for e in entries] == [f"/echo{unique}/first", f"/echo{unique}/second"]
    first, second = entries
    assert first["query"] == {"a": ["1"]} and first["rawQuery"] == "a=1"
    assert second["method"] == "POST" and second["json"] == {"n": 2}
    assert second["stubId"] == "echo"
    assert set(first) >= {"id", "receivedAt", "headers", "body", "json", "stubId"}
    all_paths = [e["path"] for e in mock_api.journal("")]
    assert not any(p.startswith("/__admin") for p in all_paths)

    cleared = requests.delete(mock_api.url("/__admin/requests"), params={"pathPrefix": f"/echo{unique}"}, timeout=5)
    assert cleared.json() == {"deleted": 2}
    assert mock_api.journal(f"/echo{unique}") == []
    assert len(mock_api.journal(f"/echo{other}")) == 1  # other prefixes untouched


def test_journal_truncates_large_bodies(mock_api: MockApi, unique: str) -> None:
    body = b"a" * (200 * 1024)
    response = requests.post(mock_api.url(f"/echo{unique}"), data=body, timeout=10)
    assert response.status_code == 200
    [entry] = mock_api.journal(f"/echo{unique}")
    assert entry["bodyTruncated"] is True
    assert entry["bodySize"] == len(body)
    assert len(entry["body"]) == 64 * 1024


def test_reset_removes_runtime_stubs_and_journal(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"path": unique}, "responses": [{"status": 500}, {"status": 200}]})
    assert requests.get(mock_api.url(unique), timeout=5).status_code == 500
    assert requests.post(mock_api.url("/__admin/reset"), timeout=5).status_code == 200
    assert mock_api.journal(unique) == []
    assert requests.get(mock_api.url(unique), timeout=5).status_code == 404
    assert requests.get(mock_api.url("/echo/still-there"), timeout=5).status_code == 200


# --- faults -----------------------------------------------------------------------------------


def test_fault_connection_reset(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"path": unique}, "response": {"fault": "connection_reset"}})
    with pytest.raises(requests.ConnectionError):
        requests.get(mock_api.url(unique), timeout=5)
    assert requests.get(mock_api.url("/__admin/health"), timeout=5).ok
    assert len(mock_api.journal(unique)) == 1


def test_fault_slow_drip(mock_api: MockApi, unique: str) -> None:
    body = "0123456789" * 4  # 40 bytes -> 5 chunks of 8, 4 pauses of 150 ms
    mock_api.add_stub(
        {
            "request": {"path": unique},
            "response": {"fault": "slow_drip", "body": body, "chunkBytes": 8, "dripIntervalMs": 150},
        }
    )
    started = time.monotonic()
    with requests.get(mock_api.url(unique), stream=True, timeout=5) as response:
        first = response.raw.read(8)
        first_at = time.monotonic() - started
        rest = response.raw.read()
    total = time.monotonic() - started
    assert first + rest == body.encode()
    assert first_at < 0.3  # the first chunk is not held back...
    assert total >= 0.6  # ...but the whole body takes the four pauses


def test_fault_oversized_streams_exact_size(mock_api: MockApi, unique: str) -> None:
    size = 20 * 1024 * 1024 + 123
    mock_api.add_stub({"request": {"path": unique}, "response": {"fault": "oversized", "sizeBytes": size}})
    received = 0
    with requests.get(mock_api.url(unique), stream=True, timeout=10) as response:
        assert int(response.headers["Content-Length"]) == size
        for chunk in response.iter_content(chunk_size=256 * 1024):
            received += len(chunk)
    assert received == size


def test_fault_gzip_bomb(mock_api: MockApi, unique: str) -> None:
    size = 32 * 1024 * 1024
    mock_api.add_stub({"request": {"path": unique}, "response": {"fault": "gzip_bomb", "sizeBytes": size}})
    with requests.get(mock_api.url(unique), stream=True, timeout=30) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        raw = response.raw.read(decode_content=False)
    assert len(raw) < size // 500
    assert len(gzip.decompress(raw)) == size


def test_fault_invalid_json(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"path": unique}, "response": {"fault": "invalid_json"}})
    response = requests.get(mock_api.url(unique), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_fault_no_response_times_out_client_but_not_server(mock_api: MockApi, unique: str) -> None:
    mock_api.add_stub({"request": {"path": unique}, "response": {"fault": "no_response"}})
    outcome: list[BaseException] = []

    def call_hanging_endpoint() -> None:
        try:
            requests.get(mock_api.url(unique), timeout=(2, 1.5))
        except requests.RequestException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call_hanging_endpoint)
    worker.start()
    deadline = time.monotonic() + 1.0
    while not mock_api.journal(unique) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert worker.is_alive(), "the hanging request finished too early"
    health = requests.get(mock_api.url("/__admin/health"), timeout=1)
    assert health.json() == {"status": "ok"}  # the server still answers others meanwhile
    worker.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], requests.ReadTimeout)


# --- command line -----------------------------------------------------------------------------


def test_bad_stubs_file_exits_nonzero_naming_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad-stubs.yaml"
    bad.write_text("stubs:\n  - request: {path: /x}\n    response: {status: nope}\n")
    result = run_cli("--port", str(free_port()), "--stubs", str(bad))
    assert result.returncode != 0
    assert str(bad) in result.stderr
    assert "stubs[0].response.status" in result.stderr


def test_unparsable_stubs_file_from_env(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("stubs: [unclosed\n")
    result = run_cli(env=clean_env(MOCKAPI_STUBS=str(bad), MOCKAPI_PORT=str(free_port())))
    assert result.returncode != 0
    assert str(bad) in result.stderr and "cannot parse" in result.stderr


def test_missing_stubs_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run_cli("--port", str(free_port()), "--stubs", str(missing))
    assert result.returncode != 0
    assert str(missing) in result.stderr


def test_port_in_use_exits_nonzero(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("--host", "127.0.0.1", "--port", str(port))
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr and "already in use" in result.stderr


def test_journal_records_the_trace_id_and_filters_by_it(mock_api: MockApi, unique: str) -> None:
    prefix = unique
    trace = uuid.uuid4().hex
    mock_api.add_stub({"request": {"pathPattern": f"^{prefix}/.*$"}, "response": {"status": 201, "body": {"ok": 1}}})
    requests.get(mock_api.url(f"{prefix}/a"), headers={"traceparent": f"00-{trace}-{'1' * 16}-01"}, timeout=5)
    other = f"00-{uuid.uuid4().hex}-{'2' * 16}-01"
    requests.get(mock_api.url(f"{prefix}/b"), headers={"traceparent": other}, timeout=5)
    requests.get(mock_api.url(f"{prefix}/c"), headers={"traceparent": "not-a-traceparent"}, timeout=5)

    journal = mock_api.journal(prefix)
    assert journal[0]["traceId"] == trace
    assert journal[2]["traceId"] is None  # malformed headers are kept as headers, not as ids
    response = requests.get(mock_api.url("/__admin/requests"), params={"traceId": trace}, timeout=5)
    selected = response.json()["requests"]
    assert [entry["rawPath"] for entry in selected] == [f"{prefix}/a"]
    # What was answered is journaled with the request.
    answered = selected[0]["response"]
    assert answered["status"] == 201
    assert json.loads(answered["body"]) == {"ok": 1}


def test_journal_elapsed_ms_is_the_time_taken_to_answer(mock_api: MockApi, unique: str) -> None:
    delay_ms = 300
    mock_api.add_stub({"request": {"path": f"{unique}/slow"},
                       "response": {"delayMs": delay_ms, "fault": "invalid_json"}})
    mock_api.add_stub({"request": {"path": f"{unique}/plain"}, "response": {"status": 204}})
    requests.get(mock_api.url(f"{unique}/slow"), timeout=5)
    requests.get(mock_api.url(f"{unique}/plain"), timeout=5)
    slow, plain = (entry["response"] for entry in mock_api.journal(unique))
    assert slow["fault"] == "invalid_json"
    assert slow["elapsedMs"] >= delay_ms  # the delay before the fault counts
    assert plain["elapsedMs"] < delay_ms  # a plain answer takes well under the delay


def test_journal_records_the_fault_a_stub_served(mock_api: MockApi, unique: str) -> None:
    prefix = unique
    mock_api.add_stub({"request": {"path": f"{prefix}/x"}, "response": {"fault": "connection_reset"}})
    with pytest.raises(requests.ConnectionError):
        requests.get(mock_api.url(f"{prefix}/x"), timeout=5)
    [entry] = mock_api.journal(prefix)
    assert entry["response"]["fault"] == "connection_reset"
