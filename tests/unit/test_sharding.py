"""`make test SHARDS=N SHARD=i`: the shards together are the whole suite, none overlaps another,
and no xdist group is split (tests/sharding.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import settings
from tests.sharding import Unit, shards, units_of
from tests.support import selected_backends
from tests.unit.collect_probe import PROBE_FILE_VARIABLE

SHARDS = 3


def _collect(tmp_path: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, PROBE_FILE_VARIABLE: str(tmp_path / f"{name}.json")}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-qq", "-p", "no:xdist",
               "-p", "tests.unit.collect_probe", *args]
    return subprocess.Popen(command, cwd=settings.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_the_shards_partition_the_suite_and_keep_each_xdist_group_whole(tmp_path: Path) -> None:
    # WHEN the suite is collected whole and as each of 3 shards (side by side: ~2 s each)
    runs = {"all": _collect(tmp_path, "all")}
    runs |= {f"shard{i}": _collect(tmp_path, f"shard{i}", "--splits", str(SHARDS), "--group", str(i))
             for i in range(1, SHARDS + 1)}
    for name, run in runs.items():
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, f"{name}: {output.decode(errors='replace')[-2000:]}"
    collected = {name: dict(json.loads((tmp_path / f"{name}.json").read_text())) for name in runs}
    whole = collected.pop("all")
    groups = {group for group in whole.values() if group}
    assert groups >= {"infra", "mockapi"}, "the suite's xdist groups were not seen: the check would prove nothing"

    # THEN every test is in exactly one shard
    shard_ids = [set(tests) for tests in collected.values()]
    assert set().union(*shard_ids) == set(whole)
    assert sum(len(ids) for ids in shard_ids) == len(whole), "a test is in two shards"
    assert all(shard_ids), "a shard is empty"
    # AND each group's tests are all in one shard
    for group in groups:
        holders = [i for i, tests in enumerate(collected.values(), 1) if group in tests.values()]
        assert len(holders) == 1, f"xdist group {group!r} is split over shards {holders}"


class _Item:
    """What shards() reads of a pytest item: its id and its markers."""

    def __init__(self, nodeid: str, group: str | None = None) -> None:
        self.nodeid = nodeid
        self._marks = [pytest.mark.xdist_group(group).mark] if group else []

    def iter_markers(self, name: str) -> list[pytest.Mark]:
        return [mark for mark in self._marks if mark.name == name]


def test_a_group_weighs_its_tests_durations_and_unknown_tests_weigh_the_mean() -> None:
    # GIVEN a group of three 10 s tests, recorded as xdist records them ("@group"), and small tests
    items = [_Item(f"t.py::g{i}", "big") for i in range(3)] + [_Item(f"t.py::s{i}") for i in range(4)]
    durations = {f"t.py::g{i}@big": 10.0 for i in range(3)} | {"t.py::s0": 1.0, "t.py::s1": 1.0, "t.py::s2": 1.0}
    # WHEN split in two
    first, second = shards(items, 2, durations)  # type: ignore[arg-type]
    # THEN the group (30 s) is whole in one shard, the small tests (1 s each; s3, unrecorded, the mean
    # 5.5 s) in the other, each shard in collection order
    assert [item.nodeid for item in first] == ["t.py::g0", "t.py::g1", "t.py::g2"]
    assert [item.nodeid for item in second] == ["t.py::s0", "t.py::s1", "t.py::s2", "t.py::s3"]
    units: list[Unit] = units_of(items)  # type: ignore[arg-type]
    assert [unit.nodeid for unit in units] == ["xdist_group:big", "t.py::s0", "t.py::s1", "t.py::s2", "t.py::s3"]


def test_testbed_backends_limits_the_backends_and_names_a_wrong_one() -> None:
    assert selected_backends(None) == selected_backends("") == ["embedded", "docker"]
    assert selected_backends(" Docker ") == ["docker"]
    assert selected_backends("docker,embedded") == ["embedded", "docker"]
    assert selected_backends("localstack") == ["localstack"]  # opt-in: only when named
    with pytest.raises(pytest.UsageError, match=r"TESTBED_BACKENDS='embeded': unknown backend 'embeded'; use"):
        selected_backends("embeded")
