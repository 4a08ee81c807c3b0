"""`States.Format`, `States.MathAdd` and `States.StringToJson` give what AWS gives.

Upstream (`_exec_intrinsic`, MiniStack 1.5.33) formats arguments with Python's `str`
(`None`, `{'Arg1': 1}`, `True`), truncates `MathAdd` operands (`int(1.5)` is 1) and fails
`StringToJson("")` with a JSON error. AWS (recorded cases in intrinsic_functions) prints
them as Java does (`null`, `{Arg1=1, Arg2=[]}`, `true`), rounds each `MathAdd` operand half
up (Java's Math.round: 1.5 -> 2, -1.5 -> -1) before adding, and answers null for an empty or
blank string. The other functions keep upstream's code.
"""

from __future__ import annotations

import json
import math
from typing import Any

from testbed.emulator.patches.source import replace_function

NAME = "intrinsics"
UPSTREAM = {
    "ministack.services.stepfunctions._exec_intrinsic":
        "4ecd0aea2f6e04154f7ddbf4589e5132a046686aaa2d88445841ea83b54f4124",
}


def java_text(value: Any) -> str:
    """An argument as States.Format prints it (Java's toString of the JSON value)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={java_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_text(item) for item in value) + "]"
    return str(value)


def format_template(template: str, args: list[Any]) -> str:
    """`{}` takes the next argument; `\\x` is a literal x in the template only."""
    out: list[str] = []
    remaining = iter(args)
    pos = 0
    while pos < len(template):
        if template[pos] == "\\" and pos + 1 < len(template):
            out.append(template[pos + 1])
            pos += 2
        elif template.startswith("{}", pos):
            out.append(java_text(next(remaining, None)))
            pos += 2
        else:
            out.append(template[pos])
            pos += 1
    return "".join(out)


def java_round(number: Any) -> int:
    return math.floor(float(number) + 0.5) if isinstance(number, float) else int(number)


def string_to_json(text: Any) -> Any:
    return None if isinstance(text, str) and not text.strip() else json.loads(text)


OWN = {
    "States.Format": lambda args: format_template(args[0], args[1:]),
    "States.MathAdd": lambda args: java_round(args[0]) + java_round(args[1]),
    "States.StringToJson": lambda args: string_to_json(args[0]),
}


def apply() -> None:
    from ministack.services import stepfunctions

    upstream = stepfunctions._exec_intrinsic

    def exec_intrinsic(node: tuple[str, str, list[Any]], data: Any, ctx: Any) -> Any:
        _, name, raw_args = node
        if name not in OWN:
            return upstream(node, data, ctx)
        return OWN[name]([stepfunctions._eval_intrinsic_arg(arg, data, ctx) for arg in raw_args])

    replace_function(stepfunctions, "_exec_intrinsic", exec_intrinsic, NAME)
