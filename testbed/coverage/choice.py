"""Which rule of a Choice state matched, from the state's input: the JSONPath Choice operators.

Only what attribution needs: the first matching rule's index, or None for Default. An
operator this module does not know raises Unsupported, and attribution falls back to the
rule whose Next is the state that came next.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

_MISSING = object()
_PATH_PART = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]")


class Unsupported(ValueError):
    """A rule uses an operator or path this evaluator does not implement."""


def matching_rule(rules: list[dict[str, Any]], data: Any) -> int | None:
    for index, rule in enumerate(rules):
        if _holds(rule, data):
            return index
    return None


def _lookup(path: str, data: Any) -> Any:
    if not path.startswith("$"):
        raise Unsupported(f"path {path!r}")
    value, position = data, 1
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if not match:
            raise Unsupported(f"path {path!r}")
        key: Any = match.group(1) or match.group(3)
        if key is None:
            key = int(match.group(2))
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return _MISSING
        position = match.end()
    return value


def _holds(rule: dict[str, Any], data: Any) -> bool:
    if "And" in rule:
        return all(_holds(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_holds(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"], data)
    if "Condition" in rule:
        raise Unsupported("JSONata Condition")
    value = _lookup(rule["Variable"], data)
    for operator, operand in rule.items():
        if operator in ("Variable", "Next", "Comment"):
            continue
        if operator.endswith("Path"):
            operand, operator = _lookup(operand, data), operator.removesuffix("Path")
        return _test(operator, value, operand)
    raise Unsupported(f"rule without an operator: {rule}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _test(operator: str, value: Any, operand: Any) -> bool:
    if operator == "IsPresent":
        return (value is not _MISSING) == operand
    if value is _MISSING:
        return False  # AWS raises States.Runtime here; no rule matches
    type_checks = {"IsNull": value is None, "IsNumeric": _number(value), "IsString": isinstance(value, str),
                   "IsBoolean": isinstance(value, bool)}
    if operator in type_checks:
        return type_checks[operator] == operand
    for prefix, accepts in (("Numeric", _number), ("String", lambda v: isinstance(v, str)),
                            ("Timestamp", lambda v: isinstance(v, str)), ("Boolean", lambda v: isinstance(v, bool))):
        if operator.startswith(prefix):
            if not accepts(value):
                return False
            return _compare(operator.removeprefix(prefix), value, operand)
    raise Unsupported(f"operator {operator}")


def _compare(comparison: str, value: Any, operand: Any) -> bool:
    if comparison == "Matches":
        return fnmatch.fnmatchcase(value, operand)
    comparisons = {
        "Equals": lambda: value == operand, "LessThan": lambda: value < operand,
        "GreaterThan": lambda: value > operand, "LessThanEquals": lambda: value <= operand,
        "GreaterThanEquals": lambda: value >= operand,
    }
    if comparison not in comparisons:
        raise Unsupported(f"comparison {comparison}")
    try:
        return bool(comparisons[comparison]())
    except TypeError as exc:  # an operand of another type than the value
        raise Unsupported(f"{comparison} of {value!r} and {operand!r}") from exc
