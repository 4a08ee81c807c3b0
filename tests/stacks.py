"""One stack per backend (embedded, docker; localstack when selected) per test session, shared
by every pytest process of it.

With pytest-xdist the tests run in several worker processes. Each stack is started ONCE, in
the background by a starter process (`python -m tests.stacks BACKEND DIR`) that the first
worker collecting a test of that backend spawns; it writes the stack's coordinates and seed
report into the session's folder, where every worker attaches to it. The process that owns the
session (the xdist controller, or pytest itself without xdist) stops every stack at the end.
Starting in the background lets the stacks come up while the unit tests run.

The folder also holds the session's reader/writer locks (see `SessionLock`): tests that change
what other tests share take them exclusively, and the list of each backend's tests, by which
the owner stops a stack as soon as its last test has finished (`StopWhenDone`), while the
rest of the suite runs, instead of after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from testbed import probes, settings
from testbed.config import Config
from testbed.deploy.report import SeedReport
from testbed.stacks import processes
from testbed.stacks.base import Stack
from testbed.stacks.embedded import EmbeddedStack
from testbed.stacks.localstack_stack import LocalStackStack

# Wait states and Retry backoff take no real time in tests (MiniStack's SFN_WAIT_SCALE).
# The metadata addresses are allow-listed on purpose: the Lambda must refuse them anyway.
TEST_EMULATOR_ENV = {
    "SFN_WAIT_SCALE": "0",
    "TESTBED_ALLOWED_HOSTS_EXTRA": "169.254.169.254,[fd00:ec2::254],[::ffff:169.254.169.254]",
}
# The test stacks' configuration: built here, never by editing os.environ. Its allow-list extras
# are the docker emulator's (TEST_EMULATOR_ENV): a seed from a test computes the same allow-list
# as the stack's own, so "a second seed changes nothing" holds on both backends.
# The mock API is strict (an unmatched request gets its near misses) and may record through to this
# machine's servers (tests/real_api.py plays the real API there: tests/integration/test_recording.py);
# the docker stack's starter adds the address its containers reach this machine by.
TEST_CONFIG = Config.from_env().replace(
    allowed_hosts_extra=tuple(TEST_EMULATOR_ENV["TESTBED_ALLOWED_HOSTS_EXTRA"].split(",")),
    mockapi_strict=True, record_targets=("http://127.0.0.1:*",))
# The backends whose processes run on this machine, on free ports in the session's folder.
LOCAL_BACKENDS: dict[str, type[EmbeddedStack]] = {"embedded": EmbeddedStack, "localstack": LocalStackStack}
# Building the images the first time takes minutes; starting from the cache 15-60 s.
START_TIMEOUT_SECONDS = 900.0


class StackStartFailed(RuntimeError):
    """The starter process reported an error, or died without a word."""


class SharedStacks:
    """The session folder: <backend>.starter (pid), .stack.json (how to stop), .ready.json, .error."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stopping: dict[str, Future[None]] = {}  # in the owner: stops begun before the end
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-stop")

    def _file(self, backend: str, kind: str) -> Path:
        return self.directory / f"{backend}.{kind}"

    @contextlib.contextmanager
    def _locked(self, backend: str) -> Iterator[None]:
        with self._file(backend, "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def start_in_background(self, backend: str) -> None:
        """Spawn the starter unless some process of the session already did."""
        with self._locked(backend):
            starter = self._file(backend, "starter")
            if starter.exists():
                return
            with self._file(backend, "log").open("ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "tests.stacks", backend, str(self.directory)], cwd=settings.ROOT,
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            starter.write_text(str(process.pid))

    def attach(self, backend: str) -> tuple[Stack, SeedReport]:
        """The running, seeded stack (waits for its starter); raises StackStartFailed."""
        self.start_in_background(backend)  # e.g. a test selected by a later collection
        ready, error = self._file(backend, "ready.json"), self._file(backend, "error")
        pid = int(self._file(backend, "starter").read_text())

        def settled() -> bool:
            if ready.exists() or error.exists():
                return True
            if not alive(pid):
                raise StackStartFailed(
                    f"the {backend} stack's starter died without a report:\n{self._log_tail(backend)}")
            return False

        probes.wait_until(settled, timeout=START_TIMEOUT_SECONDS, what=f"the shared {backend} stack",
                          detail=lambda: self._log_tail(backend))
        if error.exists():
            raise StackStartFailed(error.read_text())
        data = json.loads(ready.read_text())
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        return _stack(backend, data["stack"], self.directory / f"{backend}-{worker}"), \
            SeedReport.from_json(data["seed_report"])

    def record_tests(self, tests: dict[str, list[str]]) -> None:
        """The node ids of each backend's tests; every process collects the same, the first writes them."""
        with self._locked("tests"):
            if not self._file("backends", "tests.json").exists():
                _write(self._file("backends", "tests.json"), json.dumps(tests))

    def recorded_tests(self) -> dict[str, set[str]]:
        path = self._file("backends", "tests.json")
        return {b: set(ids) for b, ids in json.loads(path.read_text()).items()} if path.exists() else {}

    def stop_in_background(self, backend: str) -> None:
        """Begin stopping one stack (its tests are done); `stop_all` waits for it."""
        if backend not in self._stopping and self._file(backend, "starter").exists():
            self._stopping[backend] = self._pool.submit(self._stop, backend)

    def stop_all(self) -> None:
        """Stop every stack a starter began (even half-started ones); called by the session's owner.

        The stacks stop side by side: `docker compose down` takes seconds the embedded one need not wait.
        """
        for starter in self.directory.glob("*.starter"):
            self.stop_in_background(starter.name.split(".")[0])
        stops, self._stopping = list(self._stopping.values()), {}
        failures = [stop.exception() for stop in stops]  # waits for each
        for failure in failures:
            if failure is not None:
                raise failure  # the first; every stop was waited for

    def _stop(self, backend: str) -> None:
        pid = int(self._file(backend, "starter").read_text())
        if alive(pid):  # still starting (the run was cut short): stop it, then what it began
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            with contextlib.suppress(probes.NotReady):
                probes.wait_until(lambda: not alive(pid), timeout=30, what="the starter's exit")
        record = self._file(backend, "stack.json")
        if record.exists():
            _stack(backend, json.loads(record.read_text()), self.directory / f"{backend}-stop").stop()

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _log_tail(self, backend: str) -> str:
        try:
            return "\n".join(self._file(backend, "log").read_text(errors="replace").splitlines()[-60:])
        except OSError:
            return "(no starter log)"

    # --- in the starter process ---------------------------------------------------------------

    def run_starter(self, backend: str) -> int:
        try:
            coordinates = _new_coordinates(backend, self.directory)
            _write(self._file(backend, "stack.json"), json.dumps(coordinates))
            stack = _stack(backend, coordinates, self.directory / backend)
            stack.start()
            coordinates["record_targets"] = _allow_recording_from_here(stack)
            report = stack.seed()
            _write(self._file(backend, "ready.json"),
                   json.dumps({"stack": coordinates, "seed_report": report.to_json()}))
            return 0
        except BaseException:  # every failure is reported to the tests waiting for this stack
            _write(self._file(backend, "error"), f"the {backend} test stack did not start:\n{traceback.format_exc()}")
            return 1


def _new_coordinates(backend: str, directory: Path) -> dict[str, Any]:
    if backend in LOCAL_BACKENDS:
        return {"run_dir": str(directory / backend), "emulator_port": probes.free_port(),
                "mockapi_port": probes.free_port()}
    # Port 0: any free host port, so the tests run beside a `make up` stack on 4566/8080.
    return {"project_name": f"testbed-test-{uuid.uuid4().hex[:10]}"}


def _allow_recording_from_here(stack: Stack) -> list[str]:
    """Let the mock API record through to this machine's servers at the address it reaches them by.

    On the docker stack that is its network's gateway, known once the network exists: the mock API's
    container is recreated allowing it, before any test attaches (a recreation later would empty
    the journal and stubs of the tests running then).
    """
    origin = f"http://{stack.local_server_host()}:*"
    if origin not in stack.config.record_targets:
        stack.allow_record_target(origin)
    return list(stack.config.record_targets)


def _stack(backend: str, coordinates: dict, env_dir: Path) -> Stack:
    # Every process's stack allows what the starter's mock API was started allowing.
    config = TEST_CONFIG.replace(record_targets=tuple(coordinates.get("record_targets", TEST_CONFIG.record_targets)))
    if backend in LOCAL_BACKENDS:
        return LOCAL_BACKENDS[backend](config, run_dir=Path(coordinates["run_dir"]),
                                       emulator_port=coordinates["emulator_port"],
                                       mockapi_port=coordinates["mockapi_port"], extra_env=TEST_EMULATOR_ENV)
    from testbed.stacks.docker_stack import DockerStack  # testcontainers only when needed

    # Each process writes its own Compose env file (same content): never one another's half-written file.
    return DockerStack(config, project_name=coordinates["project_name"], emulator_port=0, mockapi_port=0,
                       emulator_env=TEST_EMULATOR_ENV, run_dir=env_dir)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: readers poll for the file."""
    staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    staged.write_text(text)
    staged.replace(path)


def alive(pid: int) -> bool:
    """Running and not a zombie (a finished starter stays a zombie until its parent exits)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except OSError:
        pass
    return processes.pid_alive(pid)


class SessionLock:
    """A reader/writer lock over the session folder, across processes, writers first.

    One per backend's stack: held shared by every test on it, exclusively by a test that changes
    the stack's configuration. (No test edits the source tree: those that need an edit make it
    in a copy, `tests.support.source_copy`.) A writer holds the turnstile while it waits, so new
    readers queue behind it instead of starving it.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self.turnstile = directory / f"{name}.turnstile"
        self.rw = directory / f"{name}.rwlock"

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self.rw.open("a") as rw:
            with self.turnstile.open("a") as turnstile:
                fcntl.flock(turnstile, fcntl.LOCK_EX)
                fcntl.flock(rw, fcntl.LOCK_SH)
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self.rw.open("a") as rw:
            with self.turnstile.open("a") as turnstile:
                fcntl.flock(turnstile, fcntl.LOCK_EX)
                fcntl.flock(rw, fcntl.LOCK_EX)
            yield


class StopWhenDone:
    """pytest plugin of the session's owner: stop a stack once the last of its tests has finished.

    The xdist controller sees every test's reports; a test's teardown report comes after its
    fixtures have cleaned up. Until then the stack is stopped at the end, as before.
    """

    def __init__(self, stacks: SharedStacks) -> None:
        self.stacks = stacks
        self.pending: dict[str, set[str]] | None = None

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when != "teardown":
            return
        if self.pending is None:  # written at collection, before any test ran
            self.pending = self.stacks.recorded_tests()
        for backend, tests in self.pending.items():
            if report.nodeid in tests:
                tests.discard(report.nodeid)
                if not tests:
                    self.stacks.stop_in_background(backend)


def main(argv: list[str]) -> int:
    backend, directory = argv
    return SharedStacks(Path(directory)).run_starter(backend)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
