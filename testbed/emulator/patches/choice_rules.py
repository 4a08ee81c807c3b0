"""Choice rules (JSONPath) are evaluated as AWS evaluates them.

Upstream (`_evaluate_rule`, MiniStack 1.5.33) differs from AWS in ways that take the wrong
branch: Python's `bool` is an `int`, so `IsNumeric` is true for `true` and `BooleanEquals
false` matches `0` and `0.0`; `IsPresent` is false for a field present with `null`; the
`String*Path` (but `StringEqualsPath`) and `Timestamp*Path` operators always answer false; a
`Variable` (or a `*Path` operand) that names nothing compares as null. AWS compares only
values of the operator's type (a string with a number is simply false), and a path that
names nothing fails the execution with `States.Runtime` ("Invalid path '$.x': The choice
state's condition path references an invalid value."), except under `IsPresent`. So the
whole rule evaluator is replaced here, at one seam, by the table below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from testbed.emulator.patches import jsonpath_eval
from testbed.emulator.patches.jsonpath_required import find_in_state
from testbed.emulator.patches.source import replace_function
from testbed.emulator.patches.terminal_errors import runtime_error

NAME = "choice-rules"
UPSTREAM = {
    "ministack.services.stepfunctions._evaluate_rule":
        "728e6547c8ca20e527aee6425c19be62c9662f9fe61f45f03ae5ccb033992dea",
}
# RFC 3339 as AWS reads it: a date, a time and an offset are all required.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # the right shape, but 2016-13-05 or 25:29
        return None


def glob_matches(pattern: str, text: str) -> bool:
    """StringMatches: `*` is any run of characters; `\\*` a literal star, `\\\\` a backslash."""
    regex = "".join(".*" if piece == "*" else re.escape(piece[-1])
                    for piece in re.findall(r"\\.|.", pattern, re.DOTALL))
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _typed(check: Callable[[Any], bool], compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, operand: check(value) and check(operand) and compare(value, operand)


def _timestamps(compare: Callable[[datetime, datetime], bool]) -> Callable[[Any, Any], bool]:
    def both(value: Any, operand: Any) -> bool:
        left, right = timestamp(value), timestamp(operand)
        return left is not None and right is not None and compare(left, right)
    return both


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsNull": lambda value, wanted: (value is None) == wanted,
    "IsNumeric": lambda value, wanted: is_number(value) == wanted,
    "IsString": lambda value, wanted: isinstance(value, str) == wanted,
    "IsBoolean": lambda value, wanted: isinstance(value, bool) == wanted,
    "IsTimestamp": lambda value, wanted: (timestamp(value) is not None) == wanted,
    "StringEquals": _typed(_is_str, lambda a, b: a == b),
    "StringLessThan": _typed(_is_str, lambda a, b: a < b),
    "StringGreaterThan": _typed(_is_str, lambda a, b: a > b),
    "StringLessThanEquals": _typed(_is_str, lambda a, b: a <= b),
    "StringGreaterThanEquals": _typed(_is_str, lambda a, b: a >= b),
    "StringMatches": _typed(_is_str, lambda a, b: glob_matches(b, a)),
    "NumericEquals": _typed(is_number, lambda a, b: a == b),
    "NumericLessThan": _typed(is_number, lambda a, b: a < b),
    "NumericGreaterThan": _typed(is_number, lambda a, b: a > b),
    "NumericLessThanEquals": _typed(is_number, lambda a, b: a <= b),
    "NumericGreaterThanEquals": _typed(is_number, lambda a, b: a >= b),
    "BooleanEquals": _typed(_is_bool, lambda a, b: a == b),
    "TimestampEquals": _timestamps(lambda a, b: a == b),
    "TimestampLessThan": _timestamps(lambda a, b: a < b),
    "TimestampGreaterThan": _timestamps(lambda a, b: a > b),
    "TimestampLessThanEquals": _timestamps(lambda a, b: a <= b),
    "TimestampGreaterThanEquals": _timestamps(lambda a, b: a >= b),
}


class InvalidChoicePath(Exception):
    """A Variable or `*Path` operand names nothing: States.Runtime on AWS."""

    def __init__(self, path: str) -> None:
        super().__init__(f"Invalid path '{path}': The choice state's condition path references an invalid value.")


def _value(path: str, data: Any, ctx: Any) -> Any:
    try:
        return find_in_state(path, data, ctx)
    except jsonpath_eval.PathNotFound:
        raise InvalidChoicePath(path) from None


def evaluate(rule: dict[str, Any], data: Any, ctx: Any = None) -> bool:
    """Whether a JSONPath Choice rule matches `data`; InvalidChoicePath as AWS fails."""
    if "And" in rule:
        return all(evaluate(inner, data, ctx) for inner in rule["And"])
    if "Or" in rule:
        return any(evaluate(inner, data, ctx) for inner in rule["Or"])
    if "Not" in rule:
        return not evaluate(rule["Not"], data, ctx)
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        return False
    if "IsPresent" in rule:
        try:
            find_in_state(variable, data, ctx)
        except jsonpath_eval.PathNotFound:
            return rule["IsPresent"] is False
        return rule["IsPresent"] is True
    value = _value(variable, data, ctx)
    for operator, compare in COMPARISONS.items():
        if operator in rule:
            return compare(value, rule[operator])
        if f"{operator}Path" in rule and not operator.startswith("Is"):
            return compare(value, _value(rule[f"{operator}Path"], data, ctx))
    return False


def apply() -> None:
    from ministack.services import stepfunctions

    def evaluate_rule(rule: dict[str, Any], data: Any, ctx: Any = None) -> bool:
        try:
            return evaluate(rule, data, ctx)
        except InvalidChoicePath as problem:
            raise runtime_error(ctx, str(problem)) from None

    replace_function(stepfunctions, "_evaluate_rule", evaluate_rule, NAME)
