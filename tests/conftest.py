"""Shared fixtures: stacks per backend, a `testbed` handle, and factories for test data.

The integration tests run once per backend: `embedded` always, `docker` when an engine
answers (skipped with a reason otherwise, or failed when TESTBED_REQUIRE_DOCKER=1).
TESTBED_BACKENDS (comma-separated, e.g. `embedded`) limits the backends (CI's matrix).
BACKEND=aws runs them on the stack `BACKEND=aws make up` deployed instead (tests/aws_run.py).
Each backend's stack is started once per session, in the background as soon as a test of
it is collected, shared by every pytest-xdist worker, and stopped at the end (tests/stacks.py).
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed import settings
from testbed.config import Config
from testbed.stacks import backends
from testbed.stacks.base import Stack
from tests import aws_run, sharding, snapshots
from tests.stacks import SessionLock, SharedStacks, StopWhenDone
from tests.support import PROBE_ROLE_ARN, Testbed, lambda_zip, run_cleanups, selected_backends, unique

HARNESS = Config.from_env()
AWS_RUN = HARNESS.backend == "aws"
BACKENDS = ["aws"] if AWS_RUN else selected_backends(os.environ.get("TESTBED_BACKENDS"))
_STACKS = pytest.StashKey[SharedStacks]()
_OWNER = pytest.StashKey[bool]()
_WORKER_INPUT_KEY = "testbed_stacks_dir"
# The workers allocate much and keep much (boto3's models, the collected tests): with CPython's
# default thresholds (700, 10, 10) each ran 800-1,350 collections, 5-9 of them full at 0.1-0.3 s,
# ~7 s of the suite's CPU in all; with these and the heap frozen after collection, ~3 s.
GC_THRESHOLDS = (10_000, 10, 10)


@pytest.hookimpl(tryfirst=True)  # before pytest-split's: sharding takes over its selection
def pytest_configure(config: pytest.Config) -> None:
    sharding.install(config)
    gc.set_threshold(*GC_THRESHOLDS)
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:  # an xdist worker: the controller made the session folder
        directory = Path(worker_input[_WORKER_INPUT_KEY])
    else:
        directory = Path(tempfile.mkdtemp(prefix="testbed-test-stacks-"))
    config.stash[_OWNER] = worker_input is None
    config.stash[_STACKS] = SharedStacks(directory)
    # With --dist each every worker runs every test: the first to finish must not stop the stacks.
    if worker_input is None and getattr(config.option, "dist", "no") != "each":
        config.pluginmanager.register(StopWhenDone(config.stash[_STACKS]), "testbed-stop-when-done")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: each worker gets the controller's session folder."""
    node.workerinput[_WORKER_INPUT_KEY] = str(node.config.stash[_STACKS].directory)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    stacks = config.stash.get(_STACKS, None)
    if stacks is not None and config.stash.get(_OWNER, False):
        stacks.stop_all()
        stacks.remove()
    elif hasattr(config, "workerinput"):
        # An xdist worker: it sent its results at session finish. The interpreter's own teardown
        # (freeing boto3's models, jsii's objects...) then took 2-3 s, and the controller waits for
        # every worker to exit before it prints the summary. Nothing is left to write: skip it,
        # but not what was registered to run at exit (e.g. the emulator patches' temp folders).
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """TESTBED_BACKENDS: a test of another backend (e.g. parametrized `stack` ["docker"]) is deselected."""
    other = [item for item in items if _backend_of(item) not in (None, *BACKENDS)]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if _backend_of(item) in (None, *BACKENDS)]
    if AWS_RUN:
        for item in items:
            reason = aws_run.skip_reason(item)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("stack") if callspec is not None else None


@pytest.hookimpl(trylast=True)  # after -k / -m deselected what they do
def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the stacks the selected tests need, in the background, while other tests run."""
    gc.collect()
    gc.freeze()  # what collection built lives to the end: full collections need not walk it
    if session.config.option.collectonly:
        return
    tests: dict[str, list[str]] = {}
    for item in session.items:
        backend = _backend_of(item)
        if backend is not None:
            tests.setdefault(backend, []).append(item.nodeid)
    stacks = session.config.stash[_STACKS]
    stacks.record_tests(tests)  # the owner stops each stack after the last of these (StopWhenDone)
    for backend in BACKENDS:
        if backend == "aws":
            continue  # deployed by `BACKEND=aws make up`, not by the tests
        if backend in tests and (backend != "docker" or backends.docker_available()):
            stacks.start_in_background(backend)


def _require_docker() -> None:
    if not backends.docker_available():
        reason = "no Docker engine answers `docker info`"
        if os.environ.get("TESTBED_REQUIRE_DOCKER") == "1":
            pytest.fail(f"TESTBED_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(f"docker backend: {reason} (set TESTBED_REQUIRE_DOCKER=1 to fail instead)")


# Seed reports of the shared stacks, from their starters.
_SEED_REPORTS: dict[int, Any] = {}


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request: pytest.FixtureRequest) -> Stack:
    """The session's shared stack of this backend (tests/stacks.py stops it at the end)."""
    if request.param == "docker":
        _require_docker()
    if request.param == "aws":
        deployed, deployed_report = aws_run.deployed_stack(HARNESS)
        _SEED_REPORTS[id(deployed)] = deployed_report
        return deployed
    started, report = request.config.stash[_STACKS].attach(request.param)
    _SEED_REPORTS[id(started)] = report
    return started


@pytest.fixture(scope="session")
def testbed(stack: Stack) -> Testbed:
    report = _SEED_REPORTS[id(stack)]
    return Testbed(stack=stack, seed_report=report, state_machine_arn=report.state_machine_arn)


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Iterator[snapshots.ExecutionSnapshot]:
    """localstack-snapshot's session, one entry for every backend (replaces the plugin's fixture of
    this name; the plugin compares after the test, --snapshot-update writes here at teardown)."""
    session = snapshots.session(request)
    yield session
    session._persist_state()


@pytest.fixture(scope="session")
def session_locks(request: pytest.FixtureRequest) -> dict[str, SessionLock]:
    directory = request.config.stash[_STACKS].directory
    return {name: SessionLock(directory, name) for name in (*(f"stack-{b}" for b in BACKENDS), "stack-none")}


@pytest.fixture
def session_lock(request: pytest.FixtureRequest, session_locks: dict[str, SessionLock]) -> Iterator[None]:
    """The lock an integration test holds on its backend's stack (tests/stacks.py SessionLock):
    shared; exclusive for `exclusive` (changes the shared stack's configuration).
    `exclusive(only="embedded", reason=...)` skips the other backends first, without waiting;
    `not_on("localstack", reason=...)` skips that backend (a behaviour its engine does not have).
    """
    node = request.node
    backend = getattr(node, "callspec", None) and node.callspec.params.get("stack")
    for marker in node.iter_markers("not_on"):
        if backend in marker.args:
            pytest.skip(f"{backend}: {marker.kwargs['reason']}")
    exclusive = node.get_closest_marker("exclusive")
    if exclusive is not None and exclusive.kwargs.get("only") not in (None, backend):
        pytest.skip(exclusive.kwargs["reason"])
    stack = session_locks[f"stack-{backend or 'none'}"]
    with stack.exclusive() if exclusive else stack.shared():
        yield


# Factories (LocalStack style): a test asks for data through them and owns it; whatever a
# factory created is deleted at the test's teardown, so the session's stack stays clean. Each delete
# runs even when an earlier one failed (support.run_cleanups logs the failure).


@pytest.fixture
def cleanups() -> Iterator[list[Callable[[], object]]]:
    """A list to append callables to (e.g. `cleanups.append(lambda: testbed.delete_template(n, "GET"))`):
    each runs at teardown, newest first, guarded: one that fails is logged and the others still run."""
    registered: list[Callable[[], object]] = []
    yield registered
    run_cleanups(registered)


@pytest.fixture
def make_template(testbed: Testbed, cleanups: list[Callable[[], object]]) -> Callable[..., str]:
    """make_template(method="GET", **fields) -> a unique template name, deleted afterwards."""

    def make(method: str = "GET", **fields: Any) -> str:
        name = testbed.add_template(method, **fields)
        cleanups.append(functools.partial(testbed.delete_template, name, method))
        return name

    return make


@pytest.fixture
def make_raw_template(testbed: Testbed, cleanups: list[Callable[[], object]]) -> Callable[..., str]:
    """make_raw_template(method="GET", **fields) -> a unique item stored as is (no validation), deleted afterwards."""

    def make(method: str = "GET", **fields: Any) -> str:
        name = testbed.add_raw_template(method, **fields)
        cleanups.append(functools.partial(testbed.delete_template, name, method))
        return name

    return make


@pytest.fixture
def make_function(testbed: Testbed, cleanups: list[Callable[[], object]]) -> Callable[..., str]:
    """make_function(source, environment=None) -> a throwaway Python Lambda (module `probe`,
    handler `probe.handler`, nothing else bundled), active, deleted afterwards."""
    lambda_ = testbed.client("lambda")

    def make(source: str, environment: dict[str, str] | None = None) -> str:
        name = unique("probe")
        lambda_.create_function(
            FunctionName=name, Runtime=settings.LAMBDA_RUNTIME, Handler="probe.handler", Timeout=30,
            Role=PROBE_ROLE_ARN, Code={"ZipFile": lambda_zip({"probe.py": textwrap.dedent(source)})},
            Environment={"Variables": environment or {}},
        )
        cleanups.append(functools.partial(lambda_.delete_function, FunctionName=name))
        lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})
        return name

    return make


@pytest.fixture
def make_stub(testbed: Testbed, cleanups: list[Callable[[], object]]) -> Callable[[dict[str, Any]], str]:
    """make_stub({...}) -> the mock API stub's id, removed afterwards."""

    def make(stub: dict[str, Any]) -> str:
        stub_id = testbed.add_stub(stub)
        cleanups.append(functools.partial(testbed.delete_stub, stub_id))
        return stub_id

    return make


@pytest.fixture
def make_secret(testbed: Testbed, cleanups: list[Callable[[], object]]) -> Callable[[str], str]:
    """make_secret(value) -> a unique SecureString parameter name, deleted afterwards."""

    def make(value: str) -> str:
        name = f"/testbed/test/{unique('secret')}"
        testbed.put_secret(name, value)
        cleanups.append(functools.partial(testbed.delete_secret, name))
        return name

    return make
