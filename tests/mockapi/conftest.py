"""The mock API under test: one real server, a subprocess on a free port, for the session."""

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mockapi.support import MockApi, running_mockapi


@pytest.fixture(scope="session")
def mock_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockApi]:
    with serve(tmp_path_factory.mktemp("mockapi")) as api:
        yield api


@contextlib.contextmanager
def serve(directory: Path, *args: str) -> Iterator[MockApi]:
    """A mock API subprocess on a free port, with extra command-line `args`, stopped afterwards."""
    with running_mockapi(directory / "server.log", *args) as api:
        yield api


@pytest.fixture
def unique() -> str:
    """A path prefix no other test uses."""
    return f"/t-{uuid.uuid4().hex[:10]}"
