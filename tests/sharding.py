"""Shards (`make test SHARDS=N SHARD=i`, pytest-split's `--splits N --group i`) that keep each
xdist group whole.

pytest-split assigns single tests, so it would spread an `xdist_group` (the infra tests, the
mock API's) over several shards, and each shard would pay the group's setup again (the infra
group's synthesis and jsii runtime). Here the unit of assignment is a group (or an ungrouped
test): pytest-split's least_duration algorithm runs over the units, weighted by the summed
durations of their tests (.test_durations, written by `make test-durations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import pytest
from pytest_split.algorithms import Algorithms


def xdist_group(item: pytest.Item) -> str | None:
    """The group xdist's `--dist loadgroup` gives the item (its names, as xdist joins them)."""
    names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
             for mark in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) or None


@dataclass(frozen=True)
class Unit:
    """What a shard gets whole: an xdist group's tests, or one ungrouped test."""

    nodeid: str  # the key pytest-split's algorithm sorts on and looks durations up by
    items: tuple[pytest.Item, ...]

    def __str__(self) -> str:
        return self.nodeid


def units_of(items: list[pytest.Item]) -> list[Unit]:
    """Units in collection order (a group sits where its first test does)."""
    grouped: dict[str, list[pytest.Item]] = {}
    order: list[str | pytest.Item] = []
    for item in items:
        group = xdist_group(item)
        if group is None:
            order.append(item)
        else:
            if group not in grouped:
                order.append(group)
            grouped.setdefault(group, []).append(item)
    return [Unit(f"xdist_group:{entry}", tuple(grouped[entry])) if isinstance(entry, str)
            else Unit(entry.nodeid, (entry,)) for entry in order]


def _duration(item: pytest.Item, durations: dict[str, float]) -> float | None:
    """Under `--dist loadgroup` xdist appends "@group" to a grouped test's id (on the workers, and
    so in the ids pytest-split records): either form finds it."""
    group = xdist_group(item)
    keys = [item.nodeid]
    if group is not None:
        plain = item.nodeid.removesuffix(f"@{group}")
        keys = [plain, f"{plain}@{group}"]
    return next((durations[key] for key in keys if key in durations), None)


def unit_durations(units: list[Unit], durations: dict[str, float]) -> dict[str, float]:
    """Each unit's recorded seconds; a test never recorded counts as the recorded tests' mean."""
    known = [d for unit in units for item in unit.items if (d := _duration(item, durations)) is not None]
    mean = sum(known) / len(known) if known else 1.0
    return {unit.nodeid: sum(d if (d := _duration(item, durations)) is not None else mean for item in unit.items)
            for unit in units}


def shards(items: list[pytest.Item], splits: int, durations: dict[str, float]) -> list[list[pytest.Item]]:
    """The items of each shard, in collection order; every item in exactly one shard."""
    units = units_of(items)
    # The algorithm reads only `nodeid` (and str()) of what it splits: units stand in for items.
    groups = Algorithms.least_duration.value(splits, cast(list[pytest.Item], units), unit_durations(units, durations))
    position = {id(item): index for index, item in enumerate(items)}
    return [sorted((item for unit in cast(list[Unit], group.selected) for item in unit.items),
                   key=lambda item: position[id(item)]) for group in groups]


class GroupedSplit:
    """Selects shard `group` of `splits` in place of pytest-split's own selection."""

    def __init__(self, splits: int, group: int, durations: dict[str, float]) -> None:
        self.splits, self.group, self.durations = splits, group, durations

    @pytest.hookimpl(trylast=True)  # after -k / -m, as pytest-split's own
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        chosen = shards(items, self.splits, self.durations)[self.group - 1]
        keep = {id(item) for item in chosen}
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in keep])
        items[:] = chosen

    def pytest_report_header(self) -> str:
        return f"shard {self.group}/{self.splits} (pytest-split least_duration over whole xdist groups)"


def install(config: pytest.Config) -> None:
    """Take over pytest-split's selection: call before its pytest_configure registers it."""
    splits, group = config.getoption("splits", None), config.getoption("group", None)
    if not (splits and group):
        return
    from pytest_split.plugin import Base

    durations = Base(config).cached_durations  # pytest-split's reading of --durations-path
    config.option.splits = config.option.group = None  # pytest-split: no selection of its own
    config.pluginmanager.register(GroupedSplit(splits, group, durations), "testbed-grouped-split")
