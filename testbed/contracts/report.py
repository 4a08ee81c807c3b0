"""The contract report: per operation of each document, which templates call it, how many
requests the suite sent, their violations, and the operations no template calls.

Written beside the coverage map: .testbed/reports/contract.{json,html} (html.py).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_FILE = "contract-data.jsonl"
JSON_FILE = "contract.json"
HTML_FILE = "contract.html"


@dataclass(frozen=True)
class Record:
    """One journaled request that hit an operation, as the plugin saw it after an execution."""

    document: str
    operation: str
    template: str  # "get_user GET", from the execution's input
    test: str
    violations: list[str]
    expected: bool  # the test is marked contract_violations

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def load_records(path: Path) -> list[Record]:
    if not path.is_file():
        return []
    return [Record(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class OperationRow:
    document: str
    operation: str
    method: str
    path: str
    templates: list[str] = field(default_factory=list)  # template files that name it
    requests: int = 0
    violations: Counter[str] = field(default_factory=Counter)  # message -> requests
    violating: int = 0  # requests with at least one violation
    unexpected: int = 0  # violating requests of tests not marked contract_violations

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "operation": self.operation, "method": self.method, "path": self.path,
                "templates": self.templates, "requests": self.requests, "violatingRequests": self.violating,
                "violations": dict(self.violations), "unexpectedViolatingRequests": self.unexpected}


@dataclass
class ContractReport:
    rows: list[OperationRow]

    @property
    def uncalled(self) -> list[OperationRow]:
        """Operations no template names."""
        return [row for row in self.rows if not row.templates]

    @property
    def unexpected(self) -> int:
        return sum(row.unexpected for row in self.rows)

    def summary_line(self, page: Path | None = None) -> str:
        called = sum(1 for row in self.rows if row.requests)
        violating = sum(row.violating for row in self.rows)
        line = (f"Contract: {called}/{len(self.rows)} operations called, {sum(r.requests for r in self.rows)} "
                f"requests checked, {violating} violating ({self.unexpected} unexpected), "
                f"{len(self.uncalled)} operations no template calls")
        return f"{line}; report: {page}" if page else line

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary_line(), "operations": [row.to_dict() for row in self.rows],
                "uncalled": [f"{row.document} {row.operation}" for row in self.uncalled]}


def compute(operations: list[tuple[str, str, str, str]], callers: dict[tuple[str, str], list[str]],
            records: list[Record]) -> ContractReport:
    """`operations`: (document, operation, method, path) of every document; `callers`: the
    templates naming each (document, operation); `records`: the journaled requests."""
    rows = {(doc, op): OperationRow(doc, op, method, path, sorted(callers.get((doc, op), [])))
            for doc, op, method, path in operations}
    for record in records:
        row = rows.get((record.document, record.operation))
        if row is None:  # a document changed since the run: still count it
            row = rows[(record.document, record.operation)] = OperationRow(record.document, record.operation, "", "")
        row.requests += 1
        row.violations.update(record.violations)
        if record.violations:
            row.violating += 1
            row.unexpected += not record.expected
    return ContractReport(list(rows.values()))
