"""pytest --mockapi-strict[=URL]: the run fails when the mock API answered any request no stub or
mapping matched, naming each one and its closest mapping (docs/recording.md).

Replaying a recording strictly: a request the recording does not hold is a test that would hit
the real API in production with a request nobody has seen answered. Printed: the method, the URL
(credential-like query values masked) and which criteria differed, never header or body values.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from testbed.config import Config
from testbed.runs import masking

OPTION = "--mockapi-strict"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("testbed").addoption(
        OPTION, nargs="?", const="", default=None, metavar="URL",
        help="fail the run when the mock API (URL, default $TESTBED_MOCKAPI_URL or the default port) "
             "answered a request nothing matched")


def describe(entry: dict[str, Any]) -> str:
    url = entry["rawPath"] + (f"?{entry['rawQuery']}" if entry.get("rawQuery") else "")
    line = f"{entry['method']} {masking.url(url)}"
    misses = entry.get("nearMisses") or []
    if not misses:
        return f"{line}: no mapping is near"
    closest = misses[0]
    fields = ", ".join(d["field"] for d in closest["differences"])
    label = closest.get("mappingName") or closest["mappingId"]
    return f"{line}: closest mapping {label} ({closest['mappingId']}) differs in {fields}"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    option = session.config.getoption(OPTION)
    if option is None or hasattr(session.config, "workerinput"):  # xdist: the controller checks once
        return
    config = Config.from_env()
    url = option or config.mockapi_url or config.default_mockapi_url
    try:
        unmatched = requests.get(f"{url.rstrip('/')}/__admin/requests/unmatched", timeout=10).json()["requests"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        lines = [f"{OPTION}: cannot read the unmatched requests of {url}: {type(exc).__name__}"]
    else:
        if not unmatched:
            return
        lines = [f"{OPTION}: the mock API at {url} matched nothing for {len(unmatched)} request(s):",
                 *(f"  {describe(entry)}" for entry in unmatched)]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
