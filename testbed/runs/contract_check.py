"""The contract check of a prepared request (the dry run and the seed's examples).

The request checked is the one the Lambda would send (`prepare_request`), unmasked, so the
check sees the real values; every message is masked with that request's own secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from generic_api_call.handler import PreparedRequest

if TYPE_CHECKING:
    from mockapi.contract import Operation


@dataclass(frozen=True)
class ContractVerdict:
    operation: str  # "getUser (api.yaml)"
    violations: tuple[str, ...]  # "query.fields: required", masked

    @property
    def conforms(self) -> bool:
        return not self.violations

    @property
    def text(self) -> str:
        if self.conforms:
            return f"conforms to {self.operation}"
        return f"{len(self.violations)} violation(s) of {self.operation}: {'; '.join(self.violations)}"


def describe(operation: Operation) -> str:
    return f"{operation.label} ({operation.document.name})"


def check(operation: Operation, prepared: PreparedRequest) -> ContractVerdict:
    from mockapi.contract import HttpRequest, load  # openapi-core only when a template has a contract

    request = prepared.request
    body = None if request.body is None else request.body.encode("utf-8")
    found = load(operation.document).check(
        HttpRequest(request.method, request.url, request.headers, body), operation)
    return ContractVerdict(describe(operation), tuple(request.secrets.mask(str(v)) for v in found))
