"""The session's shared stacks stop after the last test of theirs, not after the suite (tests/stacks.py)."""

from pathlib import Path
from types import SimpleNamespace

from tests.stacks import SharedStacks, StopWhenDone


class RecordingStacks(SharedStacks):
    """The session folder's logic, with stops recorded instead of made."""

    def __init__(self, directory: Path, started: tuple[str, ...]) -> None:
        super().__init__(directory)
        self.asked: list[str] = []  # stops begun, in order (synchronous, unlike the stops)
        self.stopped: list[str] = []
        for backend in started:
            (directory / f"{backend}.starter").write_text("1")

    def stop_in_background(self, backend: str) -> None:
        self.asked.append(backend)
        super().stop_in_background(backend)

    def _stop(self, backend: str) -> None:
        self.stopped.append(backend)


def finished(plugin: StopWhenDone, nodeid: str) -> None:
    for when in ("setup", "call", "teardown"):
        plugin.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, when=when))


def test_a_stack_stops_once_its_last_test_is_torn_down(tmp_path: Path) -> None:
    # GIVEN both stacks started, and their tests as collected
    stacks = RecordingStacks(tmp_path, ("docker", "embedded"))
    stacks.record_tests({"docker": ["a[docker]", "b[docker]"], "embedded": ["a[embedded]"]})
    plugin = StopWhenDone(stacks)

    # WHEN one docker test ends, and only the call of the other
    finished(plugin, "a[docker]")
    finished(plugin, "tests/unit/test_x.py::test_y")
    plugin.pytest_runtest_logreport(SimpleNamespace(nodeid="b[docker]", when="call"))
    # THEN nothing stops yet
    assert stacks.asked == []

    # WHEN the other is torn down
    plugin.pytest_runtest_logreport(SimpleNamespace(nodeid="b[docker]", when="teardown"))
    # THEN the docker stack stops, alone
    assert stacks.asked == ["docker"]

    # WHEN the session ends: the embedded stack stops too, and each stack was stopped once
    stacks.stop_all()
    assert sorted(stacks.stopped) == ["docker", "embedded"]


def test_the_first_collection_is_kept(tmp_path: Path) -> None:
    stacks = SharedStacks(tmp_path)
    stacks.record_tests({"docker": ["a[docker]"]})
    stacks.record_tests({"docker": ["other"]})  # every worker collects, and records, the same
    assert stacks.recorded_tests() == {"docker": {"a[docker]"}}


def test_a_stack_never_started_is_not_stopped(tmp_path: Path) -> None:
    # e.g. the docker tests were skipped: no engine
    stacks = RecordingStacks(tmp_path, ("embedded",))
    stacks.record_tests({"docker": ["a[docker]"]})
    finished(StopWhenDone(stacks), "a[docker]")
    stacks.stop_all()
    assert stacks.stopped == ["embedded"]
