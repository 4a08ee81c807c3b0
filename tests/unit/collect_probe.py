"""A pytest plugin (`-p tests.unit.collect_probe`) for test_sharding: writes the collected tests,
each with its xdist group, as JSON to the file that TESTBED_COLLECT_PROBE names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.sharding import xdist_group

PROBE_FILE_VARIABLE = "TESTBED_COLLECT_PROBE"


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    tests = [[item.nodeid, xdist_group(item)] for item in session.items]
    Path(os.environ[PROBE_FILE_VARIABLE]).write_text(json.dumps(tests))
