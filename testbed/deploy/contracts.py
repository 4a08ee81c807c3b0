"""A template file's `contract:` and `examples:` fields: read, checked, kept out of the item.

    contract:
      file: ../contracts/api.yaml   # relative to the templates folder
      operationId: getUser          # or `path: /users/{userId}` (with the template's method)
    examples:                       # params sets the seed renders and checks against the contract
      - {user_id: "42"}

Both are the harness's: the seed strips them before it writes the item, so the Lambda (which
refuses unknown fields) never sees them and a template without them is written as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testbed.errors import TestbedError

if TYPE_CHECKING:
    from mockapi.contract import Operation

CONTRACT = "contract"
EXAMPLES = "examples"
HARNESS_FIELDS = (CONTRACT, EXAMPLES)  # in template files, never in the item
_CONTRACT_KEYS = frozenset({"file", "operationId", "path"})


class ContractFieldError(TestbedError):
    """A bad `contract:`/`examples:` field; `field` names it (templates.py adds the file)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field '{field}': {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class HarnessFields:
    contract: Operation | None
    examples: tuple[dict[str, Any], ...]


def read(data: Mapping[str, Any], method: str, templates_dir: Path) -> HarnessFields:
    """The fields of one template file's data; raises ContractFieldError naming the field."""
    return HarnessFields(_contract(data.get(CONTRACT), method, templates_dir), _examples(data.get(EXAMPLES)))


def _contract(value: Any, method: str, templates_dir: Path) -> Operation | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("file"), str) or not value["file"].strip():
        raise ContractFieldError(CONTRACT, "must be a map with 'file' (the OpenAPI document, relative to the "
                                           "templates folder) and 'operationId' or 'path'")
    unknown = sorted(set(map(str, value)) - _CONTRACT_KEYS)
    if unknown:
        raise ContractFieldError(CONTRACT, f"unknown key(s) {unknown}; allowed: {sorted(_CONTRACT_KEYS)}")
    operation_id, path = value.get("operationId"), value.get("path")
    if (operation_id is None) == (path is None):
        raise ContractFieldError(CONTRACT, "give one of 'operationId' (e.g. getUser) or 'path' (e.g. /users/{id})")
    key = "operationId" if operation_id is not None else "path"
    if not isinstance(value[key], str) or not value[key].strip():
        raise ContractFieldError(f"{CONTRACT}.{key}", "must be a non-empty string")
    from mockapi.contract import ContractError, load  # openapi-core: ~0.35 s to import, only when used

    document_path = templates_dir / value["file"]
    try:
        document = load(document_path)
    except ContractError as exc:
        raise ContractFieldError(f"{CONTRACT}.file", str(exc)) from exc
    try:
        return document.find(operation_id=operation_id, method=method, path=path)
    except ContractError as exc:
        raise ContractFieldError(f"{CONTRACT}.{key}", f"{value['file']}: {exc}") from exc


def _examples(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ContractFieldError(EXAMPLES, "must be a list of params maps, e.g. [{user_id: '42'}]")
    return tuple(value)
