"""Every integration test holds the session locks its markers ask for (tests/conftest.py session_lock)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _shares_the_stacks(session_lock: None) -> None:
    """See tests/stacks.py SessionLock. (A seed from a test passes the stack's `config`, whose
    allow-list extras are the ones the stack was seeded with: tests/stacks.py TEST_CONFIG.)"""
