"""Record the real API through the state machine, replay it with the API stopped, scrubbed, and notice drift.

"The real API" is tests/real_api.py in its own process (not the mock API). The Lambda's base_url
is the stack's mock API; `testbed record` makes the mock API proxy this test's paths to the real
API while the executions run, and writes the recording; the test then stops the real API and
runs the same executions against the recording (imported as TESTBED_MOCKAPI_MAPPINGS would load
it), strictly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from generic_api_call.secrets import forms
from testbed.errors import TestbedError
from testbed.record import command, drift, files
from tests import real_api
from tests.support import unique

if TYPE_CHECKING:  # imported at run time, pytest would try to collect the Testbed class here
    from tests.support import Testbed

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("recording"),  # one recording at a time
              pytest.mark.needs_mockapi]  # records through the mock API


def _runs(testbed: Testbed, names: dict[str, str]) -> list[tuple[str, int, Any]]:
    """Every execution of the scenario: (status, the API's status code, the body the Lambda read)."""
    calls = [(names["users"], "GET", {"id": "7"}), (names["secure"], "GET", {}), (names["order"], "POST", {}),
             (names["counter"], "GET", {}), (names["counter"], "GET", {})]
    found = []
    for name, method, params in calls:
        result = testbed.run(name, method, params)
        output = result.output or {}
        found.append((result.status, output.get("statusCode"), output.get("body")))
    return found


def test_record_replay_scrub_and_drift_through_the_state_machine(
        testbed: Testbed, make_template: Callable[..., str], make_secret: Callable[[str], str], tmp_path: Path) -> None:
    host = testbed.stack.local_server_host()  # where the stack's mock API reaches this machine
    key = f"rk/{unique('')[-10:]}+=ä"  # characters each encoding of the Lambda's mask writes differently
    secret_name = make_secret(key)
    prefix = unique("rec")
    base = f"{{{{ base_url }}}}/{prefix}/api"
    use_secret = f"{{{{ secret('{secret_name}') }}}}"
    names = {
        "users": make_template("GET", url=f"{base}/users/{{{{ params.id }}}}"),
        "secure": make_template("GET", url=f"{base}/secure", headers={"X-Api-Key": use_secret}, secrets=[secret_name]),
        "order": make_template("POST", url=f"{base}/orders", headers={"Content-Type": "application/json"},
                               body={"password": use_secret, "items": [1, 2]}, secrets=[secret_name]),
        "counter": make_template("GET", url=f"{base}/counter"),
    }
    config = testbed.stack.config
    folder = tmp_path / prefix

    # Record: the executions reach the real API through the mock API.
    with real_api.running("--api-key", key, host=host) as target:
        command.start(testbed.stack, command.parse(["--target", target, "--path-pattern", f"/{prefix}/.*"], config))
        try:
            recorded = _runs(testbed, names)
        finally:
            command.stop(testbed.stack, command.parse(["--stop", "--name", prefix, "--out", str(folder)], config))
    assert [r[:2] for r in recorded] == [("SUCCEEDED", 200)] * 2 + [("SUCCEEDED", 201)] + [("SUCCEEDED", 200)] * 2
    assert recorded[1][2] == {"ok": True, "echo": "[REDACTED]"}  # the real API echoed it; the Lambda masked it
    assert [r[2] for r in recorded[3:]] == [{"count": 1}, {"count": 2}]

    # Scrub: no file, and no journal entry of the recording, holds the secret in any form the
    # Lambda's mask knows (as written, or in a JSON string once unescaped).
    written = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(written) == 6  # 5 mappings (the counter's two as a scenario) and the HAR
    texts = {p.name: p.read_text(encoding="utf-8") for p in written}
    texts["journal"] = json.dumps([e for e in testbed.received(f"/{prefix}/") if e.get("proxiedTo")])
    assert files.leaks(texts, sorted(forms(key))) == []

    # Replay, strictly, with the real API stopped: the same answers (the echoed key scrubbed).
    mappings = [json.loads(p.read_text()) for p in (folder / "mappings").glob("*.json")]
    admin = testbed.stack.endpoints.mockapi + "/__admin"
    requests.post(f"{admin}/mappings/import", json={"mappings": mappings}, timeout=10).raise_for_status()
    try:
        replayed = _runs(testbed, names)
        assert replayed[0] == recorded[0] and replayed[3:] == recorded[3:]
        assert replayed[1][:2] == ("SUCCEEDED", 200) and replayed[2][:2] == ("SUCCEEDED", 201)
        missed = testbed.run(names["users"], "GET", {"id": "8"})  # never recorded
        assert missed.output is None or missed.output.get("statusCode") != 200
        [unmatched] = [e for e in requests.get(f"{admin}/requests/unmatched", timeout=10).json()["requests"]
                       if e["rawPath"].startswith(f"/{prefix}/")]
        closest = unmatched["nearMisses"][0]
        assert closest["differences"][0]["field"] == "url"
        assert closest["differences"][0]["expected"] == f"/{prefix}/api/users/7"
    finally:
        for item in mappings:
            requests.delete(f"{admin}/mappings/{item['id']}", timeout=10)
        requests.post(f"{admin}/scenarios/reset", timeout=10)

    # Drift: the live API changed the users answer's shape; the rest did not.
    with real_api.running("--drift", "--api-key", key, host=host) as changed:
        checks = drift.verify(files.read_har(folder), changed, {"X-Api-Key": key})
    by_path = {c.request.rsplit("/", 1)[-1]: c for c in checks}
    assert set(by_path["7"].changes) == {"$.id: number -> string", "$.tags: removed", "$.email: added (string)"}
    assert not any(c.drifted for name, c in by_path.items() if name != "7"), checks
    assert not any(c.skipped for c in checks if c.request.endswith("/secure")), checks


def test_a_loopback_target_is_refused_where_the_mock_api_runs_in_a_container(testbed: Testbed) -> None:
    if testbed.stack.name != "docker":
        pytest.skip("this stack's mock API runs on this machine: 127.0.0.1 is this machine there")
    with pytest.raises(TestbedError) as refused:
        command.start(testbed.stack, command.parse(["--target", "http://127.0.0.1:9"], testbed.stack.config))
    assert "is the container itself" in str(refused.value)
    assert f"--target http://{testbed.stack.local_server_host()}:PORT" in (refused.value.hint or "")


@pytest.mark.exclusive(reason="restarts the shared stack's mock API: its run-time stubs and journal start empty")
def test_a_target_not_allowed_at_start_is_allowed_by_restarting_the_mock_api(
        testbed: Testbed, capsys: pytest.CaptureFixture[str]) -> None:
    stack = testbed.stack
    target = f"http://{unique('not-allowed')}.test"  # never called: the filters select no path
    mockapi = stack.endpoints.mockapi
    command.start(stack, command.parse(["--target", target, "--path-pattern", "/never/.*"], stack.config))
    try:
        assert f"Restarted the mock API allowing {target}: its run-time stubs and journal start empty" \
            in capsys.readouterr().out
        assert stack.endpoints.mockapi == mockapi  # the same port: what every test process looked up stays right
        status = requests.get(f"{mockapi}/__admin/recordings/status", timeout=10).json()
        assert (status["status"], status["targetBaseUrl"]) == ("Recording", target)
    finally:
        requests.post(f"{mockapi}/__admin/recordings/stop", timeout=10)
