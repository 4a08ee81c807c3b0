"""`testbed run`, `show` and `executions` as a developer sees them, through a pipe (issue 20):
no secret in clear wherever the mock API journal holds it, no escape sequence from a stored string.

Every test owns its template, stub and secret (removed afterwards) and the executions it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from generic_api_call.secrets import MASK, forms
from testbed import settings
from testbed.runs import executions
from tests import support
from tests.support import unique
from tests.unit.test_hostile_views import raw_controls

pytestmark = [pytest.mark.integration, pytest.mark.needs_mockapi]
HOSTILE = "\x1b[2J\x1b[H\x1b[31mred\x07\r\u202e[/][link=http://x]a[/link]"


def cli(testbed: support.Testbed, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m testbed ...` against the test's stack, its stdout a pipe, with NO_COLOR."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("TESTBED_MOCKAPI_URL", None)
    endpoints = testbed.stack.endpoints
    options = ["--endpoint", endpoints.aws]
    if args[0] in ("run", "show"):
        options += ["--mockapi", endpoints.mockapi]
    return subprocess.run([sys.executable, "-m", "testbed", *args, *options], capture_output=True, text=True,
                          check=False, cwd=settings.ROOT, env=env, timeout=120)


def test_run_shows_no_secret_from_the_journal(testbed: support.Testbed, make_template: Any, make_stub: Any,
                                              make_secret: Any) -> None:
    secret = f"Zq9/Xk W7+{unique('')[-8:]}"  # a slash, a space and a plus: the path segment encodes them
    secret_name = make_secret(secret)
    reference = f"{{{{ secret('{secret_name}') }}}}"
    segment = unique("keyed")
    make_stub({"request": {"method": "POST", "pathPattern": f"^/{segment}/.*$"},
               "response": {"status": 200, "echo": True}})
    name = make_template("POST", url=f"{{{{ base_url }}}}/{segment}/{reference}",
                         headers={"X-Client-Key": reference}, body={"key": reference}, secrets=[secret_name])

    shown = {flag or "text": cli(testbed, "run", name, "POST", *([flag] if flag else []))
             for flag in ("", "--json")}

    [received] = testbed.received(f"/{segment}/")[-1:]
    assert received["headers"]["X-Client-Key"] == secret  # the secret did reach the API: this test can fail
    for how, done in shown.items():
        assert done.returncode == 0, f"{how}: {done.stdout}\n{done.stderr}"
        leaked = sorted(form for form in forms(secret) if form in done.stdout + done.stderr)
        assert leaked == [], f"{how} output shows the secret in clear: {leaked}"
        assert MASK in done.stdout and "not masked by value" not in done.stdout
    exchange = json.loads(shown["--json"].stdout)["exchanges"][0]
    assert exchange["url"].endswith(f"/{segment}/{MASK}") and exchange["request_headers"]["X-Client-Key"] == MASK


def test_stored_escapes_and_markup_reach_no_terminal(testbed: support.Testbed, make_template: Any,
                                                     make_stub: Any) -> None:
    path = f"/{unique('note')}"
    make_stub({"request": {"method": "POST", "path": path}, "response": {"status": 200, "echo": True}})
    name = make_template("POST", url=f"{{{{ base_url }}}}{path}", body="note={{ params.note }}",
                         headers={"Content-Type": "text/plain"})
    hostile = executions.run(testbed.client("stepfunctions"), testbed.state_machine_arn,
                             {"templateName": HOSTILE, "method": "GET", "params": {}}, timeout=90)

    ran = cli(testbed, "run", name, "POST", "--params", json.dumps({"note": HOSTILE}), "--json")
    assert ran.returncode == 0, ran.stderr
    arn = json.loads(ran.stdout)["execution_arn"]
    assert testbed.received(path)[-1]["body"] == f"note={HOSTILE}"  # the escapes did travel
    outputs = {
        "run --json": ran,
        "show": cli(testbed, "show", arn.rsplit(":", 1)[-1]),
        "show (markup in the template name)": cli(testbed, "show", hostile.arn),
        "executions": cli(testbed, "executions", "--limit", "50"),
        "executions --json": cli(testbed, "executions", "--limit", "50", "--json"),
    }
    for how, done in outputs.items():
        assert done.returncode in (0, 1) and not done.stderr, f"{how}: {done.stderr}"
        assert raw_controls(done.stdout) == [], f"{how} printed {raw_controls(done.stdout)}"
    assert "\\x1b[2J" in outputs["show"].stdout  # shown, escaped
    listed = json.loads(outputs["executions --json"].stdout)
    assert any(row["template"] == f"{HOSTILE} GET" for row in listed)  # the row is there, whole
