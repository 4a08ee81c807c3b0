"""JSONPath slices, filters and quoted names select what they select on AWS.

Upstream's `_resolve_path` (MiniStack 1.5.33) reads `.field`, `[n]` and `[*]` only: a slice
(`$.items[1:]`), a filter (`$.users[?(@.status == 0)]`) or a quoted name holding a
backslash (`$['a\\"b']`) gives null. AWS (Jayway JsonPath) gives the list they select, `[]`
over absent data. Every path MiniStack resolves goes through `_resolve_path`, so it is
replaced here by `jsonpath_eval.resolve`, which keeps upstream's null for a definite path
that names nothing (the callers that must fail on it are in jsonpath_required); a `$$` path
reads the context object as AWS shapes it (context_object).
"""

from __future__ import annotations

from typing import Any

from testbed.emulator.patches import context_object, jsonpath_eval
from testbed.emulator.patches.source import replace_function

NAME = "jsonpath-engine"
UPSTREAM = {
    "ministack.services.stepfunctions._resolve_path":
        "4ca0c5fe9f7014c6bd12e85953608d6de6983843fa6f0f950b96c87b94c8d1aa",
    "ministack.services.stepfunctions._parse_jsonpath_tokens":
        "0b9043314fbca0a0bb046a8bf63b009e086f4542f9b636e6c58b611a99b709ac",
    "ministack.services.stepfunctions._resolve_ctx_path":
        "9d99cf3416f9b704a495b1c21f332f75e3dca4c43199a49a8018799f57702c9d",
}


def apply() -> None:
    from ministack.services import stepfunctions

    def resolve_path(path: str, data: Any) -> Any:
        return jsonpath_eval.resolve(path, data)

    def resolve_ctx_path(path: str, ctx: Any) -> Any:
        return jsonpath_eval.resolve(path[1:], context_object.view(ctx)) if path.startswith("$$") else None

    replace_function(stepfunctions, "_resolve_path", resolve_path, NAME)
    replace_function(stepfunctions, "_resolve_ctx_path", resolve_ctx_path, NAME)
