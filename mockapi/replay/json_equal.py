"""equalToJson: JSON equality with WireMock's options and JsonUnit's placeholders.

Placeholders in the expected JSON (as WireMock, through JsonUnit, accepts them):
`${json-unit.any-string}`, `${json-unit.any-number}`, `${json-unit.any-boolean}`,
`${json-unit.ignore}` and `${json-unit.regex}REGEX`. A recording writes `${json-unit.any-string}`
where it scrubbed a value, so the mapping still matches whatever secret the replay sends.
"""

from __future__ import annotations

from typing import Any

from mockapi.patterns import PatternError, compile_path_pattern

ANY_STRING = "${json-unit.any-string}"
ANY_NUMBER = "${json-unit.any-number}"
ANY_BOOLEAN = "${json-unit.any-boolean}"
IGNORE = "${json-unit.ignore}"
REGEX_PREFIX = "${json-unit.regex}"


def json_distance(expected: Any, actual: Any, ignore_extra: bool, ignore_order: bool) -> float:
    """0.0 when `actual` matches `expected`, else the share of expected leaves that differ (0..1]."""
    total, wrong = _compare(expected, actual, ignore_extra, ignore_order)
    if wrong == 0:
        return 0.0
    return max(wrong / max(total, 1), 0.01)


def _placeholder(expected: str, actual: Any) -> bool | None:
    """Whether a placeholder accepts `actual`; None when `expected` is no placeholder."""
    if expected == ANY_STRING:
        return isinstance(actual, str)
    if expected == ANY_NUMBER:
        return isinstance(actual, int | float) and not isinstance(actual, bool)
    if expected == ANY_BOOLEAN:
        return isinstance(actual, bool)
    if expected == IGNORE:
        return True
    if expected.startswith(REGEX_PREFIX):
        try:
            pattern = compile_path_pattern(expected.removeprefix(REGEX_PREFIX))
        except PatternError:
            return False
        return isinstance(actual, str) and pattern.fullmatch(actual)
    return None


def _compare(expected: Any, actual: Any, ignore_extra: bool, ignore_order: bool) -> tuple[int, int]:
    """(expected leaves, leaves that differ)."""
    if isinstance(expected, str):
        accepted = _placeholder(expected, actual)
        if accepted is not None:
            return 1, 0 if accepted else 1
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return max(len(expected), 1), max(len(expected), 1)
        total = wrong = 0
        for key, value in expected.items():
            if key not in actual:
                total, wrong = total + 1, wrong + 1
                continue
            t, w = _compare(value, actual[key], ignore_extra, ignore_order)
            total, wrong = total + t, wrong + w
        extra = 0 if ignore_extra else len(set(actual) - set(expected))
        return max(total + extra, 1), wrong + extra
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return max(len(expected), 1), max(len(expected), 1)
        return _compare_lists(expected, actual, ignore_extra, ignore_order)
    same = type(expected) is type(actual) and expected == actual
    # JSON has one number type: 1 and 1.0 are equal there.
    if not same and _number(expected) and _number(actual):
        same = float(expected) == float(actual)
    return 1, 0 if same else 1


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare_lists(expected: list[Any], actual: list[Any], ignore_extra: bool, ignore_order: bool) -> tuple[int, int]:
    if not ignore_order:
        total = wrong = 0
        for index, item in enumerate(expected):
            if index >= len(actual):
                total, wrong = total + 1, wrong + 1
                continue
            t, w = _compare(item, actual[index], ignore_extra, ignore_order)
            total, wrong = total + t, wrong + w
        extra = max(len(actual) - len(expected), 0) if not ignore_extra else 0
        return max(total + extra, 1), wrong + extra
    # Any order: each expected item takes the first unused actual item that matches it.
    unused = list(actual)
    wrong = 0
    for item in expected:
        found = next((i for i, candidate in enumerate(unused)
                      if _compare(item, candidate, ignore_extra, ignore_order)[1] == 0), None)
        if found is None:
            wrong += 1
        else:
            unused.pop(found)
    extra = 0 if ignore_extra else len(unused)
    return max(len(expected) + extra, 1), wrong + extra
