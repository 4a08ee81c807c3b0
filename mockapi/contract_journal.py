"""The mock API's contract check: every journaled request that hits an operation of a loaded
OpenAPI document (`--contracts DIR`) is checked, and the verdict joins its journal entry:

    "contract": {"document": "api.yaml", "operation": "getUser", "method": "GET", "path": "/users/{userId}"},
    "contractViolations": [{"part": "query", "field": "fields", "rule": "required", "message": "..."}]

Requests on paths no document has are journaled as before, without these keys. The harness's
pytest plugin (testbed/contracts/plugin.py) fails a test whose executions broke the contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mockapi.capture import CapturedRequest
from mockapi.contract import Document, HttpRequest, load_dir


class ContractChecker:
    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents

    @classmethod
    def from_dir(cls, directory: Path) -> ContractChecker:
        return cls(load_dir(directory))

    def annotate(self, entry: dict[str, Any], captured: CapturedRequest, host: str) -> None:
        """Add the verdict to `entry` (the journal keeps it by reference)."""
        query = f"?{captured.raw_query}" if captured.raw_query else ""
        url = f"http://{host}{captured.raw_path}{query}"
        for document in self.documents:
            operation = document.match(captured.method, url)
            if operation is None:
                continue
            entry["contract"] = {"document": document.path.name, "operation": operation.label,
                                 "method": operation.method, "path": operation.path}
            if captured.body_truncated:  # only a prefix was kept: the body cannot be checked
                entry["contractViolations"] = []
                entry["contractNote"] = "body not checked: over the capture limit"
                return
            body = captured.body.encode("utf-8") if captured.body_size else None
            request = HttpRequest(captured.method, url, captured.headers, body)
            entry["contractViolations"] = [v.to_dict() for v in document.check(request, operation)]
            return
