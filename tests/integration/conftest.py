"""Every integration test holds the session lock: shared, or exclusive if marked `exclusive`."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _shares_the_stacks(session_lock: None) -> None:
    """See tests/stacks.py SessionLock."""
