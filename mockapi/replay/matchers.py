"""WireMock's value matchers (the subset this mock API serves), each with a distance for near misses.

A matcher answers `distance(actual)`: 0.0 when it matches, else how far off (up to 1.0), so the
near-miss report can rank mappings the way WireMock's does. Regexes go through RE2 (linear time,
see mockapi/patterns.py) and, as Java's `matches()`, must match the whole value.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockapi.fields import StubError, join
from mockapi.patterns import PathPattern, PatternError, compile_path_pattern
from mockapi.replay.json_equal import json_distance

# One operator per matcher object; the flags that may go with it.
_STRING_OPERATORS = frozenset({"equalTo", "contains", "doesNotContain", "matches", "doesNotMatch", "absent"})
_BODY_OPERATORS = frozenset({"equalTo", "contains", "doesNotContain", "matches", "doesNotMatch", "equalToJson"})
_FLAGS = frozenset({"caseInsensitive", "ignoreExtraElements", "ignoreArrayOrder"})


def text_distance(expected: str, actual: str) -> float:
    """0.0 for equal texts, nearer 1.0 the less they share (what a near-miss ranks by)."""
    if expected == actual:
        return 0.0
    # Long bodies: the ratio is quadratic in the worst case; a near miss needs a rough figure only.
    return 1.0 - difflib.SequenceMatcher(None, expected[:2048], actual[:2048], autojunk=False).ratio()


def regex(text: object, where: str) -> PathPattern:
    if not isinstance(text, str):
        raise StubError(where, "must be a string (a regex)")
    try:
        return compile_path_pattern(text)
    except PatternError as exc:
        raise StubError(where, str(exc)) from exc


@dataclass(frozen=True)
class ValueMatcher:
    """One WireMock matcher object: {"equalTo": "x", "caseInsensitive": true}, {"matches": "re"}, ..."""

    operator: str
    expected: Any
    pattern: PathPattern | None = None
    case_insensitive: bool = False
    ignore_extra_elements: bool = False
    ignore_array_order: bool = False

    @property
    def describe(self) -> str:
        shown = self.expected if isinstance(self.expected, str) else json.dumps(self.expected)
        return f"[{self.operator}] {shown}" if self.operator != "equalTo" else str(shown)

    def accepts(self, actual: str | None) -> bool:
        """Does `actual` (None: absent) match? The fast path: no distance computed."""
        if self.operator == "absent":
            return actual is None
        if actual is None:
            return False
        match self.operator:
            case "equalTo":
                expected = str(self.expected)
                return expected.lower() == actual.lower() if self.case_insensitive else expected == actual
            case "contains":
                return str(self.expected) in actual
            case "doesNotContain":
                return str(self.expected) not in actual
            case "matches":
                assert self.pattern is not None
                return self.pattern.fullmatch(actual)
            case "doesNotMatch":
                assert self.pattern is not None
                return not self.pattern.fullmatch(actual)
            case "equalToJson":
                return self._json_distance(actual) == 0.0
        raise AssertionError(self.operator)  # parse_matcher allows no other

    def distance(self, actual: str | None) -> float:
        """0.0 when it matches, else how far off (up to 1.0): what a near miss ranks by."""
        if self.accepts(actual):
            return 0.0
        if actual is None or self.operator in ("absent", "doesNotContain", "doesNotMatch"):
            return 1.0
        if self.operator == "equalToJson":
            return self._json_distance(actual)
        expected = self.pattern.text if self.pattern is not None else str(self.expected)
        if self.case_insensitive:
            return text_distance(expected.lower(), actual.lower())
        return text_distance(expected, actual)

    def _json_distance(self, actual: str) -> float:
        try:
            parsed = json.loads(actual)
        except ValueError:
            return 1.0
        return json_distance(self.expected, parsed, self.ignore_extra_elements, self.ignore_array_order)


@dataclass(frozen=True)
class MultiValueMatcher:
    """WireMock's {"hasExactly": [m, ...]} (every value, one matcher each) or {"includes": [m, ...]}
    for a repeated query parameter or header; WireMock's recorder writes hasExactly."""

    operator: str
    matchers: tuple[ValueMatcher, ...]

    @property
    def describe(self) -> str:
        return f"[{self.operator}] " + ", ".join(m.describe for m in self.matchers)

    def accepts_values(self, values: list[str]) -> bool:
        unused = list(values)
        for matcher in self.matchers:
            found = next((i for i, value in enumerate(unused) if matcher.accepts(value)), None)
            if found is None:
                return False
            unused.pop(found)
        return not (self.operator == "hasExactly" and unused)

    def distance_values(self, values: list[str]) -> float:
        if self.accepts_values(values):
            return 0.0
        return max(min((m.distance(v) for v in values), default=1.0) for m in self.matchers) or 1.0


def parse_multi_matcher(value: object, where: str) -> ValueMatcher | MultiValueMatcher:
    """A query parameter's or header's matcher: a single one, or hasExactly/includes of several."""
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in ("hasExactly", "includes"):
        operator, items = next(iter(value.items()))
        if not isinstance(items, list) or not items:
            raise StubError(join(where, operator), "must be a non-empty list of matcher objects")
        return MultiValueMatcher(operator, tuple(parse_matcher(item, f"{join(where, operator)}[{index}]")
                                                 for index, item in enumerate(items)))
    return parse_matcher(value, where)


def parse_matcher(value: object, where: str, *, body: bool = False) -> ValueMatcher:
    """A matcher object; a bare string means equalTo (as WireMock's JSON allows for headers)."""
    if isinstance(value, str):
        return ValueMatcher("equalTo", value)
    if not isinstance(value, Mapping):
        raise StubError(where, "must be a matcher object, e.g. {\"equalTo\": \"...\"}")
    allowed = _BODY_OPERATORS if body else _STRING_OPERATORS
    operators = [key for key in value if key not in _FLAGS]
    if len(operators) != 1 or operators[0] not in allowed:
        raise StubError(where, f"needs exactly one of {sorted(allowed)} (plus {sorted(_FLAGS)}); "
                               f"got {sorted(map(str, value))}: other WireMock matchers are not supported here")
    operator = operators[0]
    expected = value[operator]
    flags = {flag: value.get(flag, False) for flag in _FLAGS}
    for flag, flag_value in flags.items():
        if not isinstance(flag_value, bool):
            raise StubError(join(where, flag), "must be true or false")
    pattern = None
    if operator in ("matches", "doesNotMatch"):
        pattern = regex(expected, join(where, operator))
    elif operator == "equalToJson":
        expected = _json_expected(expected, join(where, operator))
    elif operator == "absent":
        if expected is not True:
            raise StubError(join(where, operator), "must be true")
    elif not isinstance(expected, str):
        raise StubError(join(where, operator), "must be a string")
    return ValueMatcher(operator, expected, pattern, flags["caseInsensitive"], flags["ignoreExtraElements"],
                        flags["ignoreArrayOrder"])


def _json_expected(value: object, where: str) -> Any:
    # WireMock takes the JSON either inline or as a string holding it.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise StubError(where, f"is a string that is not JSON: {exc}") from exc
    return value
