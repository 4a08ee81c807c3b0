"""pytest plugin (`-p testbed.contracts.plugin`): fail a test whose executions broke the contract.

After each execution a test waits for (`testbed.runs.executions`, as the coverage plugin), the
mock API's journal entries of that execution (by its trace id) are read; those that hit an
operation of seed/contracts/ carry the mock API's verdict (`contractViolations`). A violation
fails the test unless it is marked `@pytest.mark.contract_violations` (it expects them, and then
fails if it sees none). At the end the contract report is written beside the coverage map and
one line is printed. Under pytest-xdist the workers hand their records to the controller.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import requests

from generic_api_call.trace import trace_id_for
from testbed import settings
from testbed.config import Config
from testbed.contracts import html, report
from testbed.records import RecordSink, relative
from testbed.runs import executions
from testbed.stacks.base import Stack, StackError

MARKER = "contract_violations"
_KEY = pytest.StashKey["Collector"]()
_LINES = pytest.StashKey[list[str]]()
_WORKER_OUTPUT_KEY = "contract_records"


class Collector(RecordSink):
    def __init__(self, data_file: Path | None) -> None:
        super().__init__(data_file)
        self.mockapis: dict[str, str] = {}  # AWS endpoint -> its stack's mock API
        self.current_test = ""
        self.expected = False
        self.seen: list[report.Record] = []  # the current test's

    def __call__(self, result: executions.ExecutionResult, endpoint_url: str) -> None:
        mockapi = self.mockapis.get(endpoint_url.rstrip("/"))
        if mockapi is None:
            return
        response = requests.get(f"{mockapi}/__admin/requests", params={"traceId": trace_id_for(result.arn)},
                                timeout=10)
        response.raise_for_status()
        template = _template_of(result.history)
        records = [
            report.Record(entry["contract"]["document"], entry["contract"]["operation"], template, self.current_test,
                          [v["message"] for v in entry.get("contractViolations", [])], self.expected)
            for entry in response.json()["requests"] if entry.get("contract")
        ]
        self.seen += records
        self.add([record.to_json() for record in records])


def _template_of(history: list[dict[str, Any]]) -> str:
    started = next((e for e in history if e["type"] == "ExecutionStarted"), {})
    try:
        given = json.loads(started.get("executionStartedEventDetails", {}).get("input") or "{}")
        return f"{given.get('templateName', '?')} {given.get('method', '?')}"
    except (ValueError, AttributeError):
        return "?"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test expects contract violations (issue 19)")
    worker = hasattr(config, "workerinput")
    harness = Config.from_env()  # this plugin is an edge: the one read of the environment here
    collector = Collector(None if worker else harness.reports_dir / report.DATA_FILE)
    config.stash[_KEY] = collector
    executions.add_listener(collector)


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(_KEY, None)
    if collector is not None:
        executions.remove_listener(collector)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest,
) -> Generator[None, Any, Any]:
    value = yield
    if isinstance(value, Stack) and value.has_mock_api:
        with contextlib.suppress(StackError, OSError, subprocess.CalledProcessError):
            endpoints = value.endpoints
            request.config.stash[_KEY].mockapis[endpoints.aws.rstrip("/")] = endpoints.mockapi
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    collector = item.config.stash[_KEY]
    collector.current_test, collector.seen = item.nodeid, []
    collector.expected = item.get_closest_marker(MARKER) is not None
    result = yield  # a test that failed anyway raises here: its own failure is the one to show
    broken = [f"{r.template} -> {r.operation} ({r.document}): {v}" for r in collector.seen for v in r.violations]
    if broken and not collector.expected:
        pytest.fail("requests broke the contract (mark the test @pytest.mark.contract_violations if it "
                    "means to):\n  " + "\n  ".join(broken), pytrace=False)
    if collector.expected and not broken and collector.seen:
        pytest.fail(f"marked {MARKER}, but its {len(collector.seen)} checked request(s) conform", pytrace=False)
    return result


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    collector = node.config.stash.get(_KEY, None)
    if collector is not None:
        collector.take_from_worker(node, _WORKER_OUTPUT_KEY)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collector = session.config.stash.get(_KEY, None)
    if collector is not None and collector.hand_to_controller(session.config, _WORKER_OUTPUT_KEY):
        return
    if collector is None or collector.data_file is None or collector.count == 0:
        return  # e.g. unit tests only: nothing to report
    from testbed.contracts.sources import build  # openapi-core: only when there is something to report

    contract = build(settings.CONTRACTS_DIR, settings.TEMPLATES_DIR, report.load_records(collector.data_file))
    page = html.write(contract, collector.data_file.parent)
    session.config.stash[_LINES] = [contract.summary_line(relative(page))]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(_LINES, []):
        terminalreporter.write_line(line, bold=True)

