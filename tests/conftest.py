"""Shared fixtures: stacks per backend, a `testbed` handle, and factories for test data.

The integration tests run once per backend: `embedded` always, `docker` when an engine
answers (skipped with a reason otherwise, or failed when TESTBED_REQUIRE_DOCKER=1).
Each backend's stack is started once per session, seeded, and stopped at the end; the
docker stack starts in the background while the embedded tests run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from testbed import backends
from testbed.embedded import EmbeddedStack
from testbed.probes import free_port
from testbed.seed import SeedReport
from testbed.stack import Stack
from tests.support import Testbed, unique

BACKENDS = ["embedded", "docker"]
# Wait states and Retry backoff take no real time in tests (MiniStack's SFN_WAIT_SCALE).
# The metadata addresses are allow-listed on purpose: the Lambda must refuse them anyway.
TEST_EMULATOR_ENV = {
    "SFN_WAIT_SCALE": "0",
    "TESTBED_ALLOWED_HOSTS_EXTRA": "169.254.169.254,[fd00:ec2::254],[::ffff:169.254.169.254]",
}


def _start_embedded(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStack:
    stack = EmbeddedStack(
        run_dir=tmp_path_factory.mktemp("embedded-stack"),
        emulator_port=free_port(),
        mockapi_port=free_port(),
        extra_env=TEST_EMULATOR_ENV,
    )
    stack.start()
    return stack


def _require_docker() -> None:
    if not backends.docker_available():
        reason = "no Docker engine answers `docker info`"
        if os.environ.get("TESTBED_REQUIRE_DOCKER") == "1":
            pytest.fail(f"TESTBED_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(f"docker backend: {reason} (set TESTBED_REQUIRE_DOCKER=1 to fail instead)")


def _start_and_seed_docker() -> tuple[Stack, SeedReport]:
    from testbed.docker_stack import DockerStack

    # Port 0: any free host port, so the tests run beside a `make up` stack on 4566/8080.
    stack = DockerStack(project_name=f"testbed-test-{os.getpid()}", emulator_port=0, mockapi_port=0,
                        emulator_env=TEST_EMULATOR_ENV)
    stack.start()
    return stack, stack.seed()


def _docker_selected(session: pytest.Session) -> bool:
    return any(getattr(item, "callspec", None) is not None and item.callspec.params.get("stack") == "docker"
               for item in session.items)


@pytest.fixture(scope="session")
def docker_stack(request: pytest.FixtureRequest) -> Iterator[Future[tuple[Stack, SeedReport]] | None]:
    """The docker stack, started in the background when the first integration test starts.

    Building, starting and seeding it takes 15-40 s, mostly waiting on Docker; in the
    background that overlaps the embedded half of the session instead of adding to it.
    """
    if not _docker_selected(request.session) or not backends.docker_available():
        yield None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="docker-stack") as pool:
        future = pool.submit(_start_and_seed_docker)
        yield future
        try:
            started, _ = future.result()
        except Exception:  # the docker tests already reported why it failed
            return
        started.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    docker_stack: Future[tuple[Stack, SeedReport]] | None,
) -> Iterator[Stack]:
    if request.param == "docker":
        if docker_stack is None:
            _require_docker()
            pytest.fail("the docker stack was not started")  # selected tests always start it
        started, report = docker_stack.result()
        _SEED_REPORTS[id(started)] = report
        yield started  # docker_stack stops it at the end of the session
        return
    embedded = _start_embedded(tmp_path_factory)
    try:
        yield embedded
    finally:
        embedded.stop()


# Seed reports of stacks seeded while starting (the docker stack, in the background).
_SEED_REPORTS: dict[int, SeedReport] = {}


@pytest.fixture(scope="session")
def testbed(stack: Stack) -> Iterator[Testbed]:
    report = _SEED_REPORTS.get(id(stack))
    if report is not None:
        yield Testbed(stack=stack, seed_report=report, state_machine_arn=report.state_machine_arn)
        return
    # The embedded stack is seeded from this process, so its settings come from os.environ.
    with pytest.MonkeyPatch.context() as patch:
        for key, value in TEST_EMULATOR_ENV.items():
            patch.setenv(key, value)
        yield Testbed.seeded(stack)


# Factories (LocalStack style): a test asks for data through them and owns it; whatever a
# factory created is deleted at the test's teardown, so the session's stack stays clean.


@pytest.fixture
def make_template(testbed: Testbed) -> Iterator[Callable[..., str]]:
    """make_template(method="GET", **fields) -> a unique template name, deleted afterwards."""
    created: list[tuple[str, str]] = []

    def make(method: str = "GET", **fields: Any) -> str:
        name = testbed.add_template(method, **fields)
        created.append((name, method))
        return name

    yield make
    for name, method in created:
        testbed.delete_template(name, method)


@pytest.fixture
def make_stub(testbed: Testbed) -> Iterator[Callable[[dict[str, Any]], str]]:
    """make_stub({...}) -> the mock API stub's id, removed afterwards."""
    created: list[str] = []

    def make(stub: dict[str, Any]) -> str:
        stub_id = testbed.add_stub(stub)
        created.append(stub_id)
        return stub_id

    yield make
    for stub_id in created:
        testbed.delete_stub(stub_id)


@pytest.fixture
def make_secret(testbed: Testbed) -> Iterator[Callable[[str], str]]:
    """make_secret(value) -> a unique SecureString parameter name, deleted afterwards."""
    created: list[str] = []

    def make(value: str) -> str:
        name = f"/testbed/test/{unique('secret')}"
        testbed.put_secret(name, value)
        created.append(name)
        return name

    yield make
    for name in created:
        testbed.delete_secret(name)
