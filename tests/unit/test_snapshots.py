"""The execution snapshots' helpers (tests/snapshots.py), without a stack: both backends' records
normalise to the same snapshot, nothing emulator-only is left in it, a changed execution fails."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from localstack_snapshot.snapshots import SnapshotAssertionError

from generic_api_call.secrets import MASK
from generic_api_call.trace import trace_id_for
from testbed.runs.executions import ExecutionResult
from tests.snapshots import ExecutionSnapshot, execution_record, scope_key, transformers
from tests.support import unique

EMBEDDED_API = "http://127.0.0.1:53227"
DOCKER_API = "http://mockapi:8080"


def _execution(api: str, succeeded: bool = False) -> tuple[ExecutionResult, list[dict[str, Any]]]:
    """A caught HTTP 503 (or an echoed 200), as one backend records it: its own ARN, ids, address,
    trace and timings."""
    arn = f"arn:aws:states:us-east-1:000000000000:execution:ApiCallStateMachine:run-{uuid.uuid4()}"
    path = f"/{unique('down')}"
    message = {"errorMessage": f"GET {api}{path} answered HTTP 503", "errorType": "UpstreamUnavailable"}
    history = [{"type": "ExecutionStarted"}, {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "A"}},
               {"type": "FailStateEntered", "stateEnteredEventDetails": {"name": "HandleFailure"}},
               {"type": "ExecutionFailed"}]
    host = api.removeprefix("http://")
    traceparent = f"00-{trace_id_for(arn)}-{uuid.uuid4().hex[:16]}-01"
    entry = {"method": "GET", "rawPath": path, "query": {"token": ["t0ps3cret"]}, "json": None, "body": "",
             "headers": {"Host": host, "User-Agent": "python-requests/2.34.2", "Authorization": "Bearer t0ps3cret",
                         "traceparent": traceparent, "Accept": "*/*"},
             "response": {"status": 503, "elapsedMs": 0.4}}
    if succeeded:  # an echo stub's answer carries the request's transport headers, Host too
        echo = {"path": path, "headers": entry["headers"], "executionId": arn}
        output = {"statusCode": 200, "body": echo, "elapsedMs": 6.3, "headers": {
            "Content-Length": str(len(json.dumps(echo))), "Date": "Sun, 06 Dec 2026 06:23:26 GMT"}}
        result = ExecutionResult(arn=arn, status="SUCCEEDED", output=output, error=None, cause=None, history=history)
    else:
        result = ExecutionResult(arn=arn, status="FAILED", output=None, error="UpstreamUnavailable",
                                 cause=json.dumps(message), history=history)
    return result, [entry]


def _snapshot(tmp_path: Path, update: bool) -> ExecutionSnapshot:
    return ExecutionSnapshot(base_file_path=str(tmp_path / "case"), scope_key="case", update=update, verify=True)


def _recorded(tmp_path: Path, api: str, succeeded: bool = False) -> dict[str, Any]:
    """What --snapshot-update writes for one execution."""
    tmp_path.mkdir(exist_ok=True)
    snapshot = _snapshot(tmp_path, update=True)
    result, exchange = _execution(api, succeeded)
    snapshot.add_transformer(transformers(result, api))
    snapshot.match("execution", execution_record(result, exchange))
    snapshot._assert_all()
    snapshot._persist_state()
    return json.loads((tmp_path / "case.snapshot.json").read_text())["case"]["recorded-content"]


@pytest.mark.parametrize("succeeded", [False, True], ids=["error", "echo"])
def test_both_backends_record_the_same_snapshot_with_nothing_emulator_only(tmp_path: Path, succeeded: bool) -> None:
    embedded = _recorded(tmp_path / "embedded", EMBEDDED_API, succeeded)
    docker = _recorded(tmp_path / "docker", DOCKER_API, succeeded)

    assert embedded == docker
    text = json.dumps(embedded)
    for emulator_only in ("127.0.0.1", "53227", "mockapi", "8080", "000000000000", "us-east-1", "2.34.2", "t0ps3cret"):
        assert emulator_only not in text
    [request] = embedded["execution"]["exchange"]
    assert request["path"] == "/<down:1>"
    assert request["headers"] == {"Accept": "*/*", "Authorization": MASK, "traceparent": "00-<trace-id>-<parent-id>-01"}
    assert request["query"] == {"token": MASK}
    if succeeded:
        assert embedded["execution"]["output"]["body"]["headers"]["Host"] == "<api-host>"
        assert embedded["execution"]["output"]["body"]["executionId"] == \
            "arn:aws:states:<region>:<account>:execution:ApiCallStateMachine:<execution-name>"
    else:
        assert embedded["execution"]["cause"]["errorMessage"] == "GET <api-base-url>/<down:1> answered HTTP 503"


def test_a_changed_execution_fails_its_snapshot(tmp_path: Path) -> None:
    _recorded(tmp_path, EMBEDDED_API)
    snapshot = _snapshot(tmp_path, update=False)
    result, exchange = _execution(DOCKER_API)
    exchange[0]["headers"]["X-Debug"] = "1"
    snapshot.add_transformer(transformers(result, DOCKER_API))
    snapshot.match("execution", execution_record(result, exchange))

    with pytest.raises(SnapshotAssertionError):
        snapshot._assert_all()


def test_a_test_that_failed_before_its_comparison_records_nothing(tmp_path: Path) -> None:
    """Under --snapshot-update the library would write the untransformed state (ports, ids) of a
    test that failed between `match` and the comparison."""
    snapshot = _snapshot(tmp_path, update=True)
    result, exchange = _execution(EMBEDDED_API)
    snapshot.match("execution", execution_record(result, exchange))

    snapshot._persist_state()  # the fixture's teardown; the test failed, so no _assert_all

    assert not (tmp_path / "case.snapshot.json").exists()


@pytest.mark.parametrize(("node_id", "stack", "expected"), [
    ("tests/t.py::test_a[embedded]", "embedded", "tests/t.py::test_a"),
    ("tests/t.py::test_a[docker-404]", "docker", "tests/t.py::test_a[404]"),
    ("tests/t.py::test_a[404-embedded]", "embedded", "tests/t.py::test_a[404]"),
    ("tests/t.py::test_b[x]", None, "tests/t.py::test_b[x]"),
])
def test_every_backend_shares_one_entry(node_id: str, stack: str | None, expected: str) -> None:
    params = {"stack": stack} if stack else {"p": "x"}
    item = SimpleNamespace(nodeid=node_id, path=Path("/nowhere/tests/t.py"), callspec=SimpleNamespace(params=params))
    assert scope_key(item) == expected  # type: ignore[arg-type]


def test_on_aws_the_execution_is_compared_and_the_unobserved_exchange_is_not(tmp_path: Path) -> None:
    """BACKEND=aws has no journal (docs/aws.md): a record without the exchange matches the snapshot,
    and a changed execution still fails."""
    _recorded(tmp_path, EMBEDDED_API)
    result, _ = _execution("https://api.example.com")

    def compare(record: dict[str, Any]) -> None:
        snapshot = _snapshot(tmp_path, update=False)
        snapshot.unobserved = ("$..exchange",)
        snapshot.add_transformer(transformers(result, "https://api.example.com"))
        snapshot.match("execution", record)
        snapshot._assert_all()

    compare(execution_record(result, None))
    changed = execution_record(result, None) | {"states": ["A", "Elsewhere"]}
    with pytest.raises(SnapshotAssertionError):
        compare(changed)
