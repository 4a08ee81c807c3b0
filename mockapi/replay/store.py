"""The mappings in force, their scenarios' states, and near misses for a request none matches."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from mockapi.replay.mappings import StubMapping
from mockapi.replay.request_pattern import Difference, Incoming

STARTED = "Started"  # every scenario's first state, as in WireMock
NEAR_MISSES = 3  # how many of the closest mappings a report shows


@dataclass(frozen=True)
class NearMiss:
    mapping: StubMapping
    distance: float
    differences: list[Difference]

    def to_json(self) -> dict[str, Any]:
        return {"mappingId": self.mapping.id, "mappingName": self.mapping.name, "distance": round(self.distance, 3),
                "differences": [difference.to_json() for difference in self.differences]}


class MappingStore:
    """File mappings (from --mappings, kept by reset) plus admin ones; matched by priority, newest first."""

    def __init__(self, file_mappings: list[StubMapping]) -> None:
        self._lock = threading.Lock()  # matching runs in worker threads; a scenario step must be atomic
        self._file_ids = {m.id for m in file_mappings}
        self._file = list(file_mappings)
        self._runtime: list[StubMapping] = []
        self._states: dict[str, str] = {}
        self._ordered = self._order()

    def _order(self) -> list[StubMapping]:
        # Load order counts as age: of two equal-priority mappings, the later one wins, as in WireMock.
        everything = [*self._file, *self._runtime]
        indexed = sorted(enumerate(everything), key=lambda item: (item[1].priority, -item[0]))
        return [m for _, m in indexed]

    def __len__(self) -> int:
        return len(self._ordered)

    def all(self) -> list[StubMapping]:
        return list(self._ordered)

    def is_file_mapping(self, mapping_id: str) -> bool:
        return mapping_id in self._file_ids

    def add(self, *mappings: StubMapping) -> None:
        """Add (or replace, by id) admin mappings."""
        with self._lock:
            ids = {m.id for m in mappings}
            self._runtime = [m for m in self._runtime if m.id not in ids] + list(mappings)
            self._ordered = self._order()

    def remove(self, mapping_id: str) -> bool:
        with self._lock:
            before = len(self._runtime)
            self._runtime = [m for m in self._runtime if m.id != mapping_id]
            self._ordered = self._order()
            return len(self._runtime) != before

    def reset(self) -> None:
        """Back to the file mappings, every scenario at Started."""
        with self._lock:
            self._runtime = []
            self._states.clear()
            self._ordered = self._order()

    def reset_scenarios(self) -> None:
        with self._lock:
            self._states.clear()

    def scenarios(self) -> list[dict[str, Any]]:
        with self._lock:
            names = sorted({m.scenario for m in self._ordered if m.scenario})
            return [{"name": name, "state": self._states.get(name, STARTED)} for name in names]

    def serve(self, request: Incoming) -> StubMapping | None:
        """The mapping that answers `request`, its scenario moved on; None when none matches."""
        with self._lock:
            for candidate in self._ordered:
                if not self._in_state(candidate) or not candidate.request.matches(request):
                    continue
                if candidate.scenario and candidate.new_state:
                    self._states[candidate.scenario] = candidate.new_state
                return candidate
        return None

    def _in_state(self, candidate: StubMapping) -> bool:
        if not candidate.scenario or candidate.required_state is None:
            return True
        return self._states.get(candidate.scenario, STARTED) == candidate.required_state

    def near_misses(self, request: Incoming, limit: int = NEAR_MISSES) -> list[NearMiss]:
        """The closest mappings and what differed (computed only for a request none matched)."""
        with self._lock:
            ordered, states = list(self._ordered), dict(self._states)
        found: list[NearMiss] = []
        for candidate in ordered:
            distance, differences = candidate.request.evaluate(request)
            if candidate.scenario and candidate.required_state is not None:
                state = states.get(candidate.scenario, STARTED)
                if state != candidate.required_state:
                    differences.append(Difference(f"scenario {candidate.scenario}", candidate.required_state,
                                                  state, 1.0))
                    distance = max(distance, 0.1)
            found.append(NearMiss(candidate, distance, differences))
        found.sort(key=lambda miss: miss.distance)
        return found[:limit]
