"""Every integration test holds the session locks its markers ask for (tests/conftest.py
session_lock), and seeds with the test stacks' settings."""

from __future__ import annotations

import pytest

from tests.stacks import TEST_EMULATOR_ENV


@pytest.fixture(autouse=True)
def _shares_the_stacks(session_lock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """See tests/stacks.py SessionLock.

    A seed run from a test computes the Lambda's allow-list from this process's environment:
    it must be the one the stack was seeded with, or the "second seed changes nothing" is false.
    """
    for key, value in TEST_EMULATOR_ENV.items():
        monkeypatch.setenv(key, value)
