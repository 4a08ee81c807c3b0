"""The stubs in force: file stubs (fixed) plus run-time stubs (admin API), within the limits."""

from collections.abc import Mapping

from mockapi.limits import MAX_RUNTIME_STUB_BYTES, MAX_RUNTIME_STUBS, RESET_HINT
from mockapi.stubs import ResponseSpec, Stub


class StubConflictError(Exception):
    """An admin change would clash with a stub loaded from the stubs file."""


class StubLimitError(Exception):
    """Adding the stub would pass a limit of the run-time stubs; the message names it and the way out."""


class StubStore:
    """File stubs (fixed) plus run-time stubs (admin API), and each stub's sequence position."""

    def __init__(self, file_stubs: list[Stub]) -> None:
        self._file_stubs = list(file_stubs)
        self._file_ids = {stub.id for stub in file_stubs}
        self._runtime: list[Stub] = []  # newest first, which is also match priority
        self._served: dict[str, int] = {}  # stub id -> responses served so far

    def is_file_stub(self, stub_id: str) -> bool:
        return stub_id in self._file_ids

    def all(self) -> list[Stub]:
        """Every stub in match priority order (a new list: safe to walk while the store changes)."""
        return [*self._runtime, *self._file_stubs]

    def add(self, stub: Stub) -> None:
        """Add a run-time stub; re-adding an id replaces that stub and restarts its sequence."""
        if stub.id in self._file_ids:
            raise StubConflictError(f"id {stub.id!r} belongs to a stub from the stubs file")
        others = [kept for kept in self._runtime if kept.id != stub.id]
        if len(others) >= MAX_RUNTIME_STUBS:
            raise StubLimitError(f"there are already {len(others)} run-time stubs, the limit "
                                 f"(MAX_RUNTIME_STUBS = {MAX_RUNTIME_STUBS}); {RESET_HINT}")
        total = sum(kept.weight for kept in others) + stub.weight
        if total > MAX_RUNTIME_STUB_BYTES:
            raise StubLimitError(f"run-time stubs would take about {total} bytes, over the limit "
                                 f"(MAX_RUNTIME_STUB_BYTES = {MAX_RUNTIME_STUB_BYTES}); {RESET_HINT}")
        self._runtime = [stub, *others]
        self._served.pop(stub.id, None)

    def remove(self, stub_id: str) -> bool:
        before = len(self._runtime)
        self._runtime = [stub for stub in self._runtime if stub.id != stub_id]
        self._served.pop(stub_id, None)
        return len(self._runtime) != before

    def reset(self) -> None:
        self._runtime = []
        self._served.clear()

    def find(self, method: str, path: str, headers: Mapping[str, str]) -> Stub | None:
        """The first stub that matches. Thread-safe against the store changing meanwhile."""
        return next((s for s in self.all() if s.request.matches(method, path, headers)), None)

    def find_runtime(self, method: str, path: str, headers: Mapping[str, str]) -> Stub | None:
        """`find` among the run-time stubs only (recorded mappings rank between them and file stubs)."""
        return next((s for s in list(self._runtime) if s.request.matches(method, path, headers)), None)

    def find_file(self, method: str, path: str, headers: Mapping[str, str]) -> Stub | None:
        return next((s for s in self._file_stubs if s.request.matches(method, path, headers)), None)

    def next_response(self, stub: Stub) -> ResponseSpec:
        """Serve `responses` in order; once exhausted, the last one repeats."""
        served = self._served.get(stub.id, 0)
        self._served[stub.id] = served + 1
        return stub.responses[min(served, len(stub.responses) - 1)]
