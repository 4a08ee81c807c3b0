"""pytest plugin (`-p testbed.coverage.plugin`): record every execution, report coverage at the end.

Every execution a test waits for through `testbed.runs.executions` (as `Testbed.run` does) is
recorded with its backend: the backend of the Stack whose AWS endpoint it ran on (any fixture
that returns a Stack is noticed), so tests a user adds are counted without any change. At the
end of the session the report is written under .testbed/reports/ and one line is printed;
`--sfn-cov-fail-under=N` (or TESTBED_SFN_COV_FAIL_UNDER) fails the run below N percent.

Under pytest-xdist each worker records its executions in memory and hands them to the
controller when it finishes (`workeroutput`); the controller writes them to the data file
and reports once, for the whole run.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from testbed import settings
from testbed.config import Config
from testbed.coverage import attribution, graph, html, report
from testbed.records import RecordSink, relative
from testbed.runs import executions
from testbed.stacks.base import Stack, StackError

_KEY = pytest.StashKey["Recorder"]()


class Recorder(RecordSink):
    """Appends each execution to the data file, or (in an xdist worker) keeps it for the controller."""

    def __init__(self, data_file: Path | None) -> None:
        super().__init__(data_file)
        self.backends: dict[str, str] = {}  # AWS endpoint -> backend name
        self.current_test = ""

    def __call__(self, result: executions.ExecutionResult, endpoint_url: str) -> None:
        backend = self.backends.get(endpoint_url.rstrip("/"), endpoint_url)
        record = report.Record(backend, result.arn, result.status, self.current_test,
                               attribution.compact(result.history))
        self.add([record.to_json()])


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sfn-cov", "state-machine coverage (testbed)")
    group.addoption("--sfn-cov-fail-under", type=float, default=None, metavar="PERCENT",
                    help="fail if fewer transitions are covered (default: $TESTBED_SFN_COV_FAIL_UNDER)")


_WORKER_OUTPUT_KEY = "sfn_cov_records"
_CONFIG = pytest.StashKey[Config]()


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    worker = _is_xdist_worker(config)
    harness = Config.from_env()  # this plugin is an edge: the one read of the environment here
    config.stash[_CONFIG] = harness
    recorder = Recorder(None if worker else harness.reports_dir / report.DATA_FILE)
    config.stash[_KEY] = recorder
    executions.add_listener(recorder)


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_KEY, None)
    if recorder is not None:
        executions.remove_listener(recorder)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest,
) -> Generator[None, Any, Any]:
    value = yield
    if isinstance(value, Stack):
        # a stack whose endpoints cannot be read is simply not attributed
        with contextlib.suppress(StackError, OSError, subprocess.CalledProcessError):
            request.config.stash[_KEY].backends[value.endpoints.aws.rstrip("/")] = value.name
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    item.config.stash[_KEY].current_test = item.nodeid
    return (yield)


def _threshold(config: pytest.Config) -> float | None:
    value: float | None = config.getoption("--sfn-cov-fail-under")
    if value is None:
        value = config.stash[_CONFIG].sfn_cov_fail_under
    return value


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: a worker finished; add its executions to the run's."""
    recorder = node.config.stash.get(_KEY, None)
    if recorder is not None:
        recorder.take_from_worker(node, _WORKER_OUTPUT_KEY)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    recorder = session.config.stash.get(_KEY, None)
    if recorder is not None and recorder.hand_to_controller(session.config, _WORKER_OUTPUT_KEY):
        return  # the controller reports
    threshold = _threshold(session.config)
    if recorder is None or recorder.data_file is None or (recorder.count == 0 and threshold is None):
        return  # e.g. unit tests only: nothing to report
    coverage = report.compute(graph.load(settings.ASL_PATH), report.load_records(recorder.data_file))
    page = html.write(coverage, recorder.data_file.parent, settings.ASL_PATH.name)
    lines = [coverage.summary_line(relative(page))]
    if threshold is not None and coverage.percent < threshold:
        lines.append(f"FAIL: transition coverage {coverage.percent:.1f}% is under --sfn-cov-fail-under={threshold:g}")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    session.config.stash[_LINES] = lines


_LINES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(_LINES, []):
        terminalreporter.write_line(line, red=line.startswith("FAIL"), bold=True)

