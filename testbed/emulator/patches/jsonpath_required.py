"""A `.$` path that matches nothing is a `States.Runtime` failure, as on AWS.

Upstream (`_resolve_params_obj`, MiniStack 1.5.33) resolves `"key.$": "$.missing"` in
Parameters to null and carries on, so an execution started without `templateName` or
`params` ran on with nulls. AWS fails the execution with `States.Runtime` ("The JSONPath
... could not be found in the input"); the error is raised while the state's input is
prepared, so no `Catch` (not even `States.ALL`) sees it. Only plain field/index paths are
checked: a path with a wildcard, slice or filter anywhere keeps upstream behaviour, since on
AWS it selects a list, empty when the data is absent (`$.items[*]` on `{}` gives `[]`).
"""

from __future__ import annotations

import json
from typing import Any

from testbed.emulator.patches.source import patch_function_source

NAME = "jsonpath-required"
UPSTREAM = {
    "ministack.services.stepfunctions._resolve_params_obj":
        "d41c2e27dd1b00a5e4058e1d96edc10c6ca3eea75fb3aa82fc99d6957fc5da1e",
    "ministack.services.stepfunctions._parse_jsonpath_tokens":
        "0b9043314fbca0a0bb046a8bf63b009e086f4542f9b636e6c58b611a99b709ac",
}
OLD = "                    result[real_key] = _resolve_path(value, data)\n"
NEW = "                    result[real_key] = _testbed_required_path(key, value, data, ctx)\n"


def path_present(tokens: list[tuple[str, Any]] | None, data: Any) -> bool:
    """Whether a parsed JSONPath of fields and indexes names something in `data`."""
    if tokens is None or any(kind not in ("field", "index") for kind, _ in tokens):
        return True  # a path upstream cannot parse, or one that selects a list: left to upstream
    current = data
    for kind, value in tokens:
        found = (isinstance(current, dict) and value in current) if kind == "field" else (
            isinstance(current, list) and 0 <= value < len(current))
        if not found:
            return False
        current = current[value]
    return True


def apply() -> None:
    from ministack.services import stepfunctions

    def required_path(key: str, path: str, data: Any, ctx: Any) -> Any:
        if path.startswith("$") and path != "$" and not path_present(stepfunctions._parse_jsonpath_tokens(path), data):
            state = ((ctx or {}).get("State") or {}).get("Name", "?")
            shown = json.dumps(data)[:500]
            raise stepfunctions._ExecutionError(
                "States.Runtime",
                f"An error occurred while executing the state '{state}'. The JSONPath '{path}' specified "
                f"for the field '{key}' could not be found in the input '{shown}'",
            )
        return stepfunctions._resolve_path(path, data)

    stepfunctions._testbed_required_path = required_path
    patch_function_source(stepfunctions, "_resolve_params_obj", OLD, NEW, NAME)
