"""The infra tests share one pytest-xdist worker, so one process pays for the CDK's runtime."""

from __future__ import annotations

import pytest

from tests.infra.conftest import INFRA_GROUP

pytestmark = INFRA_GROUP


def test_the_infra_tests_run_as_one_group(request: pytest.FixtureRequest) -> None:
    # In a worker of `--dist loadgroup`, xdist suffixes a grouped test's id with its group, and
    # schedules by that suffix: without it (pytest 9.2, pytest-dev/pytest-xdist#1386) every
    # worker got infra tests and started Node.js for them, with no error anywhere.
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not a worker of `pytest -n N --dist loadgroup` (make test)")
    assert request.node.nodeid.endswith("@infra"), request.node.nodeid
