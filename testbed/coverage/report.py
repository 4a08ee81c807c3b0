"""Aggregate recorded executions into coverage per state and per transition, per backend."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.coverage.attribution import attribute
from testbed.coverage.graph import Graph

DATA_FILE = "sfn-coverage-data.jsonl"
JSON_FILE = "sfn-coverage.json"
HTML_FILE = "sfn-coverage.html"


@dataclass(frozen=True)
class Record:
    backend: str
    arn: str
    status: str
    test: str
    events: list[dict[str, Any]]

    def to_json(self) -> str:
        return json.dumps({"backend": self.backend, "arn": self.arn, "status": self.status, "test": self.test,
                           "events": self.events}, ensure_ascii=False)


def load_records(path: Path) -> list[Record]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            records.append(Record(data["backend"], data["arn"], data["status"], data.get("test", ""), data["events"]))
    return records


@dataclass
class Coverage:
    graph: Graph
    backends: list[str]
    executions: Counter[str] = field(default_factory=Counter)  # per backend
    states: dict[str, Counter[str]] = field(default_factory=dict)  # state -> backend -> executions
    edges: dict[str, Counter[str]] = field(default_factory=dict)  # edge id -> backend -> executions
    unexplained: Counter[str] = field(default_factory=Counter)

    @property
    def covered_edges(self) -> list[str]:
        return [e.id for e in self.graph.edges if sum(self.edges[e.id].values())]

    @property
    def covered_states(self) -> list[str]:
        return [name for name in self.graph.states if sum(self.states[name].values())]

    @property
    def percent(self) -> float:
        total = len(self.graph.edges)
        return 100.0 * len(self.covered_edges) / total if total else 100.0

    def summary_line(self, where: Path | None = None) -> str:
        runs = sum(self.executions.values())
        per_backend = ", ".join(f"{b} {self.executions[b]}" for b in self.backends)
        line = (f"transitions covered {len(self.covered_edges)}/{len(self.graph.edges)} ({self.percent:.1f}%), "
                f"states {len(self.covered_states)}/{len(self.graph.states)}, "
                f"from {runs} executions ({per_backend or 'none recorded'})")
        return f"{line}; report: {where}" if where else line

    def to_dict(self) -> dict[str, Any]:
        return {
            "transitionsCovered": len(self.covered_edges), "transitions": len(self.graph.edges),
            "statesCovered": len(self.covered_states), "states": len(self.graph.states),
            "percent": round(self.percent, 2),
            "executions": dict(self.executions),
            "perState": {name: {"type": s.type, "executions": dict(self.states[name])}
                         for name, s in self.graph.states.items()},
            "perTransition": [
                {"id": e.id, "from": e.source, "to": e.target, "kind": e.kind, "label": e.label,
                 "executions": dict(self.edges[e.id])}
                for e in self.graph.edges
            ],
            "unexplained": dict(self.unexplained),
        }


def compute(graph: Graph, records: list[Record]) -> Coverage:
    backends = sorted({r.backend for r in records})
    coverage = Coverage(graph, backends, states={n: Counter() for n in graph.states},
                        edges={e.id: Counter() for e in graph.edges})
    for record in records:
        coverage.executions[record.backend] += 1
        taken = attribute(graph, record.events)
        for name in set(taken.states):  # executions that entered it, not visits
            if name in coverage.states:
                coverage.states[name][record.backend] += 1
        for edge_id in set(taken.edges):
            coverage.edges[edge_id][record.backend] += 1
        coverage.unexplained.update(taken.unexplained)
    return coverage
